"""Golden proposals for the five demo accounts (as_of 2026-11-22), checked by hand once.

Regenerate after a deliberate change with PLANS_REGEN_GOLDEN=1 and review the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from bot.plans import propose

from .conftest import ROOT, run_cli

GOLDEN = Path(__file__).parent / "golden"
ACCOUNTS = ("CC-0001", "CC-0002", "CC-0003", "CC-0004", "CC-0005")
DAYS_SINCE_DEMO_AS_OF = 2  # demo balances struck 2026-11-20; overdue days grow day by day


def _load(name: str) -> dict:
    return json.loads((GOLDEN / name).read_text(encoding="utf-8"))


@pytest.mark.parametrize("account_id", ACCOUNTS)
def test_golden(policy, account_id: str) -> None:
    case = _load(f"{account_id}.case.json")
    result = propose(case, policy)
    expected_path = GOLDEN / f"{account_id}.expected.json"
    if os.environ.get("PLANS_REGEN_GOLDEN"):
        expected_path.write_text(
            json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    assert result == json.loads(expected_path.read_text(encoding="utf-8"))


def test_golden_cases_match_demo_accounts() -> None:
    demo = yaml.safe_load((ROOT / "data" / "demo" / "demo_accounts.yml").read_text("utf-8"))
    for record in demo["accounts"]:
        account = _load(f"{record['account_id']}.case.json")["account"]
        for key, value in account.items():
            if key == "overdue_days":
                assert value == record[key] + DAYS_SINCE_DEMO_AS_OF
            else:
                assert value == record[key], (record["account_id"], key)


def test_golden_summary() -> None:
    """The hand-checked gist of each golden file, so a regeneration cannot silently change it."""
    first = {a: _load(f"{a}.expected.json") for a in ACCOUNTS}
    summary = {
        a: (r["options"][0]["id"], r["options"][0]["affordable"], r["escalate"])
        for a, r in first.items()
    }
    assert summary == {
        "CC-0001": ("pers-60", True, False),  # unemployed: 618.93/month fits 700
        "CC-0002": ("inst-6", True, False),  # income drop: 1412.67/month fits 1750
        # ill, income below spending: specialist; the lightest monthly payment first
        "CC-0003": ("pers-60", False, True),
        "CC-0004": ("full", None, False),  # 2 days late, no hardship: pay 2503.75
        "CC-0005": ("pers-36", True, False),  # already on installments: art. 70 only
    }


def test_cli_matches_library() -> None:
    proc = run_cli("propose", "--case", str(GOLDEN / "CC-0001.case.json"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == _load("CC-0001.expected.json")
