"""Load and validate the bank's plan policy (policy/plans.yml).

The YAML is read as a node tree (yaml.compose) so every problem can name its file, line and
field. All problems are collected before raising, so check-policy reports them all at once.
Regulatory guards are checked here too: a policy that tries to switch one off is rejected.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.contract import HARDSHIP_REASONS

from .errors import PolicyError, Problem
from .money import PPM

DEFAULT_POLICY_PATH = Path(__file__).resolve().parents[2] / "policy" / "plans.yml"

MAX_TERM_MONTHS = 60  # 2022 notice / art. 70: at most 5 years

# Values of the `regulatory` block that no policy may change (max_term_months may be lowered).
REGULATORY_FIXED: dict[str, bool] = {
    "ordinary_installment_on_installment_balance": False,
    "minimum_payment_on_installment_balance": False,
    "show_installment_cost_as_interest_with_apr": True,
    "interest_on_penalty": False,
    "human_review_of_automated_decisions": True,
    "personalized_installment_requires_approval": True,
}

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Affordability:
    share_ppm: int
    dependent_reserve: int  # cents per dependent
    floor: int  # cents


@dataclass(frozen=True)
class FullPayment:
    pay_within_days: int
    incentive_enabled: bool
    penalty_waiver_ppm: int


@dataclass(frozen=True)
class MinimumPayment:
    enabled: bool
    pay_within_days: int
    principal_share_ppm: int
    floor_amount: int
    revolving_annual_ppm: int


@dataclass(frozen=True)
class Installment:
    enabled: bool
    max_overdue_days: int
    min_amount: int
    rates: tuple[tuple[int, int], ...]  # (months, monthly fee ppm), ascending months


@dataclass(frozen=True)
class Personalized:
    enabled: bool
    terms: tuple[int, ...]
    eligible_reasons: frozenset[str]
    min_overdue_days: int
    min_amount: int
    only_when_ordinary_unaffordable: bool
    interest_frozen: bool
    monthly_rate_ppm: int

    @property
    def requires_approval(self) -> bool:
        """Art. 70 plans are individual agreements: always a specialist's decision."""
        return True


@dataclass(frozen=True)
class Deferral:
    enabled: bool
    requires_approval: bool
    require_expected_recovery: bool
    grace_months: dict[str, int]
    repay_terms: tuple[int, ...]
    monthly_rate_ppm: int
    min_amount: int


@dataclass(frozen=True)
class Waiver:
    enabled: bool
    eligible_reasons: frozenset[str]
    min_overdue_days: int
    settle_terms: tuple[int, ...]
    auto_penalty_ppm: int
    auto_interest_ppm: int
    auto_max_amount: int
    approval_penalty_ppm: int
    approval_interest_ppm: int


@dataclass(frozen=True)
class Approval:
    """Who decides an application that needs approval (read by the specialists' console)."""

    four_eyes: bool  # the specialist who negotiated it may reject it, never approve it


@dataclass(frozen=True)
class Policy:
    source: str
    version: int
    max_term_months: int
    affordability: Affordability
    full_payment: FullPayment
    minimum_payment: MinimumPayment
    installment: Installment
    personalized: Personalized
    deferral: Deferral
    waiver: Waiver
    max_options: int
    approval: Approval = Approval(four_eyes=False)


