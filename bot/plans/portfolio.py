"""Portfolio CSV: reading it into integer-cent numpy columns, and generating a synthetic one.

One row per account; hardship columns are blank when no hardship was declared. The same row can
be turned into a CASE.json-shaped dict, so the per-case engine can check the vectorised one.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.contract import HARDSHIP_REASONS

from .errors import PlanError

COLUMNS = (
    "account_id",
    "principal",
    "interest",
    "penalty",
    "minimum_payment",
    "overdue_days",
    "has_active_installment",
    "hardship_reason",
    "monthly_income",
    "monthly_expenses",
    "other_debt_payments",
    "dependents",
    "expected_recovery_months",
)
_ACCOUNT_MONEY = ("principal", "interest", "penalty", "minimum_payment")
_HARDSHIP_MONEY = ("monthly_income", "monthly_expenses", "other_debt_payments")
_TRUE, _FALSE = {"1", "true", "yes"}, {"0", "false", "no"}


@dataclass
class Portfolio:
    """Columns of a portfolio; money in int64 cents. reason is -1 without a hardship statement,
    recovery is -1 when no expected recovery was given."""

    source: str
    rows: list[dict[str, str]]
    principal: np.ndarray
    interest: np.ndarray
    penalty: np.ndarray
    minimum: np.ndarray
    overdue: np.ndarray
    active: np.ndarray
    reason: np.ndarray
    income: np.ndarray
    expenses: np.ndarray
    other_debt: np.ndarray
    dependents: np.ndarray
    recovery: np.ndarray

    def __len__(self) -> int:
        return len(self.rows)

    def case(self, i: int) -> dict[str, object]:
        """Row i as a CASE.json-shaped dict (amounts kept as the CSV's text)."""
        return case_from_row(self.rows[i])

    def subset(self, index: np.ndarray) -> Portfolio:
        """The rows at `index` (used to process a big portfolio in chunks)."""
        return Portfolio(
            self.source,
            [self.rows[i] for i in index],
            *(getattr(self, name)[index] for name in _ARRAYS),
        )


_ARRAYS = (
    "principal",
    "interest",
    "penalty",
    "minimum",
    "overdue",
    "active",
    "reason",
    "income",
    "expenses",
    "other_debt",
    "dependents",
    "recovery",
)


def case_from_row(row: dict[str, str]) -> dict[str, object]:
    """A CSV row as the engine's case dict."""
    case: dict[str, object] = {
        "account_id": row["account_id"],
        "account": {
            **{key: row[key] for key in _ACCOUNT_MONEY},
            "overdue_days": int(row["overdue_days"]),
            "has_active_installment": row["has_active_installment"].strip().lower() in _TRUE,
        },
    }
    if row["hardship_reason"].strip():
        hardship: dict[str, object] = {"reason": row["hardship_reason"].strip()}
        for key in _HARDSHIP_MONEY:
            if row[key].strip():
                hardship[key] = row[key]
        hardship["dependents"] = int(row["dependents"]) if row["dependents"].strip() else 0
        if row["expected_recovery_months"].strip():
            hardship["expected_recovery_months"] = int(row["expected_recovery_months"])
        case["hardship"] = hardship
    return case


class _Columns:
    """Converts CSV text columns to arrays, naming file, line and column of the first bad value."""

    def __init__(self, source: str, rows: list[dict[str, str]]) -> None:
        self.source = source
        self.rows = rows

    def fail(self, i: int, column: str, message: str) -> PlanError:
        return PlanError(f"{self.source}:{i + 2}: {column}", message)  # line 1 is the header

    def money(self, column: str, mask: np.ndarray | None = None) -> np.ndarray:
        """Yuan text -> int64 cents; blank only allowed where mask is False (becomes 0)."""
        values = np.zeros(len(self.rows), dtype=np.float64)
        for i, row in enumerate(self.rows):
            text = row[column].strip()
            if not text:
                if mask is None or mask[i]:
                    raise self.fail(i, column, "required amount is missing")
                continue
            try:
                values[i] = float(text)
            except ValueError:
                raise self.fail(i, column, f"must be an amount in yuan, got {text!r}") from None
        cents = np.rint(values * 100)
        bad = (
            ~np.isfinite(values)
            | (values < 0)
            | (np.abs(values * 100 - cents) > 1e-6)
            | (cents > 1e11)
        )
        if bad.any():
            i = int(np.argmax(bad))
            raise self.fail(
                i,
                column,
                "must be a non-negative amount with at most 2 decimals, "
                f"got {self.rows[i][column]!r}",
            )
        return cents.astype(np.int64)

    def count(self, column: str, hi: int, blank: int | None) -> np.ndarray:
        """Whole numbers in 0..hi; blank allowed (as `blank`) unless blank is None."""
        out = np.empty(len(self.rows), dtype=np.int64)
        for i, row in enumerate(self.rows):
            text = row[column].strip()
            if not text and blank is not None:
                out[i] = blank
                continue
            if not text.isdigit() or int(text) > hi:
                raise self.fail(
                    i, column, f"must be a whole number between 0 and {hi}, got {text!r}"
                )
            out[i] = int(text)
        return out


def read_portfolio(path: str | Path) -> Portfolio:
    """Read and validate a portfolio CSV; raises PlanError naming line and column."""
    source = str(path)
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise PlanError(f"{source}:1", f"missing column(s): {', '.join(missing)}")
            rows = list(reader)
    except FileNotFoundError:
        raise PlanError("", f"{source}: portfolio file not found") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise PlanError("", f"{source}: cannot read portfolio: {exc}") from None
    if not rows:
        raise PlanError(f"{source}", "portfolio has no accounts")
    cols = _Columns(source, rows)
    reason = np.empty(len(rows), dtype=np.int64)
    active = np.empty(len(rows), dtype=bool)
    for i, row in enumerate(rows):
        if None in row.values() or None in row:
            raise cols.fail(i, "(row)", "wrong number of fields")
        text = row["hardship_reason"].strip()
        if text and text not in HARDSHIP_REASONS:
            raise cols.fail(
                i,
                "hardship_reason",
                f"unknown hardship reason {text!r}; use one of {', '.join(HARDSHIP_REASONS)}",
            )
        reason[i] = HARDSHIP_REASONS.index(text) if text else -1
        flag = row["has_active_installment"].strip().lower()
        if flag not in _TRUE | _FALSE:
            raise cols.fail(i, "has_active_installment", f"must be true or false, got {flag!r}")
        active[i] = flag in _TRUE
    declared = reason >= 0
    portfolio = Portfolio(
        source=source,
        rows=rows,
        principal=cols.money("principal"),
        interest=cols.money("interest"),
        penalty=cols.money("penalty"),
        minimum=cols.money("minimum_payment"),
        overdue=cols.count("overdue_days", 100_000, None),
        active=active,
        reason=reason,
        income=cols.money("monthly_income", declared),
        expenses=cols.money("monthly_expenses", declared),
        other_debt=cols.money("other_debt_payments", np.zeros(len(rows), dtype=bool)),
        dependents=cols.count("dependents", 30, 0),
        recovery=cols.count("expected_recovery_months", 600, -1),
    )
    owed = portfolio.principal + portfolio.interest + portfolio.penalty
    for bad, column, message in (
        (owed == 0, "principal", "nothing is owed (principal, interest and penalty are all 0)"),
        (
            portfolio.minimum > owed,
            "minimum_payment",
            "must not exceed principal + interest + penalty",
        ),
    ):
        if bad.any():
            raise cols.fail(int(np.argmax(bad)), column, message)
    return portfolio


def generate_portfolio(n: int, seed: int, out: str | Path) -> None:
    """Write n synthetic but realistic accounts (deterministic for a seed).

    Balances are log-normal around 20,000 yuan; days overdue cluster early with a long tail;
    interest grows with days overdue at about 0.05 %/day; the penalty is 5 % of each unpaid
    minimum; about 70 % declared a hardship, with incomes log-normal around 6,000 yuan, reduced by
    the hardship, while essential spending follows the income before the hardship.
    """
    rng = np.random.default_rng(seed)
    principal = np.round(np.clip(rng.lognormal(np.log(20_000), 0.9, n), 500, 500_000), 2)
    bucket = rng.choice(4, size=n, p=[0.45, 0.25, 0.15, 0.15])
    lo, hi = np.array([1, 31, 91, 181])[bucket], np.array([30, 90, 180, 720])[bucket]
    overdue = rng.integers(lo, hi + 1)
    interest = np.round(principal * 0.0005 * np.minimum(overdue, 360) * rng.uniform(0.6, 1.0, n), 2)
    cycles = np.ceil(overdue / 30)
    penalty = np.round(np.minimum(0.05 * 0.10 * principal * cycles, 0.05 * principal), 2)
    owed = np.round(principal + interest + penalty, 2)
    minimum = np.minimum(np.round(0.10 * principal + interest + penalty, 2), owed)
    active = rng.random(n) < 0.12

    declared = rng.random(n) < 0.70
    reason = rng.choice(len(HARDSHIP_REASONS), size=n, p=[0.25, 0.15, 0.15, 0.25, 0.08, 0.10, 0.02])
    before = np.clip(rng.lognormal(np.log(6_000), 0.6, n), 1_500, 80_000)
    drop = np.select(
        [reason == 0, reason == 1, reason == 2, reason == 3, reason == 6],
        [
            rng.uniform(0.2, 0.7, n),  # unemployment: severance, benefits, a partner's income
            rng.uniform(0.4, 0.9, n),  # illness
            rng.uniform(0.3, 0.8, n),  # business_loss
            rng.uniform(0.55, 0.9, n),  # income_drop
            rng.uniform(0.2, 0.8, n),  # disaster
        ],
        default=rng.uniform(0.85, 1.0, n),
    )
    income = np.round(before * drop, -1)
    expenses = np.round(before * rng.uniform(0.25, 0.60, n), -1)
    other = np.where(rng.random(n) < 0.5, 0.0, np.round(rng.lognormal(np.log(1_000), 0.7, n), -1))
    dependents = rng.choice(4, size=n, p=[0.35, 0.30, 0.25, 0.10])
    recovery_known = rng.random(n) < 0.6
    recovery = rng.integers(1, 13, size=n)

    with open(out, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i in range(n):
            hardship = ["", "", "", "", "", ""]
            if declared[i]:
                hardship = [
                    HARDSHIP_REASONS[reason[i]],
                    f"{income[i]:.2f}",
                    f"{expenses[i]:.2f}",
                    f"{other[i]:.2f}",
                    str(dependents[i]),
                    str(recovery[i]) if recovery_known[i] else "",
                ]
            writer.writerow(
                [
                    f"PF-{i + 1:07d}",
                    f"{principal[i]:.2f}",
                    f"{interest[i]:.2f}",
                    f"{penalty[i]:.2f}",
                    f"{minimum[i]:.2f}",
                    str(overdue[i]),
                    "true" if active[i] else "false",
                    *hardship,
                ]
            )
