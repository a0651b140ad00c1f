"""Validate a case (CASE.json shape) into typed, integer-cent values.

Every rejection names the field, so the chatbot's actions and the command line can tell an
engineer exactly what to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from bot.contract import HARDSHIP_REASONS

from .errors import PlanError
from .money import to_cents

# Top-level keys a case may carry; anything else is most likely a typo (e.g. "hardhsip") that
# would silently drop the hardship statement. Inside account/hardship extra keys are ignored,
# so a stored account record (account_id, credit_limit, ...) can be passed as it is.
_TOP_LEVEL = {"account", "hardship", "as_of", "case_id", "account_id"}


@dataclass(frozen=True)
class Account:
    principal: int
    interest: int
    penalty: int
    minimum_payment: int
    overdue_days: int
    has_active_installment: bool

    @property
    def owed(self) -> int:
        """Everything due: principal + interest + penalty (cents)."""
        return self.principal + self.interest + self.penalty

    @property
    def fee_base(self) -> int:
        """What plan fees may be charged on: never the penalty (PBoC 2016 notice)."""
        return self.principal + self.interest


@dataclass(frozen=True)
class Hardship:
    reason: str
    monthly_income: int
    monthly_expenses: int
    other_debt_payments: int
    dependents: int
    expected_recovery_months: int | None
    # What the cardholder said they can pay at most each month (a counter-offer), in cents:
    # their own figure replaces the engine's estimate of what they can afford.
    max_monthly_payment: int | None = None

    def disposable(self, dependent_reserve: int) -> int:
        """Income left after essential spending, other debts and the per-dependent reserve."""
        return (
            self.monthly_income
            - self.monthly_expenses
            - self.other_debt_payments
            - self.dependents * dependent_reserve
        )


@dataclass(frozen=True)
class Case:
    account: Account
    hardship: Hardship | None
    as_of: date | None


def _amount(data: Mapping[str, object], key: str, path: str, required: bool = True) -> int:
    field = f"{path}.{key}"
    if key not in data or data[key] is None:
        if required:
            raise PlanError(field, "required amount is missing")
        return 0
    try:
        cents = to_cents(data[key])
    except ValueError:
        raise PlanError(field, f"must be an amount in yuan, got {data[key]!r}") from None
    if cents < 0:
        raise PlanError(field, f"must not be negative, got {data[key]!r}")
    if cents > 100_000_000_000:  # 1 billion yuan: beyond any card limit, surely an input error
        raise PlanError(field, f"implausibly large amount {data[key]!r}")
    return cents


def _count(
    data: Mapping[str, object], key: str, path: str, hi: int, required: bool = True
) -> int | None:
    field = f"{path}.{key}"
    value = data.get(key)
    if value is None:
        if required:
            raise PlanError(field, "required whole number is missing")
        return None
    if isinstance(value, bool):
        raise PlanError(field, f"must be a whole number, got {value!r}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int):
        raise PlanError(field, f"must be a whole number, got {value!r}")
    if not 0 <= value <= hi:
        raise PlanError(field, f"must be between 0 and {hi}, got {value}")
    return value


def _mapping(value: object, field: str) -> Mapping[str, object]:
    if not isinstance(value, Mapping):
        raise PlanError(field, "must be a JSON object")
    return value


def parse_account(data: object) -> Account:
    """Validate the `account` object."""
    acc = _mapping(data, "account")
    account = Account(
        principal=_amount(acc, "principal", "account"),
        interest=_amount(acc, "interest", "account"),
        penalty=_amount(acc, "penalty", "account"),
        minimum_payment=_amount(acc, "minimum_payment", "account"),
        overdue_days=_count(acc, "overdue_days", "account", 100_000) or 0,
        has_active_installment=_flag(acc, "has_active_installment", "account"),
    )
    if account.owed == 0:
        raise PlanError("account", "nothing is owed (principal, interest and penalty are all 0)")
    if account.minimum_payment > account.owed:
        raise PlanError("account.minimum_payment", "must not exceed principal + interest + penalty")
    return account


def _flag(data: Mapping[str, object], key: str, path: str) -> bool:
    value = data.get(key)
    if not isinstance(value, bool):
        # Required: guessing "no installment" could offer a re-installment the regulation forbids.
        raise PlanError(f"{path}.{key}", f"must be true or false, got {value!r}")
    return value


def parse_hardship(data: object) -> Hardship | None:
    """Validate the optional `hardship` statement (absent or null: none declared)."""
    if data is None:
        return None
    hs = _mapping(data, "hardship")
    reason = hs.get("reason")
    if reason not in HARDSHIP_REASONS:
        raise PlanError(
            "hardship.reason",
            f"unknown hardship reason {reason!r}; use one of {', '.join(HARDSHIP_REASONS)}",
        )
    return Hardship(
        reason=str(reason),
        monthly_income=_amount(hs, "monthly_income", "hardship"),
        monthly_expenses=_amount(hs, "monthly_expenses", "hardship"),
        other_debt_payments=_amount(hs, "other_debt_payments", "hardship", required=False),
        dependents=_count(hs, "dependents", "hardship", 30, required=False) or 0,
        expected_recovery_months=_count(
            hs, "expected_recovery_months", "hardship", 600, required=False
        ),
        max_monthly_payment=(
            _amount(hs, "max_monthly_payment", "hardship")
            if hs.get("max_monthly_payment") is not None
            else None
        ),
    )


def parse_date(value: object, field: str) -> date:
    """An ISO date (YYYY-MM-DD)."""
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise PlanError(field, f"must be a date YYYY-MM-DD, got {value!r}") from None


def parse_case(data: object) -> Case:
    """Validate a whole case; raises PlanError naming the first bad field."""
    case = _mapping(data, "case")
    for key in case:
        if key not in _TOP_LEVEL:
            raise PlanError(str(key), f"unknown field; a case has {', '.join(sorted(_TOP_LEVEL))}")
    if "account" not in case:
        raise PlanError("account", "required object is missing")
    as_of = case.get("as_of")
    return Case(
        account=parse_account(case["account"]),
        hardship=parse_hardship(case.get("hardship")),
        as_of=parse_date(as_of, "as_of") if as_of is not None else None,
    )
