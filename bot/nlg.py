"""Response generation that answers in the cardholder's own script.

Every response is written once, in Simplified Chinese, in domain.yml. This generator fills it as
Rasa's templated generator does and then converts text and button titles to Traditional when the
conversation's ``script`` slot says the cardholder writes Traditional. All bot replies that come
from responses pass through here, so no reply can slip through unconverted.

Traditional comes in the forms its readers use: Hong Kong forms (OpenCC s2hk) for a cardholder
who writes Cantonese or mentions Hong Kong, Taiwan / general forms (s2tw: 核實, 吃飯, 才) for
everyone else. The ``script_variant`` slot (hk/tw) records it; while it is unset the
conversation's own messages tell. Conditional response variations see the variant as the
``script_variant`` slot (the crisis replies give Hong Kong or Taiwan hotlines first), and
``{bank_hotline}`` is filled from the settings unless an action passes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, Protocol

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.nlu.script import VARIANT_CONFIGS, detect_variant, to_traditional, variant_config
from bot.settings import ConfigurationError, Settings, load_settings

TRADITIONAL = "traditional"
SCRIPT_SLOT = "script"
VARIANT_SLOT = "script_variant"
DEFAULT_READER_VARIANT = "tw"


class SlotReader(Protocol):
    """A Rasa tracker or a rasa_sdk Tracker: both have ``get_slot`` and ``events``."""

    events: Any

    def get_slot(self, key: str) -> Any: ...


def localise_message(
    message: dict[str, Any], script: str | None, variant: str | None = None
) -> dict[str, Any]:
    """Convert a bot message's visible text (text and button titles) to the given script, in
    the reader variant's forms (hk, tw; None: TRADITIONAL_VARIANT, s2tw by default)."""
    if script != TRADITIONAL:
        return message
    config = variant_config(variant)
    converted = dict(message)
    if converted.get("text"):
        converted["text"] = to_traditional(converted["text"], config)
    if converted.get("buttons"):
        converted["buttons"] = [
            {**button, "title": to_traditional(str(button.get("title", "")), config)}
            for button in converted["buttons"]
        ]
    return converted


def _user_texts(events: Iterable[Any]) -> list[str]:
    """The cardholder's messages, oldest first (Rasa events or rasa_sdk event dicts)."""
    texts = []
    for event in events or ():
        if isinstance(event, dict):
            text = event.get("text") if event.get("event") == "user" else None
        else:
            text = (
                getattr(event, "text", None) if getattr(event, "type_name", "") == "user" else None
            )
        if isinstance(text, str) and text:
            texts.append(text)
    return texts


def reader_variant(tracker: SlotReader) -> str | None:
    """hk or tw for a cardholder who writes Traditional, None for everyone else.

    The ``script_variant`` slot wins; while it is unset, the newest message that tells (Cantonese
    wording, a Hong Kong or Taiwan mention) decides, and plain Traditional reads as tw.
    """
    if tracker.get_slot(SCRIPT_SLOT) != TRADITIONAL:
        return None
    slot = tracker.get_slot(VARIANT_SLOT)
    if slot in VARIANT_CONFIGS:
        return slot
    for text in reversed(_user_texts(tracker.events)):
        variant = detect_variant(text)
        if variant is not None:
            return variant
    return DEFAULT_READER_VARIANT


@cache
def bank_hotline_text() -> str:
    """The official number as replies name it (bot.settings; BANK_HOTLINE)."""
    try:
        return load_settings().bank_hotline_text
    except ConfigurationError:  # a missing secret is reported where it matters, not here
        return Settings(database_url="").bank_hotline_text


class ScriptAwareNLG(TemplatedNaturalLanguageGenerator):
    def __init__(
        self, endpoint_config: EndpointConfig | None = None, domain: Domain | None = None
    ) -> None:
        super().__init__((domain or Domain.empty()).responses)

    def _fill_response(
        self, response: dict[str, Any], filled_slots: dict[str, Any] | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        """Fill slots as Rasa does, but leave intent payloads (``/intent{"slot": "value"}``) out:
        Rasa would take their JSON braces for placeholders and log an error for every button."""
        intent_payloads = {}
        for index, button in enumerate(response.get("buttons") or []):
            payload = button.get("payload") if isinstance(button, dict) else None
            if isinstance(payload, str) and payload.startswith("/"):
                intent_payloads[index] = payload
                button["payload"] = ""
        filled = super()._fill_response(response, filled_slots, **kwargs)
        for index, payload in intent_payloads.items():
            filled["buttons"][index]["payload"] = payload
        return filled

    async def generate(
        self,
        utter_action: str,
        tracker: DialogueStateTracker,
        output_channel: str,
        **kwargs: Any,
    ) -> dict[str, Any] | None:
        filled_slots = tracker.current_slot_values()
        variant = reader_variant(tracker)
        filled_slots[VARIANT_SLOT] = variant
        kwargs.setdefault("bank_hotline", bank_hotline_text())
        message = self.generate_from_slots(utter_action, filled_slots, output_channel, **kwargs)
        if message is None:
            return None
        return localise_message(message, tracker.get_slot(SCRIPT_SLOT), variant)
