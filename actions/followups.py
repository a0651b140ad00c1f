"""Short answers that only make sense where the conversation is: "好的", and corrections given
after the plans were shown ("刚才收入说错了，应该是六千")."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    CalmAction,
    escalate,
    latest_text,
    stays_with_the_person,
    verified_account,
)
from actions.hardship import FIELD_NAMES, shown_value
from actions.plans import (
    ActionProposePlans,
    ActionSummarizePlan,
    ask_which_plan,
    chosen_offer,
    tell_what_stands,
)
from actions.support import LEAVE_FORM, tell_when_a_person_comes
from bot.conversation.hardship import read_corrections


def offered_payloads(tracker: Tracker) -> list[str]:
    """The button payloads the assistant offered in its answer to the previous message."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1  # the first is the "好的" being answered, the second the one before
            if users == 2:
                return []
            continue
        buttons = (event.get("data") or {}).get("buttons") if event.get("event") == "bot" else None
        if users == 1 and buttons:
            return [str(b.get("payload", "")) for b in buttons if isinstance(b, dict)]
    return []


class ActionRespondAffirm(CalmAction):
    """A "好的" that no fixed turn expects. In issue 15's trial it got the technical-problem
    text at the plan choice; now it means what the conversation makes it mean: the person the
    assistant just offered, the plan already chosen (summarised again to confirm), or a question
    which plan, when several are on the table; else a friendly "what next"."""

    def name(self) -> str:
        return "action_respond_affirm"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if stays_with_the_person(dispatcher, tracker):
            return []
        if "/request_human" in offered_payloads(tracker):
            escalate(tracker, "request_human", message=latest_text(tracker)[:500])
            return LEAVE_FORM + tell_when_a_person_comes(dispatcher)
        account = verified_account(tracker)
        if account is not None and tracker.get_slot("offer_batch"):
            if tell_what_stands(dispatcher, account.account_id):
                return [SlotSet("selected_offer", None), SlotSet("plan_choice", None)]
            offer, offers = chosen_offer(tracker)
            if offer is not None and tracker.get_slot("selected_offer") == offer.id:
                return await ActionSummarizePlan().act(dispatcher, tracker, domain)
            if offers:
                return ask_which_plan(dispatcher, tracker, offers)
        dispatcher.utter_message(response="utter_affirm_nothing_pending")
        return []


class ActionApplyCorrection(CalmAction):
    """A correction outside the hardship form: the answer is changed, the cardholder hears
    what changed, and plans already shown are computed again from the corrected figures."""

    def name(self) -> str:
        return "action_apply_correction"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if stays_with_the_person(dispatcher, tracker):
            return []
        found = read_corrections(latest_text(tracker))
        if not found:
            dispatcher.utter_message(response="utter_correction_unclear")
            return []
        events: list[dict[str, Any]] = [SlotSet(field, value) for field, value in found.items()]
        recompute = bool(tracker.get_slot("offer_batch")) and verified_account(tracker) is not None
        for field, value in found.items():
            old = tracker.get_slot(field)
            if recompute and old is not None:
                dispatcher.utter_message(
                    response="utter_correction_changed",
                    field=FIELD_NAMES[field],
                    old=shown_value(field, old),
                    new=shown_value(field, value),
                )
            else:
                dispatcher.utter_message(
                    response="utter_correction_noted",
                    field=FIELD_NAMES[field],
                    new=shown_value(field, value),
                )
        if not recompute:
            return events
        # the plans again, from the corrected figures (in this turn: no follow-up action that
        # the dialogue policies would have to learn)
        dispatcher.utter_message(response="utter_recompute_plans")
        tracker.slots.update(found)
        tracker.slots["negotiating"] = False
        again = await ActionProposePlans().act(dispatcher, tracker, domain)
        return [*events, SlotSet("negotiating", False), *again]
