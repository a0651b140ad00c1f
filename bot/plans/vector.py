"""The plan engine over a whole portfolio at once, with numpy.

It computes, for every account, what `propose` ranks first (and whether the case escalates),
with the same integer-cent arithmetic, so the two agree to the cent; tests check that on
samples. It mirrors products.py and propose.py: change them together.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.contract import HARDSHIP_REASONS

from .money import PPM
from .policy import MAX_TERM_MONTHS, Policy
from .portfolio import Portfolio
from .products import TYPE_RANK

TYPES = tuple(sorted(TYPE_RANK, key=TYPE_RANK.get))
ESCALATION_CODES = (None, "income_below_expenses", "below_floor", "no_affordable_option")


def _half_up(num: np.ndarray, den: int) -> np.ndarray:
    return (2 * num + den) // (2 * den)


def _ppm(amount: np.ndarray, ppm: int) -> np.ndarray:
    return _half_up(amount * ppm, PPM)


@dataclass
class Slot:
    """One candidate per account (or not valid), with a level-payment schedule description:
    payments at months start .. start+n-1, all `level` except the last (`last`); min payment
    keeps its explicit per-month matrix instead."""

    type: str
    valid: np.ndarray
    monthly: np.ndarray
    total: np.ndarray
    months: np.ndarray
    approval: np.ndarray
    start: np.ndarray
    n: np.ndarray
    level: np.ndarray
    last: np.ndarray
    term: np.ndarray  # term used in the id (installment months, waiver months, deferral repay)
    grace: np.ndarray
    matrix: np.ndarray | None = None


def _level(
    kind: str,
    valid: np.ndarray,
    amount: np.ndarray,
    n: int,
    fee: np.ndarray,
    start: np.ndarray | int,
    approval,
) -> Slot:
    size = len(amount)
    base = -(-amount // n)
    last = amount - base * (n - 1)
    valid = valid & (last > 0)
    start_arr = np.broadcast_to(np.asarray(start, dtype=np.int64), (size,)).copy()
    return Slot(
        type=kind,
        valid=valid,
        monthly=base + fee,
        total=amount + n * fee,
        months=start_arr - 1 + n,
        approval=np.broadcast_to(np.asarray(approval, dtype=bool), (size,)).copy(),
        start=start_arr,
        n=np.full(size, n, dtype=np.int64),
        level=base + fee,
        last=last + fee,
        term=np.full(size, n, dtype=np.int64),
        grace=np.zeros(size, dtype=np.int64),
    )


def _pick(target: Slot | None, cand: Slot, mask: np.ndarray) -> Slot:
    """target with the rows in mask replaced by cand's."""
    if target is None:
        target = Slot(
            **{k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in cand.__dict__.items()}
        )
        target.valid = cand.valid & mask
        return target
    for name, value in cand.__dict__.items():
        if isinstance(value, np.ndarray) and name != "matrix":
            getattr(target, name)[mask] = value[mask]
    target.valid = target.valid | (cand.valid & mask)
    return target


@dataclass
class VectorResult:
    """First-ranked option per account, escalation, and the expected inflow by month."""

    affordable_monthly: np.ndarray  # cents, -1 without a hardship statement
    escalation: np.ndarray  # index into ESCALATION_CODES
    type: np.ndarray  # index into TYPES
    term: np.ndarray
    grace: np.ndarray
    months: np.ndarray
    financed: np.ndarray
    monthly: np.ndarray
    total: np.ndarray
    affordable: np.ndarray  # 1, 0, or -1 (unknown)
    requires_approval: np.ndarray
    inflow: np.ndarray  # cents due per month offset (0..max term), non-escalated accounts

    @property
    def escalate(self) -> np.ndarray:
        return self.escalation > 0

    def option_id(self, i: int) -> str:
        """The id `propose` gives account i's first option."""
        kind = TYPES[self.type[i]]
        term, grace = int(self.term[i]), int(self.grace[i])
        return {
            "full_payment": "full",
            "minimum_payment": "min",
            "installment": f"inst-{term}",
            "personalized_installment": f"pers-{term}",
            "deferral": f"defer-{grace}-{term}",
            "waiver": f"waiver-{term}",
        }[kind]


