"""Response generation that answers in the cardholder's own script.

Every response is written once, in Simplified Chinese, in domain.yml. This generator fills it as
Rasa's templated generator does and then converts text and button titles to Traditional when the
conversation's ``script`` slot says the cardholder writes Traditional. All bot replies that come
from responses pass through here, so no reply can slip through unconverted.
"""

from __future__ import annotations

from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.nlu.script import to_traditional

TRADITIONAL = "traditional"


def localise_message(message: dict[str, Any], script: str | None) -> dict[str, Any]:
    """Convert a bot message's visible text (text and button titles) to the given script."""
    if script != TRADITIONAL:
        return message
    converted = dict(message)
    if converted.get("text"):
        converted["text"] = to_traditional(converted["text"])
    if converted.get("buttons"):
        converted["buttons"] = [
            {**button, "title": to_traditional(str(button.get("title", "")))}
            for button in converted["buttons"]
        ]
    return converted


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
        message = await super().generate(utter_action, tracker, output_channel, **kwargs)
        if message is None:
            return None
        return localise_message(message, tracker.get_slot("script"))
