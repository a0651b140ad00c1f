"""Every invalid case gives one clear error naming the field; the CLI fails without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.plans import PlanError, propose

from .conftest import BASE_CASE, assert_clean_failure, run_cli


def _edit(path: str, value: object) -> dict:
    """The base case with the dotted `path` set to value (or removed when value is ...)."""
    case = json.loads(json.dumps(BASE_CASE))
    *parents, key = path.split(".")
    target = case
    for parent in parents:
        target = target[parent]
    if value is ...:
        del target[key]
    else:
        target[key] = value
    return case


BAD_CASES = [
    ("account", ..., "account"),
    ("account", [1, 2], "account"),
    ("account.principal", ..., "account.principal"),
    ("account.principal", -1, "account.principal"),
    ("account.interest", "lots", "account.interest"),
    ("account.penalty", True, "account.penalty"),
    ("account.penalty", None, "account.penalty"),
    ("account.minimum_payment", ..., "account.minimum_payment"),
    ("account.minimum_payment", 999999, "account.minimum_payment"),
    ("account.overdue_days", -3, "account.overdue_days"),
    ("account.overdue_days", 4.5, "account.overdue_days"),
    ("account.overdue_days", ..., "account.overdue_days"),
    ("account.has_active_installment", ..., "account.has_active_installment"),
    ("account.has_active_installment", "no", "account.has_active_installment"),
    ("hardship", "jobless", "hardship"),
    ("hardship.reason", "lottery", "hardship.reason"),
    ("hardship.reason", ..., "hardship.reason"),
    ("hardship.monthly_income", ..., "hardship.monthly_income"),
    ("hardship.monthly_income", -4500, "hardship.monthly_income"),
    ("hardship.monthly_expenses", "3k", "hardship.monthly_expenses"),
    ("hardship.other_debt_payments", -1, "hardship.other_debt_payments"),
    ("hardship.dependents", -1, "hardship.dependents"),
    ("hardship.expected_recovery_months", "soon", "hardship.expected_recovery_months"),
    ("as_of", "2026-02-30", "as_of"),
    ("hardhsip", {}, "hardhsip"),
]


@pytest.mark.parametrize(("path", "value", "field"), BAD_CASES)
def test_bad_case_names_the_field(policy, path: str, value: object, field: str) -> None:
    with pytest.raises(PlanError) as info:
        propose(_edit(path, value), policy)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: ")


def test_nothing_owed_is_rejected(policy) -> None:
    case = _edit("account", dict(BASE_CASE["account"], principal=0, interest=0, penalty=0))
    case["account"]["minimum_payment"] = 0
    with pytest.raises(PlanError, match="nothing is owed"):
        propose(case, policy)


def test_bad_as_of_argument(policy) -> None:
    with pytest.raises(PlanError) as info:
        propose(BASE_CASE, policy, as_of="22/11/2026")
    assert info.value.field == "as_of"


def test_extra_account_fields_are_ignored(policy) -> None:
    """A stored account record (account_id, credit_limit, ...) can be passed as it is."""
    case = _edit("account.credit_limit", 40000)
    case["account"]["account_id"] = "CC-0001"
    assert propose(case, policy) == propose(BASE_CASE, policy)


def test_numeric_strings_are_accepted(policy) -> None:
    """NLU entity values may arrive as strings ("amount: string or number")."""
    case = _edit("hardship.monthly_income", "4500")
    case["account"]["principal"] = "35000.00"
    assert propose(case, policy) == propose(BASE_CASE, policy)


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("account.principal", -35000, "account.principal"),
        ("hardship.reason", "lottery", "hardship.reason"),
        ("account.overdue_days", ..., "account.overdue_days"),
    ],
)
def test_cli_bad_case(tmp_path: Path, path: str, value: object, field: str) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(_edit(path, value)), encoding="utf-8")
    proc = run_cli("propose", "--case", str(case_file))
    assert_clean_failure(proc, field)
    assert len(proc.stderr.strip().splitlines()) == 1


def test_cli_malformed_json_names_line(tmp_path: Path) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text('{\n  "account": {\n    "principal": 35000,,\n', encoding="utf-8")
    assert_clean_failure(
        run_cli("propose", "--case", str(case_file)), f"{case_file}:3", "malformed JSON"
    )


def test_cli_missing_case_file(tmp_path: Path) -> None:
    proc = run_cli("propose", "--case", str(tmp_path / "none.json"))
    assert_clean_failure(proc, "not found")


def test_cli_bad_as_of(tmp_path: Path) -> None:
    case_file = tmp_path / "case.json"
    case_file.write_text(json.dumps(BASE_CASE), encoding="utf-8")
    assert_clean_failure(
        run_cli("propose", "--case", str(case_file), "--as-of", "tomorrow"), "as_of"
    )


def test_cli_usage_error_has_no_traceback() -> None:
    proc = run_cli("propose")
    assert proc.returncode == 2
    assert "--case" in proc.stderr
    assert "Traceback" not in proc.stderr