class _Reader:
    """Walks the YAML node tree, converting values and collecting problems with line numbers."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[Problem] = []

    def problem(self, node: Node | None, field: str, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else None
        self.problems.append(Problem(self.source, line, field, message))

    def mapping(self, node: Node | None, path: str) -> _Mapping | None:
        if node is None:
            return None
        if not isinstance(node, MappingNode):
            self.problem(node, path or "(top level)", "must be a mapping of keys to values")
            return None
        return _Mapping(self, node, path)

    def scalar(self, node: Node, path: str, tags: tuple[str, ...], what: str) -> str | None:
        if not isinstance(node, ScalarNode) or node.tag not in tags:
            self.problem(node, path, f"must be {what}")
            return None
        return node.value

    def integer(self, node: Node | None, path: str, lo: int, hi: int, default: int = 0) -> int:
        if node is None:
            return default
        text = self.scalar(node, path, (_INT,), "a whole number")
        if text is None:
            return default
        value = int(yaml.safe_load(text))
        if not lo <= value <= hi:
            self.problem(node, path, f"must be between {lo} and {hi}, got {value}")
            return default
        return value

    def boolean(self, node: Node | None, path: str, default: bool = False) -> bool:
        if node is None:
            return default
        text = self.scalar(node, path, (_BOOL,), "true or false")
        return default if text is None else bool(yaml.safe_load(text))

    def decimal(self, node: Node | None, path: str, lo: Decimal, hi: Decimal) -> Decimal | None:
        if node is None:
            return None
        text = self.scalar(node, path, (_INT, _FLOAT), "a number")
        if text is None:
            return None
        try:
            value = Decimal(str(yaml.safe_load(text)))
        except InvalidOperation:
            self.problem(node, path, "must be a number")
            return None
        if not value.is_finite() or not lo <= value <= hi:
            self.problem(node, path, f"must be between {lo} and {hi}, got {text}")
            return None
        return value

    def rate(self, node: Node | None, path: str, hi: str = "1") -> int:
        """A fraction (rate or share) as parts per million, at most 6 decimal places."""
        value = self.decimal(node, path, Decimal(0), Decimal(hi))
        if value is None:
            return 0
        ppm = value * PPM
        if ppm != ppm.to_integral_value():
            self.problem(node, path, "at most 6 decimal places")
            return 0
        return int(ppm)

    def money(self, node: Node | None, path: str, hi: str = "10000000") -> int:
        value = self.decimal(node, path, Decimal(0), Decimal(hi))
        if value is None:
            return 0
        cents = value * 100
        if cents != cents.to_integral_value():
            self.problem(node, path, "at most 2 decimal places (yuan and fen)")
            return 0
        return int(cents)

    def terms(self, node: Node | None, path: str, max_term: int) -> tuple[int, ...]:
        if node is None:
            return ()
        if not isinstance(node, SequenceNode) or not node.value:
            self.problem(node, path, "must be a non-empty list of months, e.g. [12, 24]")
            return ()
        out: list[int] = []
        for item in node.value:
            months = self._term(item, path, max_term)
            if months is None:
                continue
            if months in out:
                self.problem(item, path, f"term {months} is listed twice")
            out.append(months)
        return tuple(sorted(set(out)))

    def _term(self, node: Node, path: str, max_term: int) -> int | None:
        text = self.scalar(node, path, (_INT,), "whole months")
        if text is None:
            return None
        months = int(yaml.safe_load(text))
        if months < 1:
            self.problem(node, path, f"term {months} must be at least 1 month")
            return None
        if months > max_term:
            self.problem(
                node,
                path,
                f"term {months} exceeds the regulatory maximum of {max_term} months "
                "(2022 notice; art. 70: at most 5 years)",
            )
            return None
        return months

    def rate_table(
        self, node: Node | None, path: str, max_term: int
    ) -> tuple[tuple[int, int], ...]:
        table = self.mapping(node, path)
        if table is None:
            return ()
        out: dict[int, int] = {}
        for key_node, value_node in table.items():
            months = self._term(key_node, f"{path}.{key_node.value}", max_term)
            if months is not None:
                out[months] = self.rate(value_node, f"{path}.{months}", hi="0.05")
        if not out:
            self.problem(node, path, "must list at least one term")
        return tuple(sorted(out.items()))

    def reasons(self, node: Node | None, path: str) -> frozenset[str]:
        if node is None:
            return frozenset()
        if not isinstance(node, SequenceNode):
            self.problem(node, path, "must be a list of hardship reasons")
            return frozenset()
        out = set()
        for item in node.value:
            text = self.scalar(item, path, ("tag:yaml.org,2002:str",), "a hardship reason")
            if text is None:
                continue
            if text not in HARDSHIP_REASONS:
                self.problem(
                    item,
                    path,
                    f"unknown hardship reason {text!r}; use one of {', '.join(HARDSHIP_REASONS)}",
                )
            else:
                out.add(text)
        return frozenset(out)


class _Mapping:
    """A YAML mapping whose keys are taken one by one; leftovers are reported as unknown."""

    def __init__(self, reader: _Reader, node: MappingNode, path: str) -> None:
        self.reader = reader
        self.node = node
        self.path = path
        self.entries: dict[str, tuple[Node, Node]] = {}
        self.taken: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in self.entries:
                reader.problem(
                    key_node, self.field(key), "duplicate key (the earlier value would be ignored)"
                )
            self.entries[key] = (key_node, value_node)

    def field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def items(self) -> list[tuple[Node, Node]]:
        self.taken.update(self.entries)
        return list(self.node.value)

    def take(self, key: str, required: bool = True) -> Node | None:
        self.taken.add(key)
        entry = self.entries.get(key)
        if entry is None:
            if required:
                self.reader.problem(self.node, self.field(key), "required field is missing")
            return None
        if entry[1].tag == _NULL and required:
            self.reader.problem(entry[1], self.field(key), "must not be empty")
            return None
        return entry[1]

    def sub(self, key: str, required: bool = True) -> _Mapping | None:
        return self.reader.mapping(self.take(key, required), self.field(key))

    def finish(self) -> None:
        for key, (key_node, _) in self.entries.items():
            if key not in self.taken:
                self.reader.problem(key_node, self.field(key), "unknown field (typo?)")


def load_policy(path: str | Path | None = None) -> Policy:
    """Read and validate a policy file (the default one when path is None).

    Raises PolicyError listing every problem with file, line and field.
    """
    policy_path = Path(path) if path is not None else DEFAULT_POLICY_PATH
    source = str(path) if path is not None else _display(policy_path)
    try:
        text = policy_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyError([Problem(source, None, "", "policy file not found")]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError([Problem(source, None, "", f"cannot read policy file: {exc}")]) from None
    return parse_policy(text, source)


def _display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Validate policy YAML text; `source` is the name used in error messages."""
    reader = _Reader(source)
    try:
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PolicyError([Problem(source, line, "", f"malformed YAML: {problem}")]) from None
    if root is None:
        raise PolicyError([Problem(source, None, "", "policy file is empty")])
    top = reader.mapping(root, "")
    if top is None:
        raise PolicyError(reader.problems)
    policy = _build(reader, top)
    if reader.problems:
        raise PolicyError(reader.problems)
    assert policy is not None
    return policy


