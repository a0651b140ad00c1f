"""The runtime fix keeps Rasa's validation of action-server replies exactly as strict."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_server import apply_fixes


def test_the_cached_validator_accepts_and_rejects_what_rasa_does() -> None:
    apply_fixes()
    apply_fixes()  # idempotent
    action = RemoteAction("action_x", EndpointConfig("http://127.0.0.1:1/webhook"))
    good = {"events": [{"event": "slot", "name": "a", "value": 1}], "responses": [{"text": "好"}]}
    assert action._validate_action_result(good) is True
    with pytest.raises(ValidationError) as error:
        action._validate_action_result({"events": "not a list"})
    assert "Failed to validate Action server response" in error.value.message
