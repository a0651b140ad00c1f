"""Money arithmetic, due dates and the IRR-based APR."""

from __future__ import annotations

from datetime import date

import pytest

from bot.plans.money import (
    add_months,
    apr,
    ceil_div,
    div_half_up,
    fmt_yuan,
    monthly_irr,
    ppm_to_percent,
    to_cents,
)
from bot.plans.products import level_payments


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2027, 1, 31), 2, date(2027, 3, 31)),  # computed from the start, no drift
        (date(2026, 11, 22), 1, date(2026, 12, 22)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),  # year end
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 11, 22), 60, date(2031, 11, 22)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    assert add_months(start, months) == expected


def test_rounding_is_half_up_in_integers() -> None:
    assert div_half_up(5, 10) == 1
    assert div_half_up(4, 10) == 0
    assert div_half_up(15, 10) == 2
    assert ceil_div(10, 3) == 4
    assert ceil_div(9, 3) == 3


@pytest.mark.parametrize(
    ("value", "cents"),
    [(1260.5, 126050), ("875", 87500), (0.1 + 0.2, 30), ("1.005", 101), (0, 0)],
)
def test_to_cents(value: object, cents: int) -> None:
    assert to_cents(value) == cents


@pytest.mark.parametrize("value", [True, None, "abc", float("nan"), "inf", [1]])
def test_to_cents_rejects_non_numbers(value: object) -> None:
    with pytest.raises(ValueError):
        to_cents(value)


def test_formatting() -> None:
    assert fmt_yuan(331744) == "3,317.44"
    assert fmt_yuan(14310000) == "143,100.00"
    assert fmt_yuan(-43750) == "-437.50"
    assert fmt_yuan(5) == "0.05"
    assert ppm_to_percent(6600) == "0.66"
    assert ppm_to_percent(100000) == "10"


@pytest.mark.parametrize(("rate_ppm", "expected"), [(6000, 0.130), (7500, 0.162)])
def test_apr_of_monthly_fee_over_12_months(rate_ppm: int, expected: float) -> None:
    """regulation.md: 0.6 %/month over 12 months is about 13.0 % a year, 0.75 % about 16.2 %."""
    financed = 1_000_000_00
    fee = financed * rate_ppm // 1_000_000
    payments = level_payments(financed, 12, fee)
    assert payments is not None
    assert apr(financed, payments) == pytest.approx(expected, abs=0.0006)


def test_apr_matches_contract_example() -> None:
    """The contract's example: 0.6 % over 12 months on 37135.50 gives apr 0.1303."""
    payments = level_payments(3713550, 12, 22281)
    assert payments is not None
    assert apr(3713550, payments) == pytest.approx(0.1303, abs=0.00005)


def test_apr_is_zero_without_cost_and_irr_solves_npv() -> None:
    assert apr(10000, [(1, 5000), (2, 5000)]) == 0.0
    assert apr(10000, [(0, 9000)]) == 0.0  # a discount is not a negative interest rate
    flows = [(1, 5100), (2, 5100)]
    rate = monthly_irr(10000, flows)
    assert sum(a / (1 + rate) ** t for t, a in flows) == pytest.approx(10000, abs=1e-6)


def test_level_payments_last_absorbs_rounding() -> None:
    payments = level_payments(1000, 3, 7)
    assert payments == ((1, 341), (2, 341), (3, 339))
    assert sum(a for _, a in payments) == 1000 + 3 * 7
    assert level_payments(100, 60, 0) is None  # too small to spread over 60 months
