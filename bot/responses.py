"""Responses rendered outside a Rasa turn (channel notices, specialists joining, decisions).

They are worded in domain.yml like every other reply, so the bank edits them in one place.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import yaml

from bot.nlg import localise_message
from bot.nlu.script import detect_script
from bot.settings import PROJECT_ROOT


@lru_cache(maxsize=1)
def _responses() -> dict[str, Any]:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"]


def render(response: str, user_text: str = "", script: str | None = None, **values: Any) -> str:
    """The first variation of a response, filled, in the cardholder's script (given, or
    detected from what they just wrote)."""
    text = _responses()[response][0]["text"].format(**values)
    return localise_message({"text": text}, script or detect_script(user_text))["text"]