def _build(r: _Reader, top: _Mapping) -> Policy:
    version = r.integer(top.take("version"), "version", 1, 1, default=1)
    max_term = _regulatory(r, top.sub("regulatory", required=False))
    affordability = _affordability(r, top.sub("affordability"))
    full = _full_payment(r, top.sub("full_payment"))
    minimum = _minimum(r, top.sub("minimum_payment"))
    installment = _installment(r, top.sub("installment"), max_term)
    personalized = _personalized(r, top.sub("personalized_installment"), max_term)
    deferral = _deferral(r, top.sub("deferral"), max_term)
    waiver = _waiver(r, top.sub("waiver"), max_term)
    approval = _approval(r, top.sub("approval", required=False))
    selection = top.sub("selection", required=False)
    max_options = 4
    if selection is not None:
        max_options = r.integer(
            selection.take("max_options"), "selection.max_options", 2, 4, default=4
        )
        selection.finish()
    top.finish()
    return Policy(
        source=r.source,
        version=version,
        max_term_months=max_term,
        affordability=affordability,
        full_payment=full,
        minimum_payment=minimum,
        installment=installment,
        personalized=personalized,
        deferral=deferral,
        waiver=waiver,
        max_options=max_options,
        approval=approval,
    )


def _approval(r: _Reader, m: _Mapping | None) -> Approval:
    """The optional ``approval`` block; without it one specialist may approve alone."""
    if m is None:
        return Approval(four_eyes=False)
    four_eyes = r.boolean(m.take("four_eyes"), m.field("four_eyes"))
    m.finish()
    return Approval(four_eyes=four_eyes)


def _regulatory(r: _Reader, m: _Mapping | None) -> int:
    """Check the reference block of regulatory guards; returns the (possibly lower) max term."""
    if m is None:
        return MAX_TERM_MONTHS
    max_term = MAX_TERM_MONTHS
    node = m.take("max_term_months", required=False)
    if node is not None:
        text = r.scalar(node, m.field("max_term_months"), (_INT,), "whole months")
        if text is not None:
            value = int(yaml.safe_load(text))
            if value > MAX_TERM_MONTHS:
                r.problem(
                    node,
                    m.field("max_term_months"),
                    f"cannot exceed {MAX_TERM_MONTHS} months "
                    "(regulatory guard: 2022 notice, art. 70)",
                )
            elif value < 1:
                r.problem(node, m.field("max_term_months"), "must be at least 1")
            else:
                max_term = value
    for key, fixed in REGULATORY_FIXED.items():
        node = m.take(key, required=False)
        if node is None:
            continue
        value = r.boolean(node, m.field(key), default=fixed)
        if value != fixed:
            r.problem(
                node,
                m.field(key),
                f"regulatory guard cannot be switched off: must be {str(fixed).lower()} "
                "(enforced in code; see regulation.md)",
            )
    m.finish()
    return max_term


