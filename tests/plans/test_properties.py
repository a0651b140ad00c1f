"""Properties over random cases (hypothesis): money adds up, APR is the schedule's IRR, terms stay
within 60 months, affordability is respected, guards hold, ranking is ordered, output is stable."""

from __future__ import annotations

import json
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.contract import HARDSHIP_REASONS
from bot.plans import propose
from bot.plans.money import add_months

from .conftest import cents, rank_keys

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

money = st.integers(min_value=0, max_value=50_000_000).map(lambda c: c / 100)


@st.composite
def cases(draw: st.DrawFn) -> dict:
    principal = draw(st.integers(min_value=100, max_value=100_000_000)) / 100
    interest = draw(st.integers(min_value=0, max_value=3_000_000)) / 100
    penalty = draw(st.integers(min_value=0, max_value=500_000)) / 100
    owed_cents = round((principal + interest + penalty) * 100)
    minimum = draw(st.integers(min_value=0, max_value=owed_cents)) / 100
    case: dict = {
        "account": {
            "principal": principal,
            "interest": interest,
            "penalty": penalty,
            "minimum_payment": minimum,
            "overdue_days": draw(st.integers(min_value=0, max_value=720)),
            "has_active_installment": draw(st.booleans()),
        },
        "as_of": draw(
            st.dates(min_value=date(2025, 1, 1), max_value=date(2030, 12, 31))
        ).isoformat(),
    }
    if draw(st.booleans()):
        case["hardship"] = {
            "reason": draw(st.sampled_from(HARDSHIP_REASONS)),
            "monthly_income": draw(money),
            "monthly_expenses": draw(money),
            "other_debt_payments": draw(money),
            "dependents": draw(st.integers(min_value=0, max_value=5)),
            "expected_recovery_months": draw(st.none() | st.integers(min_value=0, max_value=24)),
        }
    return case


def npv(rate: float, financed: float, flows: list[tuple[int, float]]) -> float:
    return sum(a / (1 + rate) ** t for t, a in flows) - financed


def irr_by_bisection(financed: float, flows: list[tuple[int, float]]) -> float:
    """Independent of the engine's Newton solver."""
    lo, hi = 0.0, 1.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if npv(mid, financed, flows) > 0:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def whole_months(as_of: date, due: str) -> int:
    """Whole months from as_of to a due date (a payment due within days is month 0)."""
    when, k = date.fromisoformat(due), 0
    while add_months(as_of, k + 1) <= when:
        k += 1
    return k


@SETTINGS
@given(case=cases())
def test_option_invariants(policy, case: dict) -> None:
    result = propose(case, policy)
    as_of = date.fromisoformat(case["as_of"])
    options = result["options"]
    aff = result["affordable_monthly"]
    assert 1 <= len(options) <= policy.max_options
    assert len({o["id"] for o in options}) == len(options)
    active = case["account"]["has_active_installment"]
    for o in options:
        amounts = [cents(s["amount"]) for s in o["schedule"]]
        # money adds up, to the cent
        assert sum(amounts) == cents(o["total_payment"])
        assert cents(o["total_cost"]) == cents(o["total_payment"]) - cents(o["financed_amount"])
        assert cents(o["monthly_payment"]) == max(amounts)
        assert all(a > 0 for a in amounts)
        assert cents(o["waived_amount"]) == -min(0, cents(o["total_cost"]))
        # never beyond 60 months
        offsets = [whole_months(as_of, s["due_date"]) for s in o["schedule"]]
        assert o["months"] <= 60 and max(offsets) <= 60 and len(amounts) <= 60
        # APR recomputed from the schedule (monthly IRR × 12)
        if o["total_cost"] > 0:
            flows = list(zip(offsets, [a / 100 for a in amounts], strict=True))
            expected = irr_by_bisection(o["financed_amount"], flows) * 12
            assert abs(o["apr"] - expected) <= 0.00006
            assert "年化利率" in o["explanation"]
        else:
            assert o["apr"] == 0
        # affordability respected
        if aff is None:
            assert o["affordable"] is None
        else:
            assert o["affordable"] == (o["monthly_payment"] <= aff)
        # regulatory guards
        if o["type"] == "personalized_installment" or result["escalate"]:
            assert o["requires_approval"] is True
        if active:
            assert o["type"] not in ("installment", "minimum_payment", "deferral")
            if o["type"] == "waiver":
                assert o["months"] == 1
        assert "人工" in o["explanation"]
    # ranking: affordable first, unaffordable by the lightest monthly payment, then lowest
    # cost, then shortest term
    keys = rank_keys(options)
    assert keys == sorted(keys)
    # escalation when nothing fits
    if aff is not None:
        fits = any(o["affordable"] for o in options)
        assert result["escalate"] == (not fits or aff < policy.affordability.floor / 100)
        assert (result["escalation_reason"] is not None) == result["escalate"]
    else:
        assert result["escalate"] is False


@SETTINGS
@given(case=cases())
def test_deterministic(policy, case: dict) -> None:
    once = json.dumps(propose(case, policy), ensure_ascii=False, sort_keys=True)
    assert json.dumps(propose(case, policy), ensure_ascii=False, sort_keys=True) == once
