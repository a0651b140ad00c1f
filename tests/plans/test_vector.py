"""The vectorised portfolio engine agrees with `propose` to the cent."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.plans import propose
from bot.plans.portfolio import COLUMNS, Portfolio, generate_portfolio, read_portfolio
from bot.plans.simulate import run_chunked
from bot.plans.vector import ESCALATION_CODES, TYPES, VectorResult, run

from .test_properties import cases

AS_OF = "2026-11-22"


def compare(pf: Portfolio, result: VectorResult, policy) -> list[tuple]:
    """Rows where the vectorised first option differs from propose's."""
    differences = []
    for i in range(len(pf)):
        out = propose(pf.case(i), policy, as_of=AS_OF)
        first = out["options"][0]
        aff = out["affordable_monthly"]
        expected = (
            first["id"],
            first["type"],
            round(first["monthly_payment"] * 100),
            round(first["total_payment"] * 100),
            round(first["financed_amount"] * 100),
            first["months"],
            first["affordable"],
            first["requires_approval"],
            out["escalate"],
            out["escalation_code"],
            None if aff is None else round(aff * 100),
        )
        got = (
            result.option_id(i),
            TYPES[result.type[i]],
            int(result.monthly[i]),
            int(result.total[i]),
            int(result.financed[i]),
            int(result.months[i]),
            None if result.affordable[i] < 0 else bool(result.affordable[i]),
            bool(result.requires_approval[i]),
            bool(result.escalate[i]),
            ESCALATION_CODES[result.escalation[i]],
            None if result.affordable_monthly[i] < 0 else int(result.affordable_monthly[i]),
        )
        if expected != got:
            differences.append((pf.rows[i]["account_id"], expected, got))
    return differences


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Portfolio:
    path = tmp_path_factory.mktemp("pf") / "portfolio.csv"
    generate_portfolio(1500, 3, path)
    return read_portfolio(path)


def test_agrees_on_generated_portfolio(policy, generated: Portfolio) -> None:
    assert compare(generated, run(generated, policy), policy) == []


def test_chunked_equals_whole(policy, generated: Portfolio, monkeypatch) -> None:
    import bot.plans.simulate as simulate

    whole = run(generated, policy)
    monkeypatch.setattr(simulate, "CHUNK", 400)
    chunked = run_chunked(generated, policy)
    for name in VectorResult.__dataclass_fields__:
        assert (getattr(whole, name) == getattr(chunked, name)).all(), name


def _row(i: int, case: dict) -> list[str]:
    acc, hs = case["account"], case.get("hardship")
    money = [f"{acc[k]:.2f}" for k in ("principal", "interest", "penalty", "minimum_payment")]
    hardship = ["", "", "", "", "", ""]
    if hs:
        recovery = hs["expected_recovery_months"]
        hardship = [
            hs["reason"],
            f"{hs['monthly_income']:.2f}",
            f"{hs['monthly_expenses']:.2f}",
            f"{hs['other_debt_payments']:.2f}",
            str(hs["dependents"]),
            "" if recovery is None else str(recovery),
        ]
    flag = "true" if acc["has_active_installment"] else "false"
    return [f"H-{i}", *money, str(acc["overdue_days"]), flag, *hardship]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(batch=st.lists(cases(), min_size=1, max_size=20))
def test_agrees_on_random_cases(policy, tmp_path: Path, batch: list[dict]) -> None:
    path = tmp_path / "random.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(_row(i, case) for i, case in enumerate(batch))
    pf = read_portfolio(path)
    assert compare(pf, run(pf, policy), policy) == []


def test_inflow_sums_the_first_options(policy, generated: Portfolio) -> None:
    """Inflow over all months = total payments of the non-escalated first options."""
    result = run(generated, policy)
    assert result.inflow.sum() == result.total[~result.escalate].sum()


VARIANT_EDITS = [
    ("  dependent_reserve: 0 ", "  dependent_reserve: 300 "),
    ("    enabled: true\n", "    enabled: false\n"),  # no full-payment incentive
    ("  only_when_ordinary_unaffordable: true", "  only_when_ordinary_unaffordable: false"),
    ("  interest_frozen: true ", "  interest_frozen: false "),
    ("  monthly_rate: 0.0    ", "  monthly_rate: 0.003  "),
    ("  require_expected_recovery: true", "  require_expected_recovery: false"),
    ("  settle_terms: [1, 3, 6]", "  settle_terms: [3, 12]"),
    ("  max_overdue_days: 90 ", "  max_overdue_days: 400 "),
]


@pytest.mark.parametrize("minimum_enabled", [True, False])
def test_agrees_under_another_policy(
    policy_text: str, generated: Portfolio, minimum_enabled
) -> None:
    """The two engines must agree for any valid policy, not only the default one."""
    from bot.plans.policy import parse_policy

    text = policy_text
    for old, new in VARIANT_EDITS:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    if not minimum_enabled:
        start = text.index("\nminimum_payment:\n")
        switch = text.index("  enabled: true", start)
        text = text[:switch] + "  enabled: false" + text[switch + len("  enabled: true") :]
    variant = parse_policy(text, "variant.yml")
    sample = generated.subset(list(range(0, len(generated), 3)))
    assert compare(sample, run(sample, variant), variant) == []
