"""The hardship form: each answer read and checked, corrections accepted at any point."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import CalmFormValidation, latest_intent, latest_text
from bot.conversation.hardship import (
    read_correction,
    read_dependents,
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
}


class ValidateHardshipForm(CalmFormValidation):
    def name(self) -> str:
        return "validate_hardship_form"

    # --- corrections: "刚才收入说错了，应该是六千" -----------------------------------------------

    def _correction(self, tracker: Tracker, field: str) -> dict[str, Any]:
        if latest_intent(tracker) != "correct_info" and tracker.get_slot("requested_slot") == field:
            return {}
        found = read_correction(latest_text(tracker))
        if found is None or found[0] != field:
            return {}
        return {field: found[1]}

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
        correction = read_correction(latest_text(tracker))
        if correction is not None and correction[0] != field:
            return {field: None}  # the text corrects another answer; keep asking this one
        parsed = reader(value)
        if parsed is None:
            dispatcher.utter_message(response=invalid_response)
            return {field: None}
        if tracker.get_slot("requested_slot") != field:
            dispatcher.utter_message(
                response="utter_correction_applied", field=FIELD_NAMES[field], value=parsed
            )
        return {field: parsed}

    async def validate_hardship_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        reason = read_reason(value, latest_text(tracker))
        if reason is None:
            dispatcher.utter_message(response="utter_invalid_hardship_reason")
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
            "monthly_expenses", value, read_money, "utter_invalid_amount", dispatcher, tracker
        )

    async def validate_other_debt_payments(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self._checked(
            "other_debt_payments", value, read_money, "utter_invalid_amount", dispatcher, tracker
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
