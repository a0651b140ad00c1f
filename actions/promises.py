"""Promise to pay: an amount and a date, resolved, checked and confirmed back."""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    CalmAction,
    CalmFormValidation,
    conversation_id,
    latest_text,
    money,
    stays_with_the_person,
    store,
    verified_account,
)
from bot.clock import today
from bot.conversation.hardship import read_money
from bot.nlu.numbers import parse_date
from bot.nlu.script import to_simplified

LATEST_PROMISE_DAYS = 90


def read_promise_date(value: Any, on: date) -> date | None:
    """An ISO date from the NLU, or words like "下周五"; from today up to 90 days ahead."""
    text = str(value or "")
    try:
        resolved: date | None = date.fromisoformat(text)
    except ValueError:
        resolved = parse_date(to_simplified(text), on)
    if resolved is None or not on <= resolved <= on + timedelta(days=LATEST_PROMISE_DAYS):
        return None
    return resolved


_DAY = re.compile(r"([0-9０-９]+|[一二三四五六七八九十两]+)\s*(号|號|日)(?!元)")


def amount_is_a_day(text: str, amount: float) -> bool:
    """ "大概10号发工资": the 10 is a day of the month, not ten yuan."""
    for number, _unit in _DAY.findall(to_simplified(text or "")):
        if read_money(number) == amount:
            return True
    return False


class ValidatePromiseForm(CalmFormValidation):
    def name(self) -> str:
        return "validate_promise_form"

    async def validate_promise_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        amount = read_money(value)
        if not amount:
            dispatcher.utter_message(response="utter_invalid_amount")
            return {"promise_amount": None}
        if amount_is_a_day(latest_text(tracker), amount):
            dispatcher.utter_message(response="utter_promise_amount_is_a_day", day=int(amount))
            return {"promise_amount": None}
        account = verified_account(tracker)
        if account is not None and Decimal(str(amount)) > account.total_due:
            dispatcher.utter_message(
                response="utter_promise_above_balance",
                amount=money(amount),
                total_due=money(account.total_due),
            )
            return {"promise_amount": None}
        if account is not None and Decimal(str(amount)) < account.minimum_payment:
            dispatcher.utter_message(
                response="utter_promise_below_minimum",
                amount=money(amount),
                minimum_payment=money(account.minimum_payment),
            )
        return {"promise_amount": amount}

    async def validate_promise_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        resolved = read_promise_date(value, today())
        if resolved is None:
            dispatcher.utter_message(response="utter_invalid_date")
            return {"promise_date": None}
        return {"promise_date": resolved.isoformat()}


class ActionRecordPromise(CalmAction):
    def name(self) -> str:
        return "action_record_promise"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if stays_with_the_person(dispatcher, tracker):
            return [SlotSet("promise_amount", None), SlotSet("promise_date", None)]
        account = verified_account(tracker)
        amount, due = tracker.get_slot("promise_amount"), tracker.get_slot("promise_date")
        if account is None or amount is None or due is None:
            return []
        recorded = store().record_promise(
            conversation_id(tracker),
            account.account_id,
            Decimal(str(amount)),
            date.fromisoformat(due),
        )
        dispatcher.utter_message(
            response="utter_promise_recorded",
            reference=recorded.reference,
            amount=money(amount),
            due_date=due,
        )
        return [
            SlotSet("promise_amount", None),
            SlotSet("promise_date", None),
            SlotSet("pending_goal", None),
        ]
