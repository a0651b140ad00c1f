"""Why a conversation goes to a person, and how urgently.

Distress always jumps the queue; what a cardholder explicitly asks for comes next.
"""

from __future__ import annotations

URGENT, HIGH, NORMAL = 0, 1, 2

PRIORITY = {
    "distress": URGENT,
    "request_human": HIGH,
    "complaint": HIGH,
    "dispute": HIGH,
    "identity_failed": NORMAL,
    "misunderstood": NORMAL,
    "plan_approval": NORMAL,
    "no_plan_fits": NORMAL,
    "technical": NORMAL,
    "payment_not_found": NORMAL,
}

REASON_FOR_INTENT = {
    "request_human": "request_human",
    "dispute_debt": "dispute",
    "complain": "complaint",
    "express_distress": "distress",
}


def reason_for_intent(intent: str | None) -> str:
    return REASON_FOR_INTENT.get(intent or "", "request_human")


def priority_of(reason: str) -> int:
    return PRIORITY.get(reason, NORMAL)
