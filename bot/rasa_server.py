"""Run Rasa's command line with the product's runtime fixes applied.

Rasa 3.6 checks every action-server reply with ``jsonschema.validate``, which re-checks the
response schema against the JSON-Schema meta-schema on every call: about a third of the Rasa
server's CPU per message in our benchmark (bench/bench_rasa.py). The fix validates against the
very same schema with a validator built once. Behaviour is unchanged: invalid replies raise the
same ``ValidationError`` with the same message.

    python -m bot.rasa_server run --model models/assistant.tar.gz ...   (what the launcher runs)
"""

from __future__ import annotations

import sys
from typing import Any

from jsonschema import ValidationError
from jsonschema.validators import validator_for

_PATCHED = "_validator_built_once"


def apply_fixes() -> None:
    """Install the cached validator on Rasa's RemoteAction (idempotent)."""
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    if getattr(RemoteAction._validate_action_result, _PATCHED, False):
        return
    schema = RemoteAction.action_response_format_spec()
    validator_class = validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema)

    def _validate_action_result(self: Any, result: dict[str, Any]) -> bool:
        try:
            validator.validate(result)
            return True
        except ValidationError as error:
            error.message += (
                ". Failed to validate Action server response from API, "
                "make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
            )
            raise error

    setattr(_validate_action_result, _PATCHED, True)
    RemoteAction._validate_action_result = _validate_action_result


def main() -> None:
    apply_fixes()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
