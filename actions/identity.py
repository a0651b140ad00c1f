"""Goals that need identity, and the identity form's checks.

Whether the conversation is verified is the server's decision (bot.identity): the slots
``verified`` and ``account_id`` only mirror it for the dialogue, and are set back when the
server's verification has ended. The card digits wait in the database between the two
questions, never in a slot, so no identity digit reaches the tracker store.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    CalmFormValidation,
    answer_calmly,
    client_of,
    conversation_channel,
    conversation_id,
    escalate,
    latest_intent,
    latest_text,
    store,
    verified_account_id,
)
from actions.support import answer_topic
from bot.clock import today
from bot.conversation.goals import NEGOTIATING_INTENTS, goal_for_intent
from bot.conversation.identity import (
    CARD_GIVEN,
    VERIFIED_MARK,
    names_both_secrets,
    read_card_and_id,
    read_id_last4,
)
from bot.handoff.rules import matching_rules
from bot.identity import knowledge
from bot.identity.knowledge import CheckResult, KnowledgeCheck
from bot.identity.pending import PendingCards


def identity_slots(account_id: str | None) -> list[dict[str, Any]]:
    """The dialogue's mirror of the server's verification."""
    if account_id:
        return [SlotSet("verified", True), SlotSet("account_id", account_id)]
    return [SlotSet("verified", False), SlotSet("account_id", None)]


class ActionStartGoal(Action):
    """Remember what the cardholder wants, so the steps after the identity form know; bring the
    identity slots in line with the server first (a channel may have verified the cardholder,
    or a verification may have expired)."""

    def name(self) -> str:
        return "action_start_goal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return await answer_calmly(dispatcher, lambda: self.act(dispatcher, tracker))

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
        intent = latest_intent(tracker)
        goal = goal_for_intent(intent)
        answer_topic(dispatcher, tracker)  # "停息挂账是国家政策，你们必须给我办": the facts first
        account_id = verified_account_id(tracker)
        events = identity_slots(account_id)
        if account_id is None and tracker.get_slot("verified"):
            dispatcher.utter_message(response="utter_identity_expired")
        lock = None
        if account_id is None:
            lock = KnowledgeCheck(store()).lock_of(conversation_id(tracker), client_of(tracker))
        if lock or tracker.get_slot("verification_locked"):
            dispatcher.utter_message(response=locked_response(lock))
            events.append(SlotSet("verification_locked", True))
        elif intent == "inform_hardship":
            dispatcher.utter_message(response="utter_reassure_worry")
            if account_id is None:
                dispatcher.utter_message(response="utter_identity_intro")
        elif account_id is None and not names_both_secrets(latest_text(tracker)):
            dispatcher.utter_message(response="utter_identity_intro")
        return [*events, SlotSet("pending_goal", goal), *plans_goal_slots(tracker, intent)]


def plans_goal_slots(tracker: Tracker, intent: str | None) -> list[dict[str, Any]]:
    """Whether this request negotiates (then the cap stays), and consent asked again after a
    refusal (the cardholder may have changed their mind)."""
    negotiating = intent in NEGOTIATING_INTENTS
    events = [SlotSet("negotiating", negotiating)]
    if not negotiating:
        events.append(SlotSet("counter_monthly", None))
    if tracker.get_slot("data_consent") is False:
        events.append(SlotSet("data_consent", None))
    return events


def explain_or_reask(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Not the digits: a question ("你们不会是骗子吧") gets its answer, words without any digit
    ("为什么要我的卡号", "我不想告诉你") why identity is needed and what else can be done, and a
    mistyped number the format again. The form then asks its question again."""
    text = latest_text(tracker)
    if answer_topic(dispatcher, tracker):
        return
    if not any(ch.isdigit() for ch in unicodedata.normalize("NFKC", text)):
        dispatcher.utter_message(response="utter_identity_why")
        return
    dispatcher.utter_message(response="utter_invalid_last4")


def locked_response(lock: str | None) -> str:
    """A lock of this conversation, or of the card, the client or everyone (throttling)."""
    if lock in (None, knowledge.LOCKED_CONVERSATION):
        return "utter_identity_locked"
    return "utter_identity_throttled"


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
        # Verified (here or by the channel) or locked: nothing to ask, the form ends and the
        # flow goes on (a locked verification falls through quietly after its explanation).
        if tracker.get_slot("verification_locked") or verified_account_id(tracker):
            return []
        return domain_slots

    async def extract_card_last4(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Both secrets in the message that asked for something ("卡号尾号6217 身份证后四位1234，
        我想看看欠多少"): checked at once instead of being asked for again."""
        if tracker.get_slot("requested_slot") is not None or verified_account_id(tracker):
            return {}
        text = latest_text(tracker)
        if not names_both_secrets(text):
            return {}
        return {"card_last4": text}

    async def validate_card_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if verified_account_id(tracker):
            return {"card_last4": VERIFIED_MARK, "id_last4": VERIFIED_MARK}
        card, ident = read_card_and_id(str(value or ""))
        if card is None:
            explain_or_reask(dispatcher, tracker)
            return {"card_last4": None}
        if ident is not None:
            return self._check(card, ident, dispatcher, tracker)
        PendingCards(store()).keep(conversation_id(tracker), card)
        return {"card_last4": CARD_GIVEN}

    async def validate_id_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if verified_account_id(tracker):
            return {"id_last4": VERIFIED_MARK}
        ident = read_id_last4(str(value or ""))
        if ident is None:
            explain_or_reask(dispatcher, tracker)
            return {"id_last4": None}
        card = PendingCards(store()).take(conversation_id(tracker))
        if card is None:  # asked for the card again (it waited too long, or was never given)
            return {"card_last4": None, "id_last4": None}
        return self._check(card, ident, dispatcher, tracker)

    def _check(
        self, card: str, ident: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        sender, channel = conversation_id(tracker), conversation_channel(tracker)
        PendingCards(store()).forget(sender)
        result = KnowledgeCheck(store()).check(sender, channel, card, ident, client_of(tracker))
        if result.outcome == knowledge.VERIFIED and result.account is not None:
            return self._verified(result, dispatcher, tracker)
        cleared: dict[str, Any] = {"card_last4": None, "id_last4": None}
        if result.outcome == knowledge.WRONG and result.remaining > 0:
            dispatcher.utter_message(response="utter_identity_retry", remaining=result.remaining)
            return cleared
        reason = "identity_ambiguous" if result.outcome == knowledge.AMBIGUOUS else None
        escalate(tracker, "identity_failed", outcome=reason or result.outcome)
        if result.outcome == knowledge.AMBIGUOUS:
            dispatcher.utter_message(response="utter_identity_ambiguous")
        elif result.outcome == knowledge.WRONG:
            dispatcher.utter_message(response="utter_identity_locked")
        else:
            dispatcher.utter_message(response=locked_response(result.outcome))
        return {**cleared, "verification_locked": True}

    def _verified(
        self, result: CheckResult, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        account = result.account
        assert account is not None
        dispatcher.utter_message(response="utter_identity_verified", name=account.holder_name)
        for rule in matching_rules(account, today()):
            # the rule's own priority, not the reason's; the account is verified this turn
            store().escalate(
                conversation_id(tracker),
                f"rule:{rule.name}",
                rule.priority,
                account.account_id,
                channel=conversation_channel(tracker),
                rule=rule.description,
            )
        return {
            "verified": True,
            "account_id": account.account_id,
            "card_last4": VERIFIED_MARK,
            "id_last4": VERIFIED_MARK,
            "verify_attempts": 0,
        }
