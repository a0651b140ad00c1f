"""Questions about what was already agreed: when is the first instalment, how much, can I pay
early, what if I miss one — answered from the stored agreement or promise, never guessed."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    CalmAction,
    latest_text,
    money,
    stays_with_the_person,
    store,
    verified_account,
)
from actions.plans import ARRANGEMENT_STATUS, payments_of
from bot.conversation.arrangement import asks_about
from bot.db.store import ArrangementView


class ActionAnswerArrangement(CalmAction):
    def name(self) -> str:
        return "action_answer_arrangement"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        # pending_goal stays: the rule that brought the dialogue here names it, and resetting
        # it left no rule to end the turn (Rasa then predicted fallbacks until its circuit
        # breaker tripped, seen in the conversation suite)
        done: list[dict[str, Any]] = []
        if stays_with_the_person(dispatcher, tracker):
            return done
        account = verified_account(tracker)
        if account is None:
            return done
        standing = store().active_arrangement(account.account_id)
        if standing is not None:
            tell_the_terms(dispatcher, standing, asks_about(latest_text(tracker)))
            return done
        promise = store().open_promise(account.account_id)
        if promise is not None:
            dispatcher.utter_message(
                response="utter_promise_overview",
                reference=promise.reference,
                amount=money(promise.amount),
                due_date=promise.due_date.isoformat(),
            )
            return done
        dispatcher.utter_message(response="utter_no_arrangement")
        return done


def tell_the_terms(
    dispatcher: CollectingDispatcher, standing: ArrangementView, topics: set[str]
) -> None:
    """The overview always (reference, status, first and last instalment), then what was
    asked: paying early, missing one, or that an application is not yet in force."""
    detail = standing.detail
    schedule = detail.get("schedule") or []
    first = schedule[0] if schedule else {}
    dispatcher.utter_message(
        response="utter_arrangement_overview",
        reference=standing.reference,
        status=ARRANGEMENT_STATUS.get(standing.status, standing.status),
        monthly_payment=money(standing.monthly_payment),
        payments=payments_of(detail) if detail else standing.months,
        first_due_date=first.get("due_date") or standing.first_due_date,
        first_amount=money(first.get("amount", standing.monthly_payment)),
        last_due_date=detail.get("last_due_date") or standing.first_due_date,
    )
    if standing.status == "pending_approval":
        dispatcher.utter_message(response="utter_arrangement_pending")
    if "early" in topics:
        dispatcher.utter_message(response="utter_arrangement_early")
    if "missed" in topics:
        dispatcher.utter_message(response="utter_arrangement_missed")
