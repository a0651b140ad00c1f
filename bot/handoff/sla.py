"""How long a case may wait for a specialist, by priority (policy/handoff.yml ``sla_minutes``).

The queue colours a case that is near its target and one past it, and counts the breaches, so a
supervisor sees at a glance where the promise "a specialist will get back to you" is slipping.
A bank sets the targets; without the block the defaults below apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.conversation.escalation import HIGH, NORMAL, URGENT
from bot.handoff.availability import HANDOFF_POLICY_PATH

DEFAULT_MINUTES = {URGENT: 5, HIGH: 30, NORMAL: 240}
PRIORITY_KEYS = {"urgent": URGENT, "high": HIGH, "normal": NORMAL}
NEAR_SHARE = 0.8  # a case past 80 % of its target is shown as near


class SlaError(ValueError):
    """The block cannot be applied; the message names the file and the key."""


@dataclass(frozen=True)
class Sla:
    minutes: dict[int, int]

    def target_seconds(self, priority: int) -> int:
        return 60 * self.minutes.get(priority, self.minutes[NORMAL])

    def state(self, priority: int, waiting_seconds: int) -> str:
        """``ok``, ``near`` or ``breached`` for a case still waiting to be claimed."""
        target = self.target_seconds(priority)
        if waiting_seconds >= target:
            return "breached"
        return "near" if waiting_seconds >= NEAR_SHARE * target else "ok"


def load_sla(path: Path = HANDOFF_POLICY_PATH) -> Sla:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    block = data.get("sla_minutes") or {}
    if not isinstance(block, dict):
        raise SlaError(f"{path}: sla_minutes must map urgent/high/normal to minutes")
    minutes = dict(DEFAULT_MINUTES)
    for key, value in block.items():
        if key not in PRIORITY_KEYS:
            raise SlaError(f"{path}: sla_minutes.{key}: unknown priority (urgent, high, normal)")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise SlaError(f"{path}: sla_minutes.{key} must be a whole number of minutes above 0")
        minutes[PRIORITY_KEYS[key]] = value
    return Sla(minutes)


@lru_cache(maxsize=1)
def current_sla() -> Sla:
    return load_sla()