def _affordability(r: _Reader, m: _Mapping | None) -> Affordability:
    if m is None:
        return Affordability(0, 0, 0)
    node = m.take("share_of_disposable")
    share = r.rate(node, m.field("share_of_disposable"))
    if node is not None and share == 0 and node.value.strip("0.") == "":
        r.problem(node, m.field("share_of_disposable"), "must be above 0")
    reserve = r.money(m.take("dependent_reserve", required=False), m.field("dependent_reserve"))
    floor = r.money(m.take("floor"), m.field("floor"))
    m.finish()
    return Affordability(share, reserve, floor)


def _full_payment(r: _Reader, m: _Mapping | None) -> FullPayment:
    if m is None:
        return FullPayment(7, False, 0)
    if "enabled" in m.entries:
        node = m.take("enabled")
        if node is not None and not r.boolean(node, m.field("enabled"), default=True):
            r.problem(
                node, m.field("enabled"), "full payment is always possible and cannot be disabled"
            )
    days = r.integer(m.take("pay_within_days"), m.field("pay_within_days"), 1, 31, default=7)
    incentive = m.sub("incentive", required=False)
    enabled, share = False, 0
    if incentive is not None:
        enabled = r.boolean(incentive.take("enabled"), incentive.field("enabled"))
        share = r.rate(
            incentive.take("penalty_waiver_share", required=enabled),
            incentive.field("penalty_waiver_share"),
        )
        incentive.finish()
    m.finish()
    return FullPayment(days, enabled, share)


def _minimum(r: _Reader, m: _Mapping | None) -> MinimumPayment:
    if m is None:
        return MinimumPayment(False, 7, 0, 0, 0)
    enabled = r.boolean(m.take("enabled"), m.field("enabled"))
    days = r.integer(m.take("pay_within_days"), m.field("pay_within_days"), 1, 31, default=7)
    node = m.take("principal_share")
    share = r.rate(node, m.field("principal_share"))
    if enabled and node is not None and share == 0 and node.value.strip("0.") == "":
        r.problem(node, m.field("principal_share"), "must be above 0")
    floor = r.money(m.take("floor_amount"), m.field("floor_amount"))
    annual = r.rate(m.take("revolving_annual_rate"), m.field("revolving_annual_rate"), hi="0.36")
    m.finish()
    return MinimumPayment(enabled, days, share, floor, annual)


def _installment(r: _Reader, m: _Mapping | None, max_term: int) -> Installment:
    if m is None:
        return Installment(False, 0, 0, ())
    enabled = r.boolean(m.take("enabled"), m.field("enabled"))
    _forbid(
        r,
        m,
        "allow_with_active_installment",
        True,
        "ordinary installment on a balance already on installments",
    )
    max_overdue = r.integer(m.take("max_overdue_days"), m.field("max_overdue_days"), 0, 10000)
    min_amount = r.money(m.take("min_amount"), m.field("min_amount"))
    rates = r.rate_table(m.take("monthly_fee_rates"), m.field("monthly_fee_rates"), max_term)
    m.finish()
    return Installment(enabled, max_overdue, min_amount, rates)


def _forbid(r: _Reader, m: _Mapping, key: str, forbidden: bool, what: str) -> None:
    """Report a product-level switch that would break a regulatory guard."""
    node = m.take(key, required=False)
    if node is not None and r.boolean(node, m.field(key), default=not forbidden) == forbidden:
        r.problem(
            node, m.field(key), f"regulatory guard cannot be switched off: {what} is not allowed"
        )