def run(pf: Portfolio, policy: Policy) -> VectorResult:
    """Rank every account's options like `propose` and keep the first."""
    max_term = min(policy.max_term_months, MAX_TERM_MONTHS)
    size = len(pf)
    owed = pf.principal + pf.interest + pf.penalty
    fee_base = pf.principal + pf.interest
    has = pf.reason >= 0
    af = policy.affordability
    disposable = pf.income - pf.expenses - pf.other_debt - pf.dependents * af.dependent_reserve
    aff = np.where(has, np.where(disposable > 0, disposable * af.share_ppm // PPM, 0), -1)
    no = np.zeros(size, dtype=bool)

    slots = [_full(pf, owed, policy)]
    minimum = _minimum(pf, owed, policy, max_term)
    if minimum is not None:
        slots.append(minimum)
    inst = policy.installment
    inst_ok = (
        inst.enabled
        & ~pf.active
        & (pf.overdue <= inst.max_overdue_days)
        & (owed >= inst.min_amount)
    )
    for months, rate in inst.rates:
        if months <= max_term:
            slots.append(_level("installment", inst_ok, owed, months, _ppm(fee_base, rate), 1, no))

    def fits(slot: Slot) -> np.ndarray:
        return slot.valid & has & (slot.monthly <= aff)

    ordinary = np.zeros(size, dtype=bool)
    for slot in slots:
        ordinary |= fits(slot)

    p = policy.personalized
    eligible = np.isin(pf.reason, [HARDSHIP_REASONS.index(r) for r in p.eligible_reasons])
    pers_ok = (
        p.enabled
        & (owed >= p.min_amount)
        & (pf.active | (has & eligible & (pf.overdue >= p.min_overdue_days)))
        & ~(p.only_when_ordinary_unaffordable & ordinary)
    )
    pers_fee = _ppm(fee_base, 0 if p.interest_frozen else p.monthly_rate_ppm)
    for months in p.terms:
        if months <= max_term:
            slots.append(
                _level("personalized_installment", pers_ok, owed, months, pers_fee, 1, True)
            )

    for extra in (
        _deferral(pf, owed, fee_base, has, aff, policy, max_term),
        _waiver(pf, owed, has, aff, policy),
    ):
        if extra is not None:
            slots.append(extra)

    best = _best(slots, has, aff)
    floor_code = np.where(disposable <= 0, 1, np.where(aff < af.floor, 2, 0))
    unaff = best.monthly > aff
    escalation = np.where(has, np.where(floor_code > 0, floor_code, np.where(unaff, 3, 0)), 0)
    return VectorResult(
        affordable_monthly=aff,
        escalation=escalation,
        type=best.type_index,
        term=best.term,
        grace=best.grace,
        months=best.months,
        financed=owed,
        monthly=best.monthly,
        total=best.total,
        affordable=np.where(has, (~unaff).astype(np.int64), -1),
        requires_approval=best.approval | (escalation > 0),
        inflow=_inflow(slots, best.slot, escalation == 0, max_term),
    )


def _full(pf: Portfolio, owed: np.ndarray, policy: Policy) -> Slot:
    fp = policy.full_payment
    waived = (
        _ppm(pf.penalty, fp.penalty_waiver_ppm) if fp.incentive_enabled else np.zeros_like(owed)
    )
    slot = _level(
        "full_payment",
        np.ones(len(owed), dtype=bool),
        owed - waived,
        1,
        np.zeros_like(owed),
        0,
        False,
    )
    slot.months = np.ones(len(owed), dtype=np.int64)
    return slot


def _minimum(pf: Portfolio, owed: np.ndarray, policy: Policy, max_term: int) -> Slot | None:
    mp = policy.minimum_payment
    if not mp.enabled:
        return None
    size = len(owed)
    valid = ~pf.active
    first = np.minimum(pf.minimum, owed)
    carried = pf.penalty + pf.interest
    paid_fees = np.minimum(first, carried)
    carried = carried - paid_fees
    principal = pf.principal - (first - paid_fees)
    matrix = np.zeros((size, max_term + 1), dtype=np.int64)
    matrix[:, 0] = first
    count = (first > 0).astype(np.int64)
    for month in range(1, max_term + 1):
        open_ = valid & (principal + carried > 0)
        if not open_.any():
            break
        valid &= ~(open_ & (count >= max_term))
        open_ &= valid
        interest = _half_up(principal * mp.revolving_annual_ppm, 12 * PPM)
        due = _ppm(principal, mp.principal_share_ppm) + interest + carried
        pay = np.minimum(principal + interest + carried, np.maximum(due, mp.floor_amount))
        principal = np.where(open_, principal - (pay - interest - carried), principal)
        carried = np.where(open_, 0, carried)
        matrix[:, month] = np.where(open_, pay, 0)
        count += open_
    valid &= principal + carried == 0
    total = matrix.sum(axis=1)
    return Slot(
        type="minimum_payment",
        valid=valid,
        monthly=matrix.max(axis=1),
        total=total,
        months=count,
        approval=np.zeros(size, dtype=bool),
        start=np.zeros(size, dtype=np.int64),
        n=count,
        level=np.zeros(size, dtype=np.int64),
        last=np.zeros(size, dtype=np.int64),
        term=count,
        grace=np.zeros(size, dtype=np.int64),
        matrix=matrix,
    )


def _deferral(
    pf: Portfolio,
    owed: np.ndarray,
    fee_base: np.ndarray,
    has: np.ndarray,
    aff: np.ndarray,
    policy: Policy,
    max_term: int,
) -> Slot | None:
    d = policy.deferral
    if not d.enabled or not d.repay_terms:
        return None
    table = np.array([d.grace_months.get(r, 0) for r in HARDSHIP_REASONS] + [0], dtype=np.int64)
    grace = table[pf.reason]  # reason -1 picks the trailing 0
    known = pf.recovery >= 0
    grace = np.where(known, np.minimum(grace, pf.recovery), grace)
    ok = has & ~pf.active & (owed >= d.min_amount) & (grace > 0)
    if d.require_expected_recovery:
        ok &= known
    fee = _ppm(fee_base, d.monthly_rate_ppm)
    chosen: Slot | None = None
    found = np.zeros(len(owed), dtype=bool)
    for months in d.repay_terms:
        cand = _level(
            "deferral",
            ok & (grace + months <= max_term),
            owed,
            months,
            fee,
            grace + 1,
            d.requires_approval,
        )
        cand.grace = grace.copy()
        chosen = _pick(chosen, cand, cand.valid & ~found)
        found |= cand.valid & (cand.monthly <= aff)
    return chosen


def _waiver(
    pf: Portfolio, owed: np.ndarray, has: np.ndarray, aff: np.ndarray, policy: Policy
) -> Slot | None:
    w = policy.waiver
    if not w.enabled:
        return None
    eligible = np.isin(pf.reason, [HARDSHIP_REASONS.index(r) for r in w.eligible_reasons])
    ok = has & eligible & (pf.overdue >= w.min_overdue_days) & (pf.penalty + pf.interest > 0)
    wp_a, wi_a = _ppm(pf.penalty, w.auto_penalty_ppm), _ppm(pf.interest, w.auto_interest_ppm)
    wp_b, wi_b = (
        _ppm(pf.penalty, w.approval_penalty_ppm),
        _ppm(pf.interest, w.approval_interest_ppm),
    )
    levels = (
        (wp_a + wi_a, ok & (wp_a + wi_a > 0), wp_a + wi_a > w.auto_max_amount),
        (wp_b + wi_b, ok & (wp_b + wi_b > 0) & ((wp_b != wp_a) | (wi_b != wi_a)), True),
    )
    chosen: Slot | None = None
    found = np.zeros(len(owed), dtype=bool)
    for waived, level_ok, approval in levels:
        for months in sorted(set(w.settle_terms) | {1}):
            allowed = np.where(pf.active, months == 1, months in w.settle_terms)
            cand = _level(
                "waiver",
                level_ok & allowed,
                owed - waived,
                months,
                np.zeros_like(owed),
                1,
                approval,
            )
            chosen = _pick(chosen, cand, cand.valid & ~found)
            found |= cand.valid & (cand.monthly <= aff)
    return chosen


@dataclass
class _Best:
    slot: np.ndarray
    type_index: np.ndarray
    term: np.ndarray
    grace: np.ndarray
    months: np.ndarray
    monthly: np.ndarray
    total: np.ndarray
    approval: np.ndarray


def _best(slots: list[Slot], has: np.ndarray, aff: np.ndarray) -> _Best:
    """Lexicographic minimum of propose.rank_key over the slots (invalid slots last)."""
    keys = []
    for slot in slots:
        unaff = (has & (slot.monthly > aff)).astype(np.int64)
        keys.append(
            (
                (~slot.valid).astype(np.int64),
                unaff,
                slot.monthly * unaff,  # unaffordable ones: the closest to fitting first
                slot.total,  # cost = total - owed: same order per account
                slot.months,
                slot.approval.astype(np.int64),
                slot.monthly,
                np.full(len(has), TYPE_RANK[slot.type], dtype=np.int64),
            )
        )
    best = np.zeros(len(has), dtype=np.int64)
    best_key = [k.copy() for k in keys[0]]
    for index in range(1, len(slots)):
        less = np.zeros(len(has), dtype=bool)
        equal = np.ones(len(has), dtype=bool)
        for new, old in zip(keys[index], best_key, strict=True):
            less |= equal & (new < old)
            equal &= new == old
        best[less] = index
        for new, old in zip(keys[index], best_key, strict=True):
            old[less] = new[less]

    def gather(name: str) -> np.ndarray:
        out = np.zeros(len(has), dtype=getattr(slots[0], name).dtype)
        for index, slot in enumerate(slots):
            mask = best == index
            out[mask] = getattr(slot, name)[mask]
        return out

    return _Best(
        slot=best,
        type_index=np.array([TYPES.index(s.type) for s in slots], dtype=np.int64)[best],
        term=gather("term"),
        grace=gather("grace"),
        months=gather("months"),
        monthly=gather("monthly"),
        total=gather("total"),
        approval=gather("approval"),
    )


def _inflow(slots: list[Slot], best: np.ndarray, counted: np.ndarray, max_term: int) -> np.ndarray:
    """Cents due per month offset if every non-escalated account follows its first option."""
    size = max_term + 2
    inflow = np.zeros(size, dtype=np.float64)
    for index, slot in enumerate(slots):
        mask = counted & (best == index)
        if not mask.any():
            continue
        if slot.matrix is not None:
            inflow[: slot.matrix.shape[1]] += slot.matrix[mask].sum(axis=0)
            continue
        start, n = slot.start[mask], slot.n[mask]
        level, last = slot.level[mask].astype(np.float64), slot.last[mask].astype(np.float64)
        end = start + n - 1
        diff = np.bincount(start, weights=level, minlength=size) - np.bincount(
            end, weights=level, minlength=size
        )
        inflow += np.cumsum(diff)[:size] + np.bincount(end, weights=last, minlength=size)
    return inflow[: max_term + 1].round().astype(np.int64)
