"""Proposals: contract shape, affordability, escalation, regulatory guards, ranking, dates."""

from __future__ import annotations

import json
from datetime import date

import pytest

from bot.plans import propose
from bot.plans.money import months_between
from bot.plans.policy import parse_policy

from .conftest import rank_keys

CONTRACT_KEYS = {
    "id",
    "type",
    "months",
    "financed_amount",
    "monthly_payment",
    "total_payment",
    "total_cost",
    "apr",
    "first_due_date",
    "requires_approval",
    "affordable",
    "schedule",
    "explanation",
}
TYPES = {
    "full_payment",
    "minimum_payment",
    "installment",
    "personalized_installment",
    "deferral",
    "waiver",
}


def test_contract_shape(policy, case) -> None:
    result = propose(case, policy)
    assert {"affordable_monthly", "escalate", "escalation_reason", "options"} <= set(result)
    assert result["affordable_monthly"] == 700.0  # (4500 - 3000 - 500) × 70 %, as in the contract
    assert result["escalate"] is False and result["escalation_reason"] is None
    assert 2 <= len(result["options"]) <= 4
    for option in result["options"]:
        assert CONTRACT_KEYS <= set(option)
        assert option["type"] in TYPES
        assert option["first_due_date"] == option["schedule"][0]["due_date"]
        assert [s["n"] for s in option["schedule"]] == list(range(1, len(option["schedule"]) + 1))
        assert option["title"] and option["explanation"]
    json.dumps(result)  # plain JSON types only


def test_unemployed_cardholder_gets_art70_plan_first(policy, case) -> None:
    """35k owed, 700/month affordable: only a 60-month interest-free art. 70 plan fits."""
    first = propose(case, policy)["options"][0]
    assert first["id"] == "pers-60"
    assert first["affordable"] is True
    assert first["requires_approval"] is True
    assert first["monthly_payment"] <= 700
    assert first["total_cost"] == 0 and first["apr"] == 0
    assert "第七十条" in first["explanation"]
    assert "停止催收" in first["explanation"]
    assert "5年" in first["explanation"]


def test_without_hardship_affordability_is_null(policy, case) -> None:
    del case["hardship"]
    result = propose(case, policy)
    assert result["affordable_monthly"] is None
    assert result["escalate"] is False
    assert all(o["affordable"] is None for o in result["options"])
    types = [o["type"] for o in result["options"]]
    # no hardship statement: no waiver, deferral or art. 70 plan offered automatically
    assert not {"waiver", "deferral", "personalized_installment"} & set(types)


def test_income_below_expenses_escalates(policy, case) -> None:
    case["hardship"].update(monthly_income=2000, monthly_expenses=3000)
    result = propose(case, policy)
    assert result["escalate"] is True
    assert result["escalation_code"] == "income_below_expenses"
    assert "专员" in result["escalation_reason"]
    assert result["affordable_monthly"] == 0
    assert all(o["requires_approval"] for o in result["options"])
    assert all(o["affordable"] is False for o in result["options"])


def test_disposable_below_floor_escalates(policy, case) -> None:
    case["hardship"].update(monthly_income=3600, monthly_expenses=3000, other_debt_payments=200)
    result = propose(case, policy)  # 400 × 70 % = 280 < floor 300
    assert result["affordable_monthly"] == 280.0
    assert result["escalate"] is True
    assert result["escalation_code"] == "below_floor"
    assert "300.00" in result["escalation_reason"]
    assert all(o["requires_approval"] for o in result["options"])


def test_no_affordable_option_escalates(policy, case) -> None:
    case["account"].update(principal=200000, minimum_payment=24000)
    result = propose(case, policy)  # 60 months of 200k is far above 700/month
    assert result["escalate"] is True
    assert result["escalation_code"] == "no_affordable_option"
    assert all(o["affordable"] is False for o in result["options"])


def test_active_installment_only_art70_plan(policy, case) -> None:
    """2022 notice: no re-installment (except art. 70) and no minimum payment on such balances."""
    case["account"]["has_active_installment"] = True
    case["account"]["overdue_days"] = 95
    result = propose(case, policy)
    types = {o["type"] for o in result["options"]}
    assert "personalized_installment" in types
    assert not types & {"installment", "minimum_payment", "deferral"}
    for option in result["options"]:
        if option["type"] == "waiver":
            assert option["months"] == 1  # a lump-sum settlement, not a new installment
        if option["type"] == "personalized_installment":
            assert option["requires_approval"] is True


