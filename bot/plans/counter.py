"""The cardholder's own proposal, when no plan within policy fits what they can pay.

Issue 15: "我每个月最多只能还500" was not negotiated at all. The engine first looks for plans
within that amount (``propose`` with ``hardship.max_monthly_payment``); when none fits, this
records the cardholder's own figure as an option a specialist must decide on — an application,
never an agreement — so the person who reviews it sees exactly what was asked for.
"""

from __future__ import annotations

from datetime import date

from .money import add_months, fmt_yuan, to_cents, yuan
from .policy import MAX_TERM_MONTHS

COUNTER_TYPE = "counter_proposal"


def counter_proposal(balance: object, monthly: object, as_of: date) -> dict[str, object]:
    """An option in the contract's shape: ``monthly`` a month until ``balance`` is repaid,
    no interest assumed (the specialist sets the terms), always requiring approval."""
    owed, per_month = to_cents(balance), to_cents(monthly)
    if per_month <= 0:
        raise ValueError("a counter-proposal needs a positive monthly amount")
    months = max(1, -(-owed // per_month))
    payments = [per_month] * (months - 1) + [owed - per_month * (months - 1)]
    dates = [add_months(as_of, n) for n in range(1, months + 1)]
    beyond = months > MAX_TERM_MONTHS
    note = f"超过{MAX_TERM_MONTHS}期的监管上限，需专员另行商定" if beyond else "条款由专员审核确定"
    return {
        "id": f"counter-{per_month}",
        "type": COUNTER_TYPE,
        "title": "您提出的方案",
        "months": months,
        "financed_amount": yuan(owed),
        "monthly_payment": yuan(per_month),
        "total_payment": yuan(owed),
        "total_cost": 0.0,
        "apr": 0.0,
        "first_due_date": dates[0].isoformat(),
        "last_due_date": dates[-1].isoformat(),
        "requires_approval": True,
        "affordable": True,
        "waived_amount": 0.0,
        "beyond_term_limit": beyond,
        "schedule": [
            {"n": n, "due_date": d.isoformat(), "amount": yuan(amount)}
            for n, (d, amount) in enumerate(zip(dates, payments, strict=True), start=1)
        ],
        "explanation": (
            f"持卡人提出：每月还 {fmt_yuan(per_month)} 元，约 {months} 期还清 "
            f"{fmt_yuan(owed)} 元（{note}；利息与费用以专员确认为准）。"
        ),
    }
