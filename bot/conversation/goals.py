"""Which goal a cardholder's request sets; every goal needs a verified identity first."""

from __future__ import annotations

GOAL_FOR_INTENT = {
    "ask_balance": "balance",
    "request_installment": "plans",
    "request_waiver": "plans",
    "request_deferral": "plans",
    "inform_hardship": "plans",
    "inform_income": "plans",
    "inform_expense": "plans",
    "promise_to_pay": "promise",
    "already_paid": "paid",
}


def goal_for_intent(intent: str | None) -> str | None:
    return GOAL_FOR_INTENT.get(intent or "")
