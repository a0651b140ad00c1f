"""Money in integer cents, rates in parts per million, due dates by calendar month.

Everything is integer arithmetic with one rounding rule (half up), so the per-case engine and
the vectorised portfolio engine give the same cents for the same case.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

PPM = 1_000_000
CENT = Decimal("0.01")


def div_half_up(num: int, den: int) -> int:
    """num / den rounded half up, for num >= 0 and den > 0."""
    return (2 * num + den) // (2 * den)


def ceil_div(num: int, den: int) -> int:
    """num / den rounded up, for den > 0."""
    return -(-num // den)


def apply_ppm(amount: int, ppm: int) -> int:
    """amount × (ppm / 1e6), rounded half up to the cent."""
    return div_half_up(amount * ppm, PPM)


def to_cents(value: object) -> int:
    """Parse a JSON/CSV amount in yuan into cents, rounding half up.

    Raises ValueError for anything that is not a finite number (booleans included).
    """
    if isinstance(value, bool) or value is None:
        raise ValueError("not a number")
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError) as exc:
        raise ValueError("not a number") from exc
    if not amount.is_finite():
        raise ValueError("not a finite number")
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100)


def yuan(cents: int) -> float:
    """Cents as a JSON number in yuan (exact to the cent when printed)."""
    return cents / 100


def fmt_yuan(cents: int) -> str:
    """Cents as text for a cardholder, e.g. 331744 -> '3,317.44': the one way amounts are
    written everywhere (plan cards, explanations, summaries; issue 15 found two)."""
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100:,}.{cents % 100:02d}"


def fmt_rate(rate: float) -> str:
    """An annual rate as a percentage with two decimals, e.g. 0.1303 -> '13.03'."""
    return f"{rate * 100:.2f}"


def ppm_to_percent(ppm: int) -> str:
    """A rate in ppm as a short percentage, e.g. 6600 -> '0.66'."""
    text = f"{Decimal(ppm) / Decimal(10_000):f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def add_months(start: date, months: int) -> date:
    """The same day `months` later, clamped to the month's end (Jan 31 + 1 -> Feb 28/29)."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, later: date) -> int:
    """Whole calendar months from start to later (the offset add_months was given)."""
    return (later.year - start.year) * 12 + later.month - start.month


def monthly_irr(financed: int, flows: Sequence[tuple[int, int]]) -> float:
    """Monthly rate r with sum(amount / (1+r)**t) == financed, for flows of (t months, cents).

    Newton's method from r = 0: the present value is convex and decreasing in r, so the
    iterates rise monotonically to the root when the payments exceed the financed amount.
    """
    rate = 0.0
    for _ in range(200):
        value = -float(financed)
        slope = 0.0
        for months, amount in flows:
            discount = (1.0 + rate) ** -months
            value += amount * discount
            slope -= months * amount * discount / (1.0 + rate)
        if slope == 0.0:
            return 0.0
        step = value / slope
        rate -= step
        if abs(step) < 1e-13:
            break
    return rate


def apr(financed: int, flows: Sequence[tuple[int, int]]) -> float:
    """Annualised rate of a schedule by IRR (monthly IRR × 12), rounded to 4 decimals.

    A plan that costs nothing or less (a waiver is a discount, not a negative interest rate)
    has an APR of 0.
    """
    if sum(amount for _, amount in flows) <= financed:
        return 0.0
    rate = monthly_irr(financed, flows) * 12
    return round(rate, 4) if math.isfinite(rate) else 0.0
