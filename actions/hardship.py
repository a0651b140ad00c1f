"""The hardship form: each answer read and checked, corrections accepted at any point."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    CalmFormValidation,
    latest_intent,
    latest_text,
    money,
    store,
    verified_account_id,
)
from bot.contract import HARDSHIP_REASON_NAMES
from bot.conversation.hardship import (
    answers_in,
    is_approximate,
    is_plan_talk,
    offered_monthly,
    read_corrections,
    read_dependents,
    read_items_total,
    read_money,
    read_reason,
    read_recovery_months,
)

FIELD_NAMES = {
    "monthly_income": "每月收入",
    "monthly_expenses": "每月必要开支",
    "other_debt_payments": "每月其他还款",
    "dependents": "抚养/赡养人数",
    "recovery_months": "预计恢复月数",
    "hardship_reason": "困难原因",
}
MONEY_FIELDS = ("monthly_income", "monthly_expenses", "other_debt_payments", "counter_monthly")
CONSENT = "data_consent"
LONG_STORY_CHARS = 15
QUESTION = re.compile(r"[吗嘛？?]|为什么|干嘛|干什么|凭什么|会不会|能不能|是不是")
COUNTER = "counter_monthly"


def shown_value(field: str, value: Any) -> str:
    """An answer as the cardholder reads it back: "6,000.00 元", "2 人", "6 个月"."""
    if field in MONEY_FIELDS:
        return f"{money(value)} 元"
    if field == "dependents":
        return f"{int(value)} 人"
    if field == "hardship_reason":
        return HARDSHIP_REASON_NAMES.get(str(value), str(value))
    return f"{int(value)} 个月"


class ValidateHardshipForm(CalmFormValidation):
    """Consent first (个人信息保护法 arts. 17, 28-29: what is asked, why, how long it is kept);
    a refusal ends the form at once. While negotiating ("都不行，太多了"), what the cardholder
    can pay each month is asked last, unless they already said it."""

    def name(self) -> str:
        return "validate_hardship_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        slots = await super().required_slots(domain_slots, dispatcher, tracker, domain)
        if tracker.get_slot(CONSENT) is False or not slots:
            return []
        starting = tracker.get_slot("requested_slot") is None  # not at every answer: one read
        if starting and store().active_arrangement(str(verified_account_id(tracker))):
            return []  # nothing to ask: the plans step tells what already stands
        skipped = {CONSENT} if tracker.get_slot(CONSENT) else set()
        if not tracker.get_slot("negotiating"):
            skipped.add(COUNTER)
        return [slot for slot in slots if slot not in skipped]

    async def validate_data_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {CONSENT: value if isinstance(value, bool) else None}

    async def validate_counter_monthly(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        amount = read_money(value)
        if not amount:
            if tracker.get_slot("requested_slot") == COUNTER:
                dispatcher.utter_message(response="utter_invalid_amount")
            return {COUNTER: None}
        self._say_if_approximate(amount, dispatcher, tracker)
        return {COUNTER: amount}

    def _also_said(self, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
        """Answers to later questions given with the reason, kept (and said back) so they are
        not asked again."""
        found = {
            field: value
            for field, value in answers_in(latest_text(tracker), "hardship_reason").items()
            if tracker.get_slot(field) is None
        }
        for field, value in found.items():
            dispatcher.utter_message(
                response="utter_answer_noted",
                field=FIELD_NAMES[field],
                value=shown_value(field, value),
            )
        return found

    def _say_if_approximate(
        self, amount: float, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> None:
        """ "四五千" is taken as 4,500 — and the cardholder is told so, to correct if need be."""
        if is_approximate(latest_text(tracker)):
            dispatcher.utter_message(response="utter_range_taken", value=money(amount))

    # --- corrections: "刚才收入说错了，应该是六千" -----------------------------------------------

    def _correction(self, tracker: Tracker, field: str) -> dict[str, Any]:
        if latest_intent(tracker) != "correct_info" and tracker.get_slot("requested_slot") == field:
            return {}
        found = read_corrections(latest_text(tracker))
        return {field: found[field]} if field in found else {}

    async def extract_hardship_reason(self, *args: Any) -> dict[str, Any]:
        return self._correction(args[1], "hardship_reason")

    async def extract_monthly_income(self, *args: Any) -> dict[str, Any]:
        return self._correction(args[1], "monthly_income")

    async def extract_monthly_expenses(self, *args: Any) -> dict[str, Any]:
        return self._correction(args[1], "monthly_expenses")

    async def extract_other_debt_payments(self, *args: Any) -> dict[str, Any]:
        return self._correction(args[1], "other_debt_payments")

    async def extract_dependents(self, *args: Any) -> dict[str, Any]:
        return self._correction(args[1], "dependents")

    async def extract_recovery_months(self, *args: Any) -> dict[str, Any]:
        return self._correction(args[1], "recovery_months")

    # --- validation ------------------------------------------------------------------------

    def _checked(
        self,
        field: str,
        value: Any,
        reader: Callable[[Any], Any | None],
        invalid_response: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
    ) -> dict[str, Any]:
        text = latest_text(tracker)
        corrections = read_corrections(text)
        if corrections and field not in corrections:
            return {field: None}  # the text corrects another answer; keep asking this one
        if tracker.get_slot("requested_slot") == field:
            offered = offered_monthly(text)
            if offered is not None:  # what they can pay, not this answer: kept for the plans
                dispatcher.utter_message(response="utter_counter_noted", cap=money(offered))
                return {field: None, COUNTER: offered, "negotiating": True}
            if is_plan_talk(text):  # the plans come right after these questions
                dispatcher.utter_message(response="utter_form_first_finish")
                return {field: None}
        parsed = reader(value)
        if parsed is None and QUESTION.search(text):  # "问这个干嘛", "你们会给别人看吗"
            dispatcher.utter_message(response="utter_why_we_ask")
            return {field: None}
        if parsed is None:
            dispatcher.utter_message(response=invalid_response)
            return {field: None}
        if field in MONEY_FIELDS:
            self._say_if_approximate(parsed, dispatcher, tracker)
        # said only for a correction this message makes: when the form starts again (a second
        # request for plans) Rasa validates every answer already given, and each got an
        # "已经更正为" line (five of them in issue 15's trial)
        if tracker.get_slot("requested_slot") != field and field in corrections:
            dispatcher.utter_message(
                response="utter_correction_applied",
                field=FIELD_NAMES[field],
                value=shown_value(field, parsed),
            )
        return {field: parsed}

    async def validate_hardship_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reason = read_reason(value, latest_text(tracker))
        if reason is None and len(latest_text(tracker)) >= LONG_STORY_CHARS:
            # a story of what happened deserves to be heard before a category is asked for
            dispatcher.utter_message(response="utter_hardship_story_heard")
        elif reason is None:
            dispatcher.utter_message(response="utter_invalid_hardship_reason")
        else:
            return {"hardship_reason": reason, **self._also_said(dispatcher, tracker)}
        return {"hardship_reason": reason}

    async def validate_monthly_income(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._checked(
            "monthly_income", value, read_money, "utter_invalid_amount", dispatcher, tracker
        )

    async def validate_monthly_expenses(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._checked(
            "monthly_expenses", value, read_items_total, "utter_invalid_amount", dispatcher, tracker
        )

    async def validate_other_debt_payments(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._checked(
            "other_debt_payments",
            value,
            read_items_total,
            "utter_invalid_amount",
            dispatcher,
            tracker,
        )

    async def validate_dependents(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._checked(
            "dependents", value, read_dependents, "utter_invalid_count", dispatcher, tracker
        )

    async def validate_recovery_months(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._checked(
            "recovery_months",
            value,
            read_recovery_months,
            "utter_invalid_months",
            dispatcher,
            tracker,
        )
