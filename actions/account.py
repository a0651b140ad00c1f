"""What the cardholder can learn about the verified account."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    CalmAction,
    escalate,
    money,
    stays_with_the_person,
    store,
    verified_account,
)
from bot.clock import now_utc, today
from bot.conversation.consequences import overdraft_threshold_reached, stage
from bot.db.store import AccountView

RECENT_PAYMENT_DAYS = 14


def utter_personal_consequences(dispatcher: CollectingDispatcher, account: AccountView) -> None:
    """Consequences made personal: stage, report status, what comes next, 恶意透支 conditions."""
    overdue = account.overdue_days(today())
    current = stage(overdue)
    dispatcher.utter_message(
        response="utter_personal_consequences",
        overdue_days=overdue,
        report_code=current.report_code,
        report_range=current.report_range,
        next_stage=current.next_stage,
    )
    response = (
        "utter_overdraft_conditions"
        if overdraft_threshold_reached(account.principal)
        else "utter_overdraft_not_applicable"
    )
    dispatcher.utter_message(response=response, principal=money(account.principal))


class ActionShowBalance(CalmAction):
    def name(self) -> str:
        return "action_show_balance"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if stays_with_the_person(dispatcher, tracker):
            return []
        account = verified_account(tracker)
        if account is None:
            return []
        dispatcher.utter_message(
            response="utter_balance",
            as_of=today().isoformat(),
            total_due=money(account.total_due),
            principal=money(account.principal),
            interest=money(account.interest),
            penalty=money(account.penalty),
            minimum_payment=money(account.minimum_payment),
            overdue_days=account.overdue_days(today()),
        )
        utter_personal_consequences(dispatcher, account)
        dispatcher.utter_message(response="utter_offer_plans_next")
        return []


class ActionCheckPayment(CalmAction):
    """Check a claimed payment against the account; record the claim when none is found."""

    def name(self) -> str:
        return "action_check_payment"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        account = verified_account(tracker)
        if account is None:
            return []
        since = now_utc() - timedelta(days=RECENT_PAYMENT_DAYS)
        payments = store().payments_since(account.account_id, since)
        if payments:
            amount, paid_at = payments[0]
            dispatcher.utter_message(
                response="utter_payment_found",
                amount=money(amount),
                paid_at=paid_at.date().isoformat(),
            )
        else:
            escalate(
                tracker,
                "payment_not_found",
                claim=tracker.latest_message.get("text", "")[:500],
            )
            dispatcher.utter_message(response="utter_payment_not_found")
        return []
