"""Escalation rules a bank configures in policy/handoff.yml, evaluated on a verified account."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.db.store import AccountView
from bot.handoff.availability import HANDOFF_POLICY_PATH

CONDITIONS = ("min_overdue_days", "min_total_due", "has_active_installment")


@dataclass(frozen=True)
class EscalationRule:
    name: str
    description: str
    priority: int
    when: dict[str, Any]

    def matches(self, account: AccountView, on: date) -> bool:
        when = self.when
        if "min_overdue_days" in when and account.overdue_days(on) < int(when["min_overdue_days"]):
            return False
        if "min_total_due" in when and account.total_due < Decimal(str(when["min_total_due"])):
            return False
        if "has_active_installment" in when and account.has_active_installment != bool(
            when["has_active_installment"]
        ):
            return False
        return True


class RuleError(ValueError):
    """A rule the bank wrote that cannot be applied; the message names the rule and field."""


@lru_cache(maxsize=4)
def load_rules(path: Path = HANDOFF_POLICY_PATH) -> tuple[EscalationRule, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    rules = []
    for index, entry in enumerate(data.get("escalation_rules") or []):
        name = str(entry.get("name") or f"rule_{index + 1}")
        when = dict(entry.get("when") or {})
        unknown = sorted(set(when) - set(CONDITIONS))
        if unknown or not when:
            raise RuleError(
                f"{path}: escalation_rules[{index}] ({name}): "
                + (
                    f"unknown condition {unknown[0]!r}"
                    if unknown
                    else "needs at least one condition"
                )
            )
        priority = int(entry.get("priority", 2))
        if priority not in (0, 1, 2):
            raise RuleError(
                f"{path}: escalation_rules[{index}] ({name}): priority must be 0, 1 or 2"
            )
        rules.append(EscalationRule(name, str(entry.get("description", name)), priority, when))
    return tuple(rules)


def matching_rules(
    account: AccountView, on: date, rules: tuple[EscalationRule, ...] | None = None
) -> list[EscalationRule]:
    return [
        rule for rule in (load_rules() if rules is None else rules) if rule.matches(account, on)
    ]
