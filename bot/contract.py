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
# How a cardholder reads each reason back ("已更正：困难原因从 失业 改为 生病或受伤"); the words of
# the reason buttons in domain.yml
HARDSHIP_REASON_NAMES: dict[str, str] = {
    "unemployment": "失业",
    "illness": "生病或受伤",
    "business_loss": "生意亏损",
    "income_drop": "收入减少",
    "family_emergency": "家庭变故",
    "other_debts": "其他欠款太多",
    "disaster": "自然灾害",
}