def test_active_installment_without_hardship_still_offers_art70(policy, case) -> None:
    case["account"]["has_active_installment"] = True
    del case["hardship"]
    result = propose(case, policy)
    types = [o["type"] for o in result["options"]]
    assert types[0] == "full_payment"
    assert "personalized_installment" in types
    assert not {"installment", "minimum_payment"} & set(types)


def test_installment_cost_shown_as_interest_with_apr(policy, case) -> None:
    del case["hardship"]
    for option in propose(case, policy)["options"]:
        if option["total_cost"] > 0:
            assert option["apr"] > 0
            assert "利息" in option["explanation"]
            assert f"年化利率约 {option['apr'] * 100:.2f}%" in option["explanation"]
        assert "人工" in option["explanation"]  # PIPL art. 24: a human can review


def test_apr_of_12_month_installment_via_policy(policy_text: str, case) -> None:
    """0.6 %/month over 12 months ≈ 13.0 %, 0.75 % ≈ 16.2 % (no penalty, so no fee-free part)."""
    case["account"].update(penalty=0, overdue_days=10)
    del case["hardship"]
    for rate, expected in (("0.0060", 0.130), ("0.0075", 0.162)):
        text = policy_text.replace("    12: 0.0066", f"    12: {rate}")
        option = next(o for o in _all_installments(parse_policy(text), case) if o["months"] == 12)
        assert option["apr"] == pytest.approx(expected, abs=0.0006)


def _all_installments(policy, case) -> list[dict]:
    from bot.plans.case import parse_case
    from bot.plans.products import installments
    from bot.plans.propose import render

    acc = parse_case(case).account
    return [render(c, date(2026, 11, 22), None, False, policy) for c in installments(acc, policy)]


def test_no_fee_on_penalty(policy, case) -> None:
    """PBoC 2016: no interest on penalties. Fees are charged on principal + interest only."""
    del case["hardship"]
    with_penalty = {o["id"]: o for o in _all_installments(policy, case)}
    case["account"]["penalty"] = 0
    without = {o["id"]: o for o in _all_installments(policy, case)}
    for key, option in with_penalty.items():
        assert option["total_cost"] == without[key]["total_cost"]


def test_full_payment_incentive(policy, case) -> None:
    del case["hardship"]
    full = next(o for o in propose(case, policy)["options"] if o["type"] == "full_payment")
    assert full["waived_amount"] == 437.5  # half of the 875 penalty
    assert full["total_payment"] == 37135.5 - 437.5
    assert full["total_cost"] == -437.5
    assert full["first_due_date"] == "2026-11-29"  # within 7 days
    assert "437.50" in full["explanation"]


def test_deferral_follows_expected_recovery(policy, case) -> None:
    """Illness with a known recovery: grace months, then affordable installments."""
    case["hardship"].update(
        reason="illness", monthly_income=9000, monthly_expenses=4000, expected_recovery_months=2
    )
    case["account"].update(principal=30000, interest=0, penalty=0, minimum_payment=3000)
    result = propose(case, policy)
    from bot.plans.case import parse_case
    from bot.plans.products import deferral
    from bot.plans.propose import affordable_monthly

    parsed = parse_case(case)
    aff = affordable_monthly(parsed.hardship, policy)
    cand = deferral(parsed.account, parsed.hardship, aff, policy)
    assert cand is not None
    assert cand.grace_months == 2  # min(policy's 3 for illness, 2 expected)
    assert cand.payments[0][0] == 3  # first payment after the grace months
    assert result["options"][0]["affordable"] is True
    case["hardship"]["expected_recovery_months"] = None
    parsed = parse_case(case)
    assert deferral(parsed.account, parsed.hardship, aff, policy) is None


def test_month_end_due_dates(policy, case) -> None:
    del case["hardship"]
    result = propose(case, policy, as_of="2027-01-31")
    option = next(o for o in result["options"] if o["type"] == "installment")
    dates = [s["due_date"] for s in option["schedule"]]
    assert dates[:3] == ["2027-02-28", "2027-03-31", "2027-04-30"]


def test_as_of_defaults_to_bot_today(policy, case, monkeypatch) -> None:
    del case["as_of"]
    monkeypatch.setenv("BOT_TODAY", "2027-03-05")
    result = propose(case, policy)
    assert result["as_of"] == "2027-03-05"
    assert propose(case, policy, as_of="2026-11-22") == propose(
        dict(case, as_of="2026-11-22"), policy
    )


