"""Fixed values of the conversation contract (docs/conversation.md) shared by NLU, dialogue and
the plan engine. Other parts of the bank key on these names: never rename them."""

from __future__ import annotations

HARDSHIP_REASONS: tuple[str, ...] = (
    "unemployment",
    "illness",
    "business_loss",
    "income_drop",
    "family_emergency",
    "other_debts",
    "disaster",
)
