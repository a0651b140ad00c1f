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
    "reject_offers": "plans",
    "counter_offer": "plans",
    "ask_agreement": "arrangement",
}
# "都不行，太多了", "最多只能还500", and "不要" right after the plans: plans within what the
# cardholder says they can pay, not the same plans again
NEGOTIATING_INTENTS = frozenset({"reject_offers", "counter_offer", "deny"})


def goal_for_intent(intent: str | None) -> str | None:
    if intent == "deny":  # only a rule after the plans starts a goal with it
        return "plans"
    return GOAL_FOR_INTENT.get(intent or "")
