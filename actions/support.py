"""Answers to asides, emotions, and every way a conversation goes to a person or pauses."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActiveLoop, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.account import utter_personal_consequences
from actions.common import (
    CalmAction,
    CalmFormValidation,
    conversation_id,
    escalate,
    latest_intent,
    latest_text,
    money,
    stays_with_the_person,
    store,
    verified_account,
    verified_account_id,
)
from actions.plans import ActionSummarizePlan, shown
from bot.conversation.escalation import reason_for_intent
from bot.conversation.plan_choice import read_choice
from bot.conversation.topics import COMPLAINT_TOPICS, is_complaint, topic_of
from bot.handoff.availability import availability, describe_next_contact
from bot.handoff.cases import Cases

ANSWERS = {
    "bot_challenge": "utter_iamabot",
    "ask_consequences": "utter_answer_consequences",
    "ask_credit_report": "utter_answer_credit_report",
    "ask_legal_risk": "utter_answer_legal_risk",
    "ask_collection_practice": "utter_answer_collection_practice",
    "ask_fees": "utter_answer_fees",
    "ask_how_to_pay": "utter_answer_how_to_pay",
    "out_of_scope": "utter_out_of_scope",
    "correct_info": "utter_correction_unclear",
}
PERSONALISED = {"ask_consequences", "ask_credit_report", "ask_legal_risk"}
# Said inside a form, they wait for its end: the plans come right after its questions.
AFTER_THE_FORM = {"choose_plan", "reject_offers", "counter_offer"}
MISUNDERSTANDINGS_BEFORE_HANDOFF = 2
LEAVE_FORM = [ActiveLoop(None), SlotSet("requested_slot", None)]


def account_id_of(tracker: Tracker) -> Any:
    return verified_account_id(tracker)


class ActionAnswer(CalmAction):
    """General answers need no identity; once verified, consequences are made personal."""

    def name(self) -> str:
        return "action_answer"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        intent = latest_intent(tracker)
        in_form = bool(tracker.active_loop.get("name"))
        if answer_topic(dispatcher, tracker):
            return []
        if intent == "express_worry":
            dispatcher.utter_message(response="utter_reassure_worry")
            step = (
                "utter_small_step_plan"
                if tracker.get_slot("verified")
                else ("utter_small_step_verify")
            )
            dispatcher.utter_message(response=step)
            return []
        if in_form and intent in ("greet", "thank", "ask_balance", "ask_agreement"):
            return self._inside_a_form(dispatcher, tracker, intent)
        if intent in AFTER_THE_FORM:
            dispatcher.utter_message(response="utter_form_first_finish")
            if tracker.get_slot("counter_monthly") and intent == "counter_offer":
                dispatcher.utter_message(
                    response="utter_counter_noted", cap=money(tracker.get_slot("counter_monthly"))
                )
                return [SlotSet("negotiating", True)]
            return []
        dispatcher.utter_message(response=ANSWERS.get(intent or "", "utter_out_of_scope"))
        if (
            intent in PERSONALISED
            and not already_said(tracker, "utter_personal_consequences")
            and not store().in_crisis(conversation_id(tracker))
        ):
            account = verified_account(tracker)
            if account is not None:
                utter_personal_consequences(dispatcher, account)
        return []

    def _inside_a_form(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, intent: str
    ) -> list[dict[str, Any]]:
        """A greeting, thanks or a question about the account while a form asks something:
        answered in a line, then the form asks its question again."""
        if intent == "greet":
            dispatcher.utter_message(response="utter_greet_in_form")
        elif intent == "thank":
            dispatcher.utter_message(response="utter_you_are_welcome_in_form")
        elif verified_account_id(tracker) is None:
            dispatcher.utter_message(response="utter_after_identity")
        else:
            dispatcher.utter_message(response="utter_form_first_finish")
        return []


def answer_topic(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """True (having answered) when the message raises one of the myths or fears cardholders
    actually raise (the 3-year limit, jail, 征信修复, calls at night, …), whatever intent the
    NLU gave it; a night-time call is also recorded as a complaint."""
    text = latest_text(tracker)
    topic = topic_of(text)
    if topic is None:
        return False
    dispatcher.utter_message(response=topic)
    if topic in COMPLAINT_TOPICS or is_complaint(text):  # a call at night, family called
        record_complaint(dispatcher, tracker)
    return True


def already_said(tracker: Tracker, response: str) -> bool:
    """Whether this Rasa session already had this response (the ~400-character account block
    after every answer was one of issue 15's findings)."""
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            return False
        if (
            event.get("event") == "bot"
            and (event.get("metadata") or {}).get("utter_action") == response
        ):
            return True
    return False


def record_complaint(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """One complaint per conversation, added to; the first one opens a case for a person."""
    recorded = store().record_complaint(
        conversation_id(tracker), account_id_of(tracker), latest_text(tracker)[:2000]
    )
    if recorded.status == "added":
        dispatcher.utter_message(response="utter_complaint_added", reference=recorded.reference)
        return LEAVE_FORM
    escalate(tracker, "complaint", reference=recorded.reference)
    dispatcher.utter_message(response="utter_complaint_recorded", reference=recorded.reference)
    return LEAVE_FORM


def tell_when_a_person_comes(dispatcher: CollectingDispatcher) -> list[dict[str, Any]]:
    """Honest about availability: a person now, or when, with the offer to leave a message."""
    now = availability(store())
    if now.available:
        dispatcher.utter_message(response="utter_handoff")
        return []
    dispatcher.utter_message(
        response="utter_handoff_unavailable", next_contact=describe_next_contact(now)
    )
    return [FollowupAction("leave_message_form")]


class ActionEscalate(CalmAction):
    """Request for a person, or a disputed debt: record the case and say what happens next."""

    def name(self) -> str:
        return "action_escalate"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        intent = latest_intent(tracker)
        reason = reason_for_intent(intent)
        escalate(tracker, reason, message=latest_text(tracker)[:500])
        if reason == "dispute":
            dispatcher.utter_message(response="utter_dispute_ack")
        return LEAVE_FORM + tell_when_a_person_comes(dispatcher)


class ActionCrisisSupport(Action):
    """Distress: no money talk at all; the hotline first, then an urgent case for a person."""

    def name(self) -> str:
        return "action_crisis_support"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_crisis_support")
        try:
            escalate(tracker, "distress")
        except Exception:  # noqa: BLE001 - the hotline reply must go out whatever else fails
            import logging

            logging.getLogger(__name__).exception("could not record the distress escalation")
        return LEAVE_FORM


class ActionHandleComplaint(CalmAction):
    def name(self) -> str:
        return "action_handle_complaint"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_anger_ack")
        topic = topic_of(latest_text(tracker))
        if topic is not None:  # "半夜打电话催我，我要投诉": what the rules say, then the record
            dispatcher.utter_message(response=topic)
        return record_complaint(dispatcher, tracker)


class ActionRespondRefusal(Action):
    def name(self) -> str:
        return "action_respond_refusal"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if not answer_topic(dispatcher, tracker):  # "过了三年是不是就不用还了" is no refusal
            dispatcher.utter_message(response="utter_refuse_to_pay")
        return LEAVE_FORM


class ActionPostpone(Action):
    def name(self) -> str:
        return "action_postpone"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_postpone")
        return LEAVE_FORM


class ValidateContactTimeForm(CalmFormValidation):
    needs_verified_identity = False

    def name(self) -> str:
        return "validate_contact_time_form"

    async def validate_preferred_time(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(value or "").strip()
        return {"preferred_time": text[:200] or None}


class ActionRecordContactTime(CalmAction):
    def name(self) -> str:
        return "action_record_contact_time"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        preferred = tracker.get_slot("preferred_time")
        if preferred:
            store().record_contact_request(
                conversation_id(tracker), account_id_of(tracker), preferred
            )
            dispatcher.utter_message(
                response="utter_contact_time_recorded", preferred_time=preferred
            )
        return [SlotSet("preferred_time", None)]


class ActionFormDeclined(Action):
    def name(self) -> str:
        return "action_form_declined"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        declined = tracker.active_loop.get("name")
        if declined == "contact_time_form":
            dispatcher.utter_message(response="utter_contact_time_skipped")
        elif declined == "leave_message_form":
            dispatcher.utter_message(response="utter_no_message_left")
        else:
            dispatcher.utter_message(response="utter_form_declined")
        return LEAVE_FORM


class ActionMisunderstood(CalmAction):
    """One misunderstanding gets a rephrase prompt; two in a row go to a person."""

    def name(self) -> str:
        return "action_misunderstood"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if stays_with_the_person(dispatcher, tracker):  # a person is coming already
            return []
        if answer_topic(dispatcher, tracker):
            return []
        if consecutive_fallbacks(tracker.events) < MISUNDERSTANDINGS_BEFORE_HANDOFF:
            dispatcher.utter_message(response="utter_misunderstood")
            return []
        escalate(tracker, "misunderstood", message=latest_text(tracker)[:500])
        return LEAVE_FORM + tell_when_a_person_comes(dispatcher)


FALLBACK_ACTIONS = ("action_misunderstood", "action_default_fallback")
# The dialogue's fallback ends the turn itself: no policy is sure what comes after it, and
# Rasa would predict the fallback again and again until its circuit breaker tripped (the
# conversation suite found it, then a technical-problem reply on the next message).
END_OF_TURN = [FollowupAction("action_listen")]


def consecutive_fallbacks(events: list[dict[str, Any]]) -> int:
    """How many of the latest user messages in a row fell back, in NLU (``nlu_fallback``) or in
    the dialogue (no policy sure of the next step): derived, never stored."""
    count = 0
    answered = False  # whether a fallback action answered the user message being looked at
    for event in reversed(events):
        if event.get("event") == "action" and event.get("name") in FALLBACK_ACTIONS:
            answered = True
        if event.get("event") != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != "nlu_fallback" and not answered:
            break
        count += 1
        answered = False
    return count


class ActionDefaultFallback(CalmAction):
    """Rasa's core fallback (no policy sure what comes next), which replied with the
    technical-problem text (``utter_default``) although nothing had failed: the cause of most
    false alarms in issue 15's trial. Now a clarification that fits where the conversation is:
    the question of the open form again, the plans on the table as buttons, or the likely
    meanings; two in a row go to a person, as misunderstandings do."""

    def name(self) -> str:
        return "action_default_fallback"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        events = await self._clarify(dispatcher, tracker, domain)
        if any(event.get("event") == "followup" for event in events):
            return events  # the message form for a person who is not available now
        return [*events, *END_OF_TURN]

    async def _clarify(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if stays_with_the_person(dispatcher, tracker):  # a person is coming already
            return []
        if answer_topic(dispatcher, tracker):
            return []
        if tracker.get_slot("offer_batch") and verified_account_id(tracker):
            offers = store().offers_in_batch(
                conversation_id(tracker), tracker.get_slot("offer_batch")
            )
            if read_choice(latest_text(tracker), shown(offers)) is not None:  # "2" typed
                return await ActionSummarizePlan().act(dispatcher, tracker, domain)
        # this message fell back too: count it with those right before it
        latest = max(i for i, e in enumerate(tracker.events) if e.get("event") == "user")
        fallbacks = 1 + consecutive_fallbacks(tracker.events[:latest])
        if fallbacks >= MISUNDERSTANDINGS_BEFORE_HANDOFF:
            escalate(tracker, "misunderstood", message=latest_text(tracker)[:500])
            return LEAVE_FORM + tell_when_a_person_comes(dispatcher)
        requested = tracker.get_slot("requested_slot")
        if tracker.active_loop.get("name") and requested:
            dispatcher.utter_message(response="utter_clarify_step")
            dispatcher.utter_message(response=f"utter_ask_{requested}")
            return []
        if tracker.get_slot("selected_offer"):
            dispatcher.utter_message(response="utter_clarify_confirm")
            return []
        if tracker.get_slot("offer_batch"):
            dispatcher.utter_message(response="utter_clarify_plan_choice")
            return []
        dispatcher.utter_message(response="utter_misunderstood")
        return []


class ValidateLeaveMessageForm(CalmFormValidation):
    needs_verified_identity = False

    def name(self) -> str:
        return "validate_leave_message_form"

    async def validate_left_message(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"left_message": str(value or "").strip()[:2000] or None}


class ActionRecordLeftMessage(CalmAction):
    """The message left for the specialist goes onto the waiting case."""

    def name(self) -> str:
        return "action_record_left_message"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        text = tracker.get_slot("left_message")
        cases = Cases(store())
        waiting = [
            case
            for case in cases.queue(("open",))
            if case.conversation_id == conversation_id(tracker)
        ]
        if text and waiting:
            cases.record_held_message(waiting[0], text)
            dispatcher.utter_message(response="utter_message_left")
        return [SlotSet("left_message", None)]
