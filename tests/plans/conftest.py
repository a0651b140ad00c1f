"""Shared fixtures for the plan-engine tests: the default policy, a base case, the CLI."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.plans import load_policy
from bot.plans.policy import DEFAULT_POLICY_PATH, Policy

ROOT = Path(__file__).resolve().parents[2]

BASE_CASE = {
    "account": {
        "principal": 35000,
        "interest": 1260.5,
        "penalty": 875,
        "minimum_payment": 4400,
        "overdue_days": 45,
        "has_active_installment": False,
    },
    "hardship": {
        "reason": "unemployment",
        "monthly_income": 4500,
        "monthly_expenses": 3000,
        "other_debt_payments": 500,
        "dependents": 1,
        "expected_recovery_months": 6,
    },
    "as_of": "2026-11-22",
}


@pytest.fixture(scope="session")
def policy() -> Policy:
    return load_policy()


@pytest.fixture(scope="session")
def policy_text() -> str:
    return DEFAULT_POLICY_PATH.read_text(encoding="utf-8")


@pytest.fixture
def case() -> dict:
    """A fresh copy of the contract's example case (mutate freely)."""
    return copy.deepcopy(BASE_CASE)


def run_cli(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run `python -m bot.plans ARGS` the way a bank engineer would."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot.plans", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean_failure(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    """Non-zero exit, no traceback, and an 'error:' message mentioning every needle."""
    assert proc.returncode != 0, proc.stdout
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert proc.stderr.startswith("error: "), proc.stderr
    for needle in needles:
        assert needle in proc.stderr, (needle, proc.stderr)


def cents(x: float) -> int:
    return round(x * 100)


def rank_keys(options: list[dict]) -> list[tuple]:
    """What the ranking orders options by, best first: affordable before unaffordable (those by
    the lightest monthly payment), then lowest cost, then shortest term."""
    return [
        (
            o["affordable"] is False,
            cents(o["monthly_payment"]) if o["affordable"] is False else 0,
            cents(o["total_cost"]),
            o["months"],
        )
        for o in options
    ]
