"""Payment reminders the day before a promised date, never at night.

The bank contacts no cardholder between 22:00 and 08:00 local time (the zone of
policy/handoff.yml). A reminder is posted to the outbox once per open promise made in a
Telegram conversation, on the day before its due date within the allowed hours, and the
delivery loop checks the window again before sending (a 429 can push a send past 22:00).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.db import models
from bot.db.store import Store
from bot.responses import render
from bot.settings import PROJECT_ROOT

CHANNEL = "telegram"
EARLIEST = time(8, 0)
LATEST = time(22, 0)  # exclusive: 22:00 is already too late
REMINDER_KIND = "payment_reminder"


@lru_cache(maxsize=1)
def local_zone() -> ZoneInfo:
    policy = yaml.safe_load((PROJECT_ROOT / "policy" / "handoff.yml").read_text(encoding="utf-8"))
    return ZoneInfo(policy.get("timezone") or "Asia/Shanghai")


def may_contact(at: datetime, zone: ZoneInfo | None = None) -> bool:
    """True from 08:00 up to (not including) 22:00 local time. ``at`` must be timezone-aware."""
    if at.tzinfo is None:
        raise ValueError("a timezone-aware time is needed to apply the contact hours")
    local = at.astimezone(zone or local_zone()).time()
    return EARLIEST <= local < LATEST


def reminder_day(due: date) -> date:
    return due - timedelta(days=1)


def reminder_due(
    due: date, promised_at: datetime, at: datetime, zone: ZoneInfo | None = None
) -> bool:
    """Post now? Only on the local day before ``due``, within the contact hours, and not for a
    promise made that same day (the cardholder has just heard the date)."""
    zone = zone or local_zone()
    today = at.astimezone(zone).date()
    promised_on = _aware(promised_at).astimezone(zone).date()
    return today == reminder_day(due) and promised_on < today and may_contact(at, zone)


def still_useful(due: date, at: datetime, zone: ZoneInfo | None = None) -> bool:
    """A reminder not sent before the due date is dropped rather than sent late."""
    return at.astimezone(zone or local_zone()).date() < due


def _aware(moment: datetime) -> datetime:
    # SQLite returns naive datetimes; the product stores UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))


def format_amount(amount: Decimal) -> str:
    return f"{Decimal(amount):,.2f}"


class Reminders:
    def __init__(self, store: Store) -> None:
        self.store = store

    def post_due(self, at: datetime, zone: ZoneInfo | None = None) -> list[int]:
        """Post the reminders due at ``at``; returns their outbox ids. Safe to call every poll."""
        zone = zone or local_zone()
        if not may_contact(at, zone):
            return []
        tomorrow = at.astimezone(zone).date() + timedelta(days=1)
        telegram_chats = select(models.VerifiedSession.conversation_id).where(
            models.VerifiedSession.channel == CHANNEL
        )
        reminded = select(models.PaymentReminder.promise_id)
        query = select(models.Promise).where(
            models.Promise.status == "open",
            models.Promise.due_date == tomorrow,
            models.Promise.conversation_id.in_(telegram_chats),
            models.Promise.id.not_in(reminded),
        )
        with self.store._session() as session:
            promises = list(session.execute(query).scalars())
        posted: list[int] = []
        for promise in promises:
            if not reminder_due(promise.due_date, promise.created_at, at, zone):
                continue
            text = render(
                "utter_telegram_payment_reminder",
                due_date=promise.due_date.isoformat(),
                amount=format_amount(promise.amount),
                reference=promise.reference,
            )
            try:
                with self.store._session() as session, session.begin():
                    # one transaction: the promise's primary key in payment_reminders makes a
                    # second poster (another process) fail instead of reminding twice
                    message = models.OutboxMessage(
                        conversation_id=promise.conversation_id,
                        channel=CHANNEL,
                        author="system",
                        text=text,
                        payload={"kind": REMINDER_KIND, "due_date": promise.due_date.isoformat()},
                    )
                    session.add(message)
                    session.flush()
                    session.add(
                        models.PaymentReminder(promise_id=promise.id, outbox_message_id=message.id)
                    )
            except IntegrityError:
                continue
            posted.append(message.id)
        return posted
