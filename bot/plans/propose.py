"""Rank candidate plans for one cardholder and render the contract's output dict.

Ranking (best first): affordable before unaffordable (those by the lowest monthly payment, the
closest to fitting), then lowest total cost, then shortest term
(then: no approval needed, lower monthly payment, product order). Dominated candidates are
dropped and each product is represented once (twice for a spread of terms when affordability is
unknown), so the cardholder sees 2-4 options that are all worth considering.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta

from ..clock import today
from .case import Account, Hardship, parse_case, parse_date
from .explain import explanation, title
from .money import add_months, apr, yuan
from .policy import Policy
from .products import (
    TYPE_RANK,
    Candidate,
    deferral,
    full_payment,
    installments,
    minimum_payment,
    personalized,
    waiver,
)

MIN_OPTIONS = 2

_SPECIALIST = "需要专员根据您的具体情况商定方案。"
ESCALATION_TEXT = {
    "income_below_expenses": "每月收入低于必要开支和其他还款，目前没有可用于还款的余额，"
    + _SPECIALIST,
    "below_floor": "按您提供的收支，每月可用于还款的金额约 {aff} 元，"
    "低于自动方案的下限 {floor} 元，" + _SPECIALIST,
    "no_affordable_option": "现有方案的月供都超过了您每月约 {aff} 元的承受能力，" + _SPECIALIST,
}


def affordable_monthly(hs: Hardship | None, policy: Policy) -> int | None:
    """Cents per month a plan may take, or None without a hardship statement."""
    if hs is None:
        return None
    if hs.max_monthly_payment is not None:
        return hs.max_monthly_payment
    disposable = hs.disposable(policy.affordability.dependent_reserve)
    if disposable <= 0:
        return 0
    return disposable * policy.affordability.share_ppm // 1_000_000


def candidates(
    acc: Account, hs: Hardship | None, aff: int | None, policy: Policy
) -> list[Candidate]:
    """Every plan the policy allows for this case."""
    out = [full_payment(acc, policy)]
    minimum = minimum_payment(acc, policy)
    if minimum is not None:
        out.append(minimum)
    out.extend(installments(acc, policy))
    ordinary_affordable = aff is not None and any(c.monthly <= aff for c in out)
    out.extend(personalized(acc, hs, policy, ordinary_affordable))
    for extra in (deferral(acc, hs, aff, policy), waiver(acc, hs, aff, policy)):
        if extra is not None:
            out.append(extra)
    return out


def rank_key(c: Candidate, aff: int | None) -> tuple[int, int, int, int, int, int, int]:
    """Sort key, best first. A total order: ids of one product differ in months.

    Options the cardholder cannot afford rank by how close they come to what they can pay
    (issue 15: a one-off 36,698 ranked first, by its zero cost, for someone who can pay 350 a
    month); the affordable ones by cost, as before."""
    unaffordable = 0 if aff is None or c.monthly <= aff else 1
    excess = c.monthly if unaffordable else 0
    return (
        unaffordable,
        excess,
        c.cost,
        c.months,
        int(c.requires_approval),
        c.monthly,
        TYPE_RANK[c.type],
    )


def _dominates(a: Candidate, b: Candidate, keys: dict[str, tuple[int, ...]]) -> bool:
    """a is at least as good as b on every count the cardholder cares about, and ranks first."""
    return (
        a.monthly <= b.monthly
        and a.cost <= b.cost
        and a.months <= b.months
        and a.requires_approval <= b.requires_approval
        and keys[a.id] < keys[b.id]
    )


def select(cands: list[Candidate], aff: int | None, max_options: int) -> list[Candidate]:
    """Pick 2..max_options options, best first, never padding with dominated ones."""
    keys = {c.id: rank_key(c, aff) for c in cands}
    ranked = sorted(cands, key=lambda c: keys[c.id])
    kept = [c for c in ranked if not any(_dominates(a, c, keys) for a in ranked if a is not c)]
    chosen = [ranked[0]]
    for kind in dict.fromkeys(c.type for c in kept):
        members = [c for c in kept if c.type == kind]
        lowest = min(members, key=lambda c: (c.monthly, keys[c.id]))
        if aff is None:
            reps = [members[0], lowest]  # unknown affordability: cheapest and lightest
        else:
            fitting = [c for c in members if c.monthly <= aff]
            reps = [fitting[0]] if fitting else [lowest]  # else the one closest to fitting
        chosen.extend(c for c in reps if c not in chosen)
    chosen.sort(key=lambda c: keys[c.id])
    chosen = chosen[:max_options]
    for c in kept:
        if len(chosen) >= MIN_OPTIONS:
            break
        if c not in chosen:
            chosen.append(c)
    return sorted(chosen, key=lambda c: keys[c.id])


def escalation(hs: Hardship | None, aff: int | None, best: Candidate, policy: Policy) -> str | None:
    """Why a specialist must decide (a code), or None when an option fits."""
    if hs is None or aff is None:
        return None
    if hs.disposable(policy.affordability.dependent_reserve) <= 0:
        return "income_below_expenses"
    if aff < policy.affordability.floor:
        return "below_floor"
    if best.monthly > aff:
        return "no_affordable_option"
    return None


def due_dates(c: Candidate, as_of: date) -> list[date]:
    """Month 0 is due within `due_in_days`; month k on the same day k months on (month-end safe)."""
    return [
        as_of + timedelta(days=c.due_in_days) if m == 0 else add_months(as_of, m)
        for m, _ in c.payments
    ]


def render(
    c: Candidate, as_of: date, aff: int | None, requires_approval: bool, policy: Policy
) -> dict[str, object]:
    """One option in the contract's shape, with a few useful extras."""
    dates = due_dates(c, as_of)
    rate = apr(c.financed, c.payments)
    mp = policy.minimum_payment
    option: dict[str, object] = {
        "id": c.id,
        "type": c.type,
        "title": title(c),
        "months": c.months,
        "financed_amount": yuan(c.financed),
        "monthly_payment": yuan(c.monthly),
        "total_payment": yuan(c.total),
        "total_cost": yuan(c.cost),
        "apr": rate,
        "first_due_date": dates[0].isoformat(),
        "last_due_date": dates[-1].isoformat(),
        "requires_approval": requires_approval,
        "affordable": None if aff is None else c.monthly <= aff,
        "waived_amount": yuan(c.waived),
    }
    if c.monthly_rate_ppm:
        option["monthly_rate"] = c.monthly_rate_ppm / 1_000_000
    if c.interest_frozen is not None:
        option["interest_frozen"] = c.interest_frozen
    if c.grace_months:
        option["grace_months"] = c.grace_months
    option["schedule"] = [
        {"n": i, "due_date": d.isoformat(), "amount": yuan(amount)}
        for i, (d, (_, amount)) in enumerate(zip(dates, c.payments, strict=True), start=1)
    ]
    option["explanation"] = explanation(
        c,
        rate,
        dates,
        aff,
        requires_approval,
        (mp.principal_share_ppm, mp.floor_amount, mp.revolving_annual_ppm),
    )
    return option


def propose(
    case: Mapping[str, object], policy: Policy, as_of: date | str | None = None
) -> dict[str, object]:
    """Proposals for one case (CASE.json shape); raises PlanError naming a bad field.

    `as_of` overrides the case's own as_of; without either, bot.clock.today() is used.
    """
    parsed = parse_case(case)
    when = parse_date(as_of, "as_of") if as_of is not None else parsed.as_of or today()
    acc, hs = parsed.account, parsed.hardship
    aff = affordable_monthly(hs, policy)
    cands = candidates(acc, hs, aff, policy)
    chosen = select(cands, aff, policy.max_options)
    code = escalation(hs, aff, chosen[0], policy)
    reason = None
    if code is not None:
        reason = ESCALATION_TEXT[code].format(
            aff="0.00" if aff is None else f"{aff / 100:.2f}",
            floor=f"{policy.affordability.floor / 100:.2f}",
        )
    return {
        "as_of": when.isoformat(),
        "affordable_monthly": None if aff is None else yuan(aff),
        "escalate": code is not None,
        "escalation_reason": reason,
        "escalation_code": code,
        "policy_version": policy.version,
        "options": [
            render(c, when, aff, c.requires_approval or code is not None, policy) for c in chosen
        ],
    }
