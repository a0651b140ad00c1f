"""Candidate plans per product, as exact integer-cent payment streams.

A builder only decides what a product would look like for this case under the policy; which
candidates are shown, and in what order, is decided in propose.py. Regulatory guards that
concern a single product are enforced here, whatever the policy says.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .case import Account, Hardship
from .money import apply_ppm, ceil_div, div_half_up
from .policy import MAX_TERM_MONTHS, PPM, Policy

# Tie-break order between products with equal cost, term, approval and monthly payment.
TYPE_RANK = {
    "full_payment": 0,
    "waiver": 1,
    "installment": 2,
    "personalized_installment": 3,
    "deferral": 4,
    "minimum_payment": 5,
}

Payments = tuple[tuple[int, int], ...]  # (months after as_of, cents); month 0 = within days


@dataclass(frozen=True)
class Candidate:
    """One possible plan. `months` is the plan's length; `payments` its exact cash flows."""

    type: str
    id: str
    months: int
    financed: int
    payments: Payments
    requires_approval: bool
    due_in_days: int = 0  # for a payment in month 0: days after as_of
    waived: int = 0
    waived_penalty: int = 0
    waived_interest: int = 0
    monthly_fee: int = 0
    monthly_rate_ppm: int = 0
    grace_months: int = 0
    interest_frozen: bool | None = None
    total: int = field(init=False)
    monthly: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "total", sum(amount for _, amount in self.payments))
        object.__setattr__(self, "monthly", max(amount for _, amount in self.payments))

    @property
    def cost(self) -> int:
        """What the plan costs beyond the financed amount (negative with a waiver)."""
        return self.total - self.financed


def level_payments(amount: int, n: int, fee: int, start: int = 1) -> Payments | None:
    """n monthly payments of ceil(amount / n) + fee from month `start`; the last absorbs rounding.

    Returns None when the amount is too small to spread (the last payment would not be positive).
    """
    base = ceil_div(amount, n)
    last = amount - base * (n - 1)
    if last <= 0:
        return None
    return tuple((start + k, base + fee) for k in range(n - 1)) + ((start + n - 1, last + fee),)


def full_payment(acc: Account, policy: Policy) -> Candidate:
    """Pay everything at once; with the incentive, part of the penalty is waived."""
    fp = policy.full_payment
    waived = apply_ppm(acc.penalty, fp.penalty_waiver_ppm) if fp.incentive_enabled else 0
    return Candidate(
        type="full_payment",
        id="full",
        months=1,
        financed=acc.owed,
        payments=((0, acc.owed - waived),),
        requires_approval=False,
        due_in_days=fp.pay_within_days,
        waived=waived,
        waived_penalty=waived,
    )


def minimum_payment(acc: Account, policy: Policy) -> Candidate | None:
    """Pay only the minimum every month, the rest revolving at the card rate.

    The first payment is the statement's minimum (penalty, then interest, then principal);
    later ones are principal_share × principal + that month's interest + anything left unpaid,
    but at least floor_amount. Not offered on installment balances (2022 notice) nor when it
    would not clear within the maximum term.
    """
    mp = policy.minimum_payment
    if not mp.enabled or acc.has_active_installment:
        return None
    first = min(acc.minimum_payment, acc.owed)
    carried = acc.penalty + acc.interest
    paid_fees = min(first, carried)
    carried -= paid_fees
    principal = acc.principal - (first - paid_fees)
    payments = [(0, first)] if first > 0 else []
    month = 0
    max_months = policy.max_term_months
    while principal + carried > 0:
        month += 1
        if len(payments) >= max_months:
            return None
        interest = div_half_up(principal * mp.revolving_annual_ppm, 12 * PPM)
        due = apply_ppm(principal, mp.principal_share_ppm) + interest + carried
        pay = min(principal + interest + carried, max(due, mp.floor_amount))
        principal -= pay - interest - carried
        carried = 0
        payments.append((month, pay))
    return Candidate(
        type="minimum_payment",
        id="min",
        months=len(payments),
        financed=acc.owed,
        payments=tuple(payments),
        requires_approval=False,
        due_in_days=mp.pay_within_days,
        monthly_rate_ppm=div_half_up(mp.revolving_annual_ppm, 12),
    )


def installments(acc: Account, policy: Policy) -> list[Candidate]:
    """Statement installments (账单分期) for every allowed term.

    Never on a balance already on installments (2022 notice); fees on principal + interest only.
    """
    inst = policy.installment
    if not inst.enabled or acc.has_active_installment:
        return []
    if acc.overdue_days > inst.max_overdue_days or acc.owed < inst.min_amount:
        return []
    out = []
    for months, rate in inst.rates:
        if months > min(policy.max_term_months, MAX_TERM_MONTHS):
            continue
        fee = apply_ppm(acc.fee_base, rate)
        payments = level_payments(acc.owed, months, fee)
        if payments is not None:
            out.append(
                Candidate(
                    type="installment",
                    id=f"inst-{months}",
                    months=months,
                    financed=acc.owed,
                    payments=payments,
                    requires_approval=False,
                    monthly_fee=fee,
                    monthly_rate_ppm=rate,
                )
            )
    return out


