"""The action server registers exactly the actions the domain declares (and no base class)."""

from __future__ import annotations

from rasa_sdk.executor import ActionExecutor

from tests.support import DOMAIN


def test_every_domain_action_is_registered_and_nothing_else() -> None:
    executor = ActionExecutor()
    executor.register_package("actions")  # what `python -m rasa_sdk --actions actions` does
    custom = {name for name in DOMAIN["actions"] if name.startswith(("action_", "validate_"))}
    assert set(executor.actions) == custom