def _personalized(r: _Reader, m: _Mapping | None, max_term: int) -> Personalized:
    if m is None:
        return Personalized(False, (), frozenset(), 0, 0, True, True, 0)
    enabled = r.boolean(m.take("enabled"), m.field("enabled"))
    terms = r.terms(m.take("terms"), m.field("terms"), max_term)
    reasons = r.reasons(m.take("eligible_reasons"), m.field("eligible_reasons"))
    min_overdue = r.integer(m.take("min_overdue_days"), m.field("min_overdue_days"), 0, 10000)
    min_amount = r.money(m.take("min_amount"), m.field("min_amount"))
    only_when = r.boolean(
        m.take("only_when_ordinary_unaffordable"), m.field("only_when_ordinary_unaffordable")
    )
    frozen = r.boolean(m.take("interest_frozen"), m.field("interest_frozen"))
    rate = r.rate(m.take("monthly_rate"), m.field("monthly_rate"), hi="0.05")
    approval = m.take("requires_approval", required=False)
    if approval is not None and not r.boolean(approval, m.field("requires_approval"), default=True):
        r.problem(
            approval,
            m.field("requires_approval"),
            "regulatory guard cannot be switched off: "
            "an art. 70 personalized plan always needs a specialist's approval",
        )
    if frozen and rate and "monthly_rate" in m.entries:
        r.problem(
            m.entries["monthly_rate"][1],
            m.field("monthly_rate"),
            "contradicts interest_frozen: true (set the rate to 0 or unfreeze interest)",
        )
    m.finish()
    return Personalized(enabled, terms, reasons, min_overdue, min_amount, only_when, frozen, rate)


def _deferral(r: _Reader, m: _Mapping | None, max_term: int) -> Deferral:
    if m is None:
        return Deferral(False, True, True, {}, (), 0, 0)
    enabled = r.boolean(m.take("enabled"), m.field("enabled"))
    approval = r.boolean(m.take("requires_approval"), m.field("requires_approval"), default=True)
    require_recovery = r.boolean(
        m.take("require_expected_recovery"), m.field("require_expected_recovery")
    )
    grace: dict[str, int] = {}
    grace_map = m.sub("grace_months")
    if grace_map is not None:
        for key_node, value_node in grace_map.items():
            field = grace_map.field(str(key_node.value))
            if key_node.value not in HARDSHIP_REASONS:
                r.problem(
                    key_node,
                    field,
                    f"unknown hardship reason; use one of {', '.join(HARDSHIP_REASONS)}",
                )
                continue
            grace[key_node.value] = r.integer(value_node, field, 0, max_term - 1)
    repay = r.terms(m.take("repay_terms"), m.field("repay_terms"), max_term)
    rate = r.rate(m.take("monthly_rate"), m.field("monthly_rate"), hi="0.05")
    min_amount = r.money(m.take("min_amount"), m.field("min_amount"))
    if grace and repay and max(grace.values()) + min(repay) > max_term:
        r.problem(
            m.entries["repay_terms"][1],
            m.field("repay_terms"),
            f"the longest grace ({max(grace.values())}) plus the shortest repayment term "
            f"({min(repay)}) "
            f"exceeds the regulatory maximum of {max_term} months",
        )
    m.finish()
    return Deferral(enabled, approval, require_recovery, grace, repay, rate, min_amount)


def _waiver(r: _Reader, m: _Mapping | None, max_term: int) -> Waiver:
    if m is None:
        return Waiver(False, frozenset(), 0, (), 0, 0, 0, 0, 0)
    enabled = r.boolean(m.take("enabled"), m.field("enabled"))
    reasons = r.reasons(m.take("eligible_reasons"), m.field("eligible_reasons"))
    min_overdue = r.integer(m.take("min_overdue_days"), m.field("min_overdue_days"), 0, 10000)
    terms = r.terms(m.take("settle_terms"), m.field("settle_terms"), max_term)
    auto = m.sub("automatic")
    auto_p = auto_i = auto_max = 0
    if auto is not None:
        auto_p = r.rate(auto.take("penalty_share"), auto.field("penalty_share"))
        auto_i = r.rate(auto.take("interest_share"), auto.field("interest_share"))
        auto_max = r.money(auto.take("max_amount"), auto.field("max_amount"))
        auto.finish()
    appr = m.sub("with_approval")
    appr_p = appr_i = 0
    if appr is not None:
        appr_p = r.rate(appr.take("penalty_share"), appr.field("penalty_share"))
        appr_i = r.rate(appr.take("interest_share"), appr.field("interest_share"))
        for key, auto_value, value in (
            ("penalty_share", auto_p, appr_p),
            ("interest_share", auto_i, appr_i),
        ):
            if value < auto_value:
                r.problem(
                    appr.entries[key][1],
                    appr.field(key),
                    f"contradicts automatic.{key}: a specialist may waive at least "
                    "as much as is waived automatically",
                )
        appr.finish()
    m.finish()
    return Waiver(enabled, reasons, min_overdue, terms, auto_p, auto_i, auto_max, appr_p, appr_i)
