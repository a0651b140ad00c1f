"""Policy loading: the default file is valid; every bad policy names file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.plans import DEFAULT_POLICY_PATH, PolicyError, load_policy
from bot.plans.policy import MAX_TERM_MONTHS, REGULATORY_FIXED, parse_policy

from .conftest import assert_clean_failure, run_cli


def test_default_policy_loads(policy) -> None:
    assert DEFAULT_POLICY_PATH.name == "plans.yml"
    assert policy.max_term_months == MAX_TERM_MONTHS
    assert [m for m, _ in policy.installment.rates] == [3, 6, 12, 24, 36]
    # typical statement-installment fees are 0.6 %-0.75 % a month (regulation.md)
    assert all(6000 <= rate <= 7500 for _, rate in policy.installment.rates)
    assert max(policy.personalized.terms) == 60
    assert policy.personalized.requires_approval is True
    assert policy.affordability.share_ppm == 700_000
    assert 2 <= policy.max_options <= 4


def mutate(text: str, old: str, new: str) -> tuple[str, int]:
    """Replace the one occurrence of `old`; return the new text and the 1-based line it is on."""
    assert text.count(old) == 1, old
    index = text.index(old)
    return text.replace(old, new), text[:index].count("\n") + 1


BAD_POLICIES = [
    # (old, new, field named in the error, extra text expected in the message)
    ("    36: 0.0060", "    72: 0.0060", "installment.monthly_fee_rates.72", "60 months"),
    (
        "  terms: [12, 24, 36, 48, 60]",
        "  terms: [12, 24, 72]",
        "personalized_installment.terms",
        "72",
    ),
    ("  max_term_months: 60", "  max_term_months: 84", "regulatory.max_term_months", "60"),
    (
        "  requires_approval: true       # [regulation] cannot be false",
        "  requires_approval: false",
        "personalized_installment.requires_approval",
        "approval",
    ),
    (
        "  max_overdue_days: 90 ",
        "  allow_with_active_installment: true\n  max_overdue_days: 90 ",
        "installment.allow_with_active_installment",
        "regulatory guard",
    ),
    (
        "  pay_within_days: 7            # due date of the single",
        "  enabled: false\n  pay_within_days: 7  #",
        "full_payment.enabled",
        "cannot be disabled",
    ),
    (
        "  share_of_disposable: 0.7 ",
        "  share_of_disposible: 0.7 ",
        "affordability.share_of_disposible",
        "unknown field",
    ),
    (
        "  share_of_disposable: 0.7 ",
        "  share_of_disposable: 1.7 ",
        "affordability.share_of_disposable",
        "between",
    ),
    (
        "  share_of_disposable: 0.7 ",
        "  share_of_disposable: 0.0 ",
        "affordability.share_of_disposable",
        "above 0",
    ),
    ("  floor: 300 ", "  floor: -300 ", "affordability.floor", "between"),
    ("  floor: 300 ", "  floor: lots ", "affordability.floor", "a number"),
    (
        "    12: 0.0066",
        "    12: 0.00661234",
        "installment.monthly_fee_rates.12",
        "6 decimal places",
    ),
    (
        "    12: 0.0066",
        "    12: 0.0066\n    12: 0.0070",
        "installment.monthly_fee_rates.12",
        "duplicate",
    ),
    (
        "  min_overdue_days: 60 ",
        "  min_overdue_days: 60\n  min_overdue_days: 30 ",
        "waiver.min_overdue_days",
        "duplicate",
    ),
    (
        "                     other_debts, disaster]",
        "                     other_debts, lottery]",
        "personalized_installment.eligible_reasons",
        "lottery",
    ),
    (
        "    illness: 3 ",
        "    illnes: 3 ",
        "deferral.grace_months.illnes",
        "unknown hardship reason",
    ),
    ("  repay_terms: [12, 24] ", "  repay_terms: [55, 58] ", "deferral.repay_terms", "60 months"),
    (
        "    penalty_share: 1.0 ",
        "    penalty_share: 0.2 ",
        "waiver.with_approval.penalty_share",
        "contradicts",
    ),
    (
        "  monthly_rate: 0.0    ",
        "  monthly_rate: 0.01   ",
        "personalized_installment.monthly_rate",
        "interest_frozen",
    ),
    ("  repay_terms: [12, 24] ", "  repay_terms: [] ", "deferral.repay_terms", "non-empty"),
    (
        "  enabled: true\n  requires_approval: true       # [practice]",
        "  enabled: yes please\n  requires_approval: true  #",
        "deferral.enabled",
        "true or false",
    ),
    ("version: 1", "version: 2", "version", "between 1 and 1"),
]


@pytest.mark.parametrize(("old", "new", "field", "message"), BAD_POLICIES)
def test_bad_policy_names_line_and_field(
    policy_text: str, old: str, new: str, field: str, message: str
) -> None:
    text, line = mutate(policy_text, old, new)
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "plans.yml")
    matches = [p for p in info.value.problems if p.field == field]
    assert matches, str(info.value)
    problem = matches[0]
    assert message in problem.message
    assert problem.file == "plans.yml"
    # the line is the edited one (a duplicate key is reported on its second occurrence)
    assert problem.line in (line, line + 1), (problem, line)
    assert str(problem).startswith(f"plans.yml:{problem.line}: {field}: ")


@pytest.mark.parametrize("flag", sorted(REGULATORY_FIXED))
def test_regulatory_guards_cannot_be_switched_off(policy_text: str, flag: str) -> None:
    fixed = str(REGULATORY_FIXED[flag]).lower()
    flipped = "false" if fixed == "true" else "true"
    text, line = mutate(policy_text, f"  {flag}: {fixed}", f"  {flag}: {flipped}")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "plans.yml")
    [problem] = info.value.problems
    assert (problem.field, problem.line) == (f"regulatory.{flag}", line)
    assert "cannot be switched off" in problem.message


def test_regulatory_max_term_may_be_lowered(policy_text: str) -> None:
    text, _ = mutate(policy_text, "  max_term_months: 60", "  max_term_months: 48")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "plans.yml")
    # the personalized 60-month term now exceeds the bank's own maximum
    assert [p.field for p in info.value.problems] == ["personalized_installment.terms"]
    text = text.replace("[12, 24, 36, 48, 60]", "[12, 24, 36, 48]")
    assert parse_policy(text).max_term_months == 48


def test_all_problems_reported_at_once(policy_text: str) -> None:
    text, _ = mutate(policy_text, "    36: 0.0060", "    72: 0.0060")
    text, _ = mutate(text, "  floor: 300 ", "  floor: -1 ")
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "plans.yml")
    assert {p.field for p in info.value.problems} == {
        "installment.monthly_fee_rates.72",
        "affordability.floor",
    }


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("version: 1\naffordability: [1,\n", "malformed YAML", 3),
        ("", "empty", None),
        ("- a\n- b\n", "must be a mapping", 1),
        ("version: 1\n", "required field is missing", 1),
    ],
)
def test_structurally_bad_files(text: str, message: str, line: int | None) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.yml")
    assert message in str(info.value)
    assert info.value.problems[0].line == line


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="not found"):
        load_policy(tmp_path / "nope.yml")


def test_check_policy_cli_ok() -> None:
    proc = run_cli("check-policy", "policy/plans.yml")
    assert proc.returncode == 0, proc.stderr
    assert "OK" in proc.stdout


def test_check_policy_cli_reports_each_problem(policy_text: str, tmp_path: Path) -> None:
    text, line_term = mutate(policy_text, "    36: 0.0060", "    72: 0.0060")
    text, line_flag = mutate(text, "  interest_on_penalty: false", "  interest_on_penalty: true")
    path = tmp_path / "bank.yml"
    path.write_text(text, encoding="utf-8")
    proc = run_cli("check-policy", str(path))
    assert_clean_failure(
        proc,
        f"{path}:{line_term}: installment.monthly_fee_rates.72",
        f"{path}:{line_flag}: regulatory.interest_on_penalty",
    )
    assert len(proc.stderr.strip().splitlines()) == 2


def test_check_policy_cli_malformed_yaml(tmp_path: Path) -> None:
    path = tmp_path / "broken.yml"
    path.write_text("version: 1\nfull_payment: {pay_within_days: 7\n", encoding="utf-8")
    assert_clean_failure(run_cli("check-policy", str(path)), f"{path}:", "malformed YAML")


def test_propose_cli_rejects_bad_policy(policy_text: str, tmp_path: Path) -> None:
    text, line = mutate(policy_text, "  terms: [12, 24, 36, 48, 60]", "  terms: [12, 72]")
    path = tmp_path / "bank.yml"
    path.write_text(text, encoding="utf-8")
    case = Path(__file__).parent / "golden" / "CC-0001.case.json"
    proc = run_cli("propose", "--case", str(case), "--policy", str(path))
    assert_clean_failure(proc, f"{path}:{line}: personalized_installment.terms")


def test_four_eyes_is_read_and_checked(policy_text: str) -> None:
    assert parse_policy(policy_text).approval.four_eyes is True
    text, _ = mutate(policy_text, "  four_eyes: true", "  four_eyes: false")
    assert parse_policy(text).approval.four_eyes is False
    start = policy_text.index("approval:\n")
    end = policy_text.index("  four_eyes: true\n") + len("  four_eyes: true\n")
    without = policy_text[:start] + policy_text[end:]
    assert parse_policy(without).approval.four_eyes is False  # the block is optional
    for new, field, message in (
        ("  four_eyes: sometimes", "approval.four_eyes", "true or false"),
        ("  four_eye: true", "approval.four_eye", "unknown field"),
    ):
        text, line = mutate(policy_text, "  four_eyes: true", new)
        with pytest.raises(PolicyError) as info:
            parse_policy(text, "plans.yml")
        problems = [(p.field, p.line) for p in info.value.problems if message in p.message]
        assert problems == [(field, line)], str(info.value)
