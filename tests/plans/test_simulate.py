"""Portfolio generation and simulation through the command line, and bad portfolio files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from bot.plans.portfolio import COLUMNS, generate_portfolio, read_portfolio
from bot.plans.vector import TYPES

from .conftest import assert_clean_failure, run_cli


@pytest.fixture(scope="module")
def portfolio(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("sim") / "portfolio.csv"
    proc = run_cli("generate-portfolio", "--n", "400", "--seed", "11", "--out", str(path))
    assert proc.returncode == 0, proc.stderr
    return path


def test_generator_is_deterministic_and_realistic(portfolio: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.csv"
    generate_portfolio(400, 11, again)
    assert again.read_bytes() == portfolio.read_bytes()
    pf = read_portfolio(portfolio)
    assert len(pf) == 400
    owed = pf.principal + pf.interest + pf.penalty
    assert (pf.minimum <= owed).all() and (pf.principal >= 50_000).all()
    assert 0.55 < (pf.reason >= 0).mean() < 0.85  # most declare a hardship
    assert 0.03 < pf.active.mean() < 0.25
    assert pf.overdue.min() >= 1 and pf.overdue.max() <= 720


def test_simulate_writes_report(portfolio: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    proc = run_cli(
        "simulate", "--portfolio", str(portfolio), "--out", str(out), "--as-of", "2026-11-22"
    )
    assert proc.returncode == 0, proc.stderr
    assert "simulating" in proc.stderr  # progress bar on stderr
    names = ("summary.json", "summary.md", "report.html", "first_options.csv", "products.png")
    for name in (*names, "inflow.png", "affordability.png"):
        assert (out / name).stat().st_size > 0, name
    assert (out / "products.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["cases"] == 400
    assert sum(summary["first_option_by_product"].values()) == 400
    assert set(summary["first_option_by_product"]) == set(TYPES)
    assert summary["escalated"] == sum(summary["escalation_reasons"].values())
    assert summary["agreement_with_propose"]["checked"] == 200
    assert summary["agreement_with_propose"]["mismatches"] == 0
    assert summary["expected_monthly_inflow"] > 0
    window = sum(m["amount"] for m in summary["inflow_by_month"][:13])
    assert summary["expected_monthly_inflow"] == pytest.approx(window / 12, abs=0.01)
    assert "预计月均回款" in (out / "summary.md").read_text(encoding="utf-8")
    with open(out / "first_options.csv", encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 400


def _write(path: Path, rows: list[list[str]], header: tuple[str, ...] = COLUMNS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


GOOD = ["A1", "1000.00", "10.00", "5.00", "100.00", "30", "false", "", "", "", "", "", ""]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("principal", "-5", "non-negative"),
        ("interest", "abc", "amount in yuan"),
        ("penalty", "1.234", "2 decimals"),
        ("overdue_days", "x", "whole number"),
        ("has_active_installment", "maybe", "true or false"),
        ("hardship_reason", "lottery", "unknown hardship reason"),
        ("monthly_income", "", "required"),
    ],
)
def test_bad_portfolio_names_line_and_column(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    bad = list(GOOD)
    bad[COLUMNS.index(column)] = value
    if column == "monthly_income":
        bad[COLUMNS.index("hardship_reason")] = "illness"
    path = _write(tmp_path / "bad.csv", [GOOD, bad])
    proc = run_cli("simulate", "--portfolio", str(path), "--out", str(tmp_path / "r"), "--quiet")
    assert_clean_failure(proc, f"{path}:3: {column}", message)


def test_portfolio_missing_column(tmp_path: Path) -> None:
    path = _write(tmp_path / "bad.csv", [GOOD[:-1]], header=COLUMNS[:-1])
    proc = run_cli("simulate", "--portfolio", str(path), "--quiet")
    assert_clean_failure(proc, "expected_recovery_months", "missing column")
