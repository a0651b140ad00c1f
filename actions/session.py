"""A new Rasa session starts unverified: Rasa carries the slots over (domain.yml's
``carry_over_slots_to_new_session``), and a knowledge check must not carry with them.

Identity a channel vouches for (the bank's login token, a linked Telegram account) is not
ended: the channel grants it again with the very message that starts the session.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import answer_calmly, conversation_id, verified_sessions
from bot.identity.sessions import KNOWLEDGE_CHECK

# The slots that mirror identity: the new session learns them from the server again.
NOT_CARRIED = ("verified", "account_id", "card_last4", "id_last4", "verify_attempts")


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        def revoke() -> None:
            verified_sessions().revoke(
                conversation_id(tracker), "new_session", methods=(KNOWLEDGE_CHECK,)
            )

        async def act() -> list[dict[str, Any]]:
            revoke()
            return []

        await answer_calmly(dispatcher, act)
        carried = [
            SlotSet(name, value)
            for name, value in tracker.slots.items()
            if name not in NOT_CARRIED and value is not None and name != "requested_slot"
        ]
        return [SessionStarted(), *carried, ActionExecuted("action_listen")]