def test_determinism(policy, case) -> None:
    first = json.dumps(propose(case, policy), ensure_ascii=False)
    assert all(json.dumps(propose(case, policy), ensure_ascii=False) == first for _ in range(3))


def test_ranking_rule(policy, case) -> None:
    """Affordable before unaffordable (those by the lowest monthly payment), then lowest total
    cost, then shortest term."""
    for hardship in (case["hardship"], None):
        variant = dict(case, hardship=hardship) if hardship else {"account": case["account"]}
        options = propose(variant, policy, as_of="2026-11-22")["options"]
        keys = rank_keys(options)
        assert keys == sorted(keys)


def test_no_useless_padding(policy, case) -> None:
    """Never two unaffordable options of one product, and never a dominated one."""
    case["account"].update(principal=90000, minimum_payment=11000)
    options = propose(case, policy)["options"]
    unaffordable = [o["type"] for o in options if o["affordable"] is False]
    assert len(unaffordable) == len(set(unaffordable))
    for a in options:
        for b in options:
            if a is not b:
                dominated = (
                    a["monthly_payment"] <= b["monthly_payment"]
                    and a["total_cost"] <= b["total_cost"]
                    and a["months"] <= b["months"]
                    and a["requires_approval"] <= b["requires_approval"]
                    and (a["monthly_payment"], a["total_cost"], a["months"])
                    != (b["monthly_payment"], b["total_cost"], b["months"])
                )
                assert not dominated, (a["id"], b["id"])


def test_minimum_payment_projection(policy, case) -> None:
    from bot.plans.case import parse_case
    from bot.plans.products import minimum_payment

    acc = parse_case(case).account
    cand = minimum_payment(acc, policy)
    assert cand is not None
    assert cand.payments[0] == (0, 440000)  # the statement's minimum first
    assert cand.months <= 60
    assert cand.cost > 0  # the rest revolves at the card rate
    months = [m for m, _ in cand.payments]
    assert months == list(range(len(months)))
    huge = parse_case(
        {"account": dict(case["account"], principal=5_000_000, minimum_payment=500_000)}
    ).account
    assert minimum_payment(huge, policy) is None  # would take more than 60 months


def test_schedule_dates_are_monthly(policy, case) -> None:
    as_of = date(2026, 11, 22)
    for option in propose(case, policy)["options"]:
        offsets = [
            months_between(as_of, date.fromisoformat(s["due_date"])) for s in option["schedule"]
        ]
        if option["type"] == "full_payment":
            assert offsets == [0]
        else:
            assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)
            assert max(offsets) <= 60


def test_the_cardholders_own_monthly_figure_is_what_fits(policy, case) -> None:
    """A counter-offer ("每月最多只能还500") replaces the estimate: options are judged against
    the cardholder's own figure, and nothing fitting within policy escalates."""
    generous = dict(case, hardship={**case["hardship"], "max_monthly_payment": 5000})
    result = propose(generous, policy, as_of="2026-11-22")
    assert result["affordable_monthly"] == 5000
    assert all(o["affordable"] == (o["monthly_payment"] <= 5000) for o in result["options"])
    tight = dict(case, hardship={**case["hardship"], "max_monthly_payment": 50})
    result = propose(tight, policy, as_of="2026-11-22")
    assert result["affordable_monthly"] == 50
    assert result["escalate"] is True
    assert not any(o["affordable"] for o in result["options"])
    monthly = [o["monthly_payment"] for o in result["options"]]
    assert monthly == sorted(monthly)  # the closest to fitting first


def test_a_counter_proposal_is_an_application_of_the_cardholders_figure() -> None:
    from datetime import date

    from bot.plans.counter import counter_proposal

    option = counter_proposal(36698, 500, date(2026, 11, 22))
    assert option["requires_approval"] is True
    assert option["months"] == 74 and option["beyond_term_limit"] is True
    amounts = [s["amount"] for s in option["schedule"]]
    assert len(amounts) == 74 and round(sum(amounts), 2) == 36698
    assert amounts[0] == 500 and amounts[-1] == 198
    assert "500.00" in option["explanation"] and "36,698.00" in option["explanation"]
    within = counter_proposal(12000, 1000, date(2026, 11, 22))
    assert within["months"] == 12 and within["beyond_term_limit"] is False