def personalized(
    acc: Account, hs: Hardship | None, policy: Policy, ordinary_affordable: bool
) -> list[Candidate]:
    """Art. 70 individual plans: up to 60 months, always approved by a specialist.

    Eligible with a qualifying hardship statement, or whenever the balance is already on
    installments (it is the only plan allowed then); with only_when_ordinary_unaffordable, only
    when no full/minimum/installment option fits (art. 70: debt beyond the ability to repay).
    """
    p = policy.personalized
    if not p.enabled or acc.owed < p.min_amount:
        return []
    qualifying = (
        hs is not None
        and hs.reason in p.eligible_reasons
        and acc.overdue_days >= p.min_overdue_days
    )
    if not (acc.has_active_installment or qualifying):
        return []
    if p.only_when_ordinary_unaffordable and ordinary_affordable:
        return []
    rate = 0 if p.interest_frozen else p.monthly_rate_ppm
    fee = apply_ppm(acc.fee_base, rate)
    out = []
    for months in p.terms:
        if months > min(policy.max_term_months, MAX_TERM_MONTHS):
            continue
        payments = level_payments(acc.owed, months, fee)
        if payments is not None:
            out.append(
                Candidate(
                    type="personalized_installment",
                    id=f"pers-{months}",
                    months=months,
                    financed=acc.owed,
                    payments=payments,
                    requires_approval=True,
                    monthly_fee=fee,
                    monthly_rate_ppm=rate,
                    interest_frozen=p.interest_frozen,
                )
            )
    return out


def deferral(
    acc: Account, hs: Hardship | None, aff: int | None, policy: Policy
) -> Candidate | None:
    """Grace months without payment (and without fees), then equal installments.

    Grace is capped by the policy per hardship reason and by the expected recovery. The shortest
    affordable repayment term is offered, else the longest. Not on installment balances.
    """
    d = policy.deferral
    if not d.enabled or hs is None or acc.has_active_installment or acc.owed < d.min_amount:
        return None
    grace = d.grace_months.get(hs.reason, 0)
    if hs.expected_recovery_months is not None:
        grace = min(grace, hs.expected_recovery_months)
    elif d.require_expected_recovery:
        return None
    if grace <= 0:
        return None
    fee = apply_ppm(acc.fee_base, d.monthly_rate_ppm)
    fallback = None
    for months in d.repay_terms:
        if grace + months > min(policy.max_term_months, MAX_TERM_MONTHS):
            continue
        payments = level_payments(acc.owed, months, fee, start=grace + 1)
        if payments is None:
            continue
        candidate = Candidate(
            type="deferral",
            id=f"defer-{grace}-{months}",
            months=grace + months,
            financed=acc.owed,
            payments=payments,
            requires_approval=d.requires_approval,
            monthly_fee=fee,
            monthly_rate_ppm=d.monthly_rate_ppm,
            grace_months=grace,
        )
        if aff is not None and candidate.monthly <= aff:
            return candidate
        fallback = candidate
    return fallback


def waiver(acc: Account, hs: Hardship | None, aff: int | None, policy: Policy) -> Candidate | None:
    """Part of penalty and interest waived, the rest settled in a few equal payments.

    The automatic waiver is tried first (approval needed only above its amount limit); if no
    settlement term is affordable with it, the larger waiver a specialist may grant is offered.
    With a balance already on installments only a single settlement payment is allowed.
    """
    w = policy.waiver
    if not w.enabled or hs is None or hs.reason not in w.eligible_reasons:
        return None
    if acc.overdue_days < w.min_overdue_days or acc.penalty + acc.interest == 0:
        return None
    terms = (1,) if acc.has_active_installment else w.settle_terms
    levels = []
    for pen_ppm, int_ppm, approval in (
        (w.auto_penalty_ppm, w.auto_interest_ppm, None),
        (w.approval_penalty_ppm, w.approval_interest_ppm, True),
    ):
        wp, wi = apply_ppm(acc.penalty, pen_ppm), apply_ppm(acc.interest, int_ppm)
        if wp + wi > 0 and all((wp, wi) != (lp, li) for lp, li, _ in levels):
            levels.append((wp, wi, approval if approval else wp + wi > w.auto_max_amount))
    fallback = None
    for wp, wi, approval in levels:
        for months in terms:
            payments = level_payments(acc.owed - wp - wi, months, 0)
            if payments is None:
                continue
            candidate = Candidate(
                type="waiver",
                id=f"waiver-{months}",
                months=months,
                financed=acc.owed,
                payments=payments,
                requires_approval=approval,
                waived=wp + wi,
                waived_penalty=wp,
                waived_interest=wi,
            )
            if aff is not None and candidate.monthly <= aff:
                return candidate
            fallback = candidate
    return fallback
