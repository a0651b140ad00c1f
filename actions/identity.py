"""Goals that need identity, and the identity form's checks."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import CalmFormValidation, conversation_id, latest_intent, store
from bot.clock import today
from bot.conversation.escalation import priority_of
from bot.conversation.goals import goal_for_intent
from bot.conversation.identity import VERIFIED_MARK, read_card_and_id, read_id_last4
from bot.handoff.rules import matching_rules
from bot.settings import load_settings


class ActionStartGoal(Action):
    """Remember what the cardholder wants, so the steps after the identity form know."""

    def name(self) -> str:
        return "action_start_goal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        intent = latest_intent(tracker)
        goal = goal_for_intent(intent)
        if tracker.get_slot("verification_locked"):
            dispatcher.utter_message(response="utter_identity_locked")
        elif intent == "inform_hardship":
            dispatcher.utter_message(response="utter_reassure_worry")
            if not tracker.get_slot("verified"):
                dispatcher.utter_message(response="utter_identity_intro")
        elif not tracker.get_slot("verified"):
            dispatcher.utter_message(response="utter_identity_intro")
        return [SlotSet("pending_goal", goal)]


class ValidateIdentityForm(CalmFormValidation):
    needs_verified_identity = False  # this form is what verifies

    def name(self) -> str:
        return "validate_identity_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # A locked verification asks nothing more: the form ends and the flow falls through.
        return [] if tracker.get_slot("verification_locked") else domain_slots

    async def validate_card_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("verified"):
            return {"card_last4": VERIFIED_MARK}
        card, ident = read_card_and_id(str(value or ""))
        if card is None:
            dispatcher.utter_message(response="utter_invalid_last4")
            return {"card_last4": None}
        if ident is not None:
            return self._check(card, ident, dispatcher, tracker)
        return {"card_last4": card}

    async def validate_id_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if tracker.get_slot("verified"):
            return {"id_last4": VERIFIED_MARK}
        ident = read_id_last4(str(value or ""))
        card = tracker.get_slot("card_last4")
        if ident is None:
            dispatcher.utter_message(response="utter_invalid_last4")
            return {"id_last4": None}
        if not card:
            return {"id_last4": None}
        return self._check(card, ident, dispatcher, tracker)

    def _check(
        self, card: str, ident: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        account = store().verify_identity(
            conversation_id(tracker), card, ident, tracker.get_latest_input_channel()
        )
        if account is not None:
            dispatcher.utter_message(response="utter_identity_verified", name=account.holder_name)
            for rule in matching_rules(account, today()):
                store().escalate(
                    conversation_id(tracker),
                    f"rule:{rule.name}",
                    rule.priority,
                    account.account_id,
                    channel=tracker.get_latest_input_channel(),
                    rule=rule.description,
                )
            return {
                "verified": True,
                "account_id": account.account_id,
                "card_last4": VERIFIED_MARK,
                "id_last4": VERIFIED_MARK,
                "verify_attempts": 0,
            }
        attempts = int(tracker.get_slot("verify_attempts") or 0) + 1
        limit = load_settings().max_verification_attempts
        cleared: dict[str, Any | None] = {
            "card_last4": None,
            "id_last4": None,
            "verify_attempts": attempts,
        }
        if attempts >= limit:
            store().escalate(
                conversation_id(tracker), "identity_failed", priority_of("identity_failed")
            )
            dispatcher.utter_message(response="utter_identity_locked")
            return {**cleared, "verification_locked": True}
        dispatcher.utter_message(response="utter_identity_retry", remaining=limit - attempts)
        return cleared
