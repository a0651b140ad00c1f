"""Proactive messages to Telegram: the outbox rows of channel "telegram" (specialists' replies,
application outcomes, payment reminders), sent by a loop inside the Rasa process.

Telegram's flood limit (429) pauses all sending for the time it asks and the message stays
queued; a cardholder who blocked the bot is recorded once and never retried; any other error
is retried later with a growing pause, a bounded number of times. Messages of one chat keep
their order: after a failure the chat's later messages wait for the next round.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from telegram.error import Forbidden, RetryAfter, TelegramError

from bot.channels.background import one_worker_at_a_time
from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.telegram_format import retry_seconds
from bot.channels.telegram_output import TelegramSender
from bot.channels.telegram_records import TelegramRecords
from bot.channels.telegram_reminders import (
    REMINDER_KIND,
    Reminders,
    local_zone,
    may_contact,
    still_useful,
)
from bot.clock import now_utc
from bot.db import models
from bot.db.store import Store
from bot.handoff.outbox import OutgoingMessage
from bot.privacy import mask

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
BATCH = 50
MAX_ATTEMPTS = 8
MAX_BACKOFF_S = 600
POLL_SECONDS = 1.0
HOUSEKEEPING_EVERY = 30  # rounds between reminder scans and pruning


@dataclass
class Round:
    delivered: int = 0
    blocked: int = 0
    failed: int = 0
    paused: bool = False


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(MAX_BACKOFF_S, 5 * 2**attempts))


FLOOD_PAUSE = "delivery"  # the row of telegram_pauses that delivery rounds wait for


class TelegramDelivery:
    def __init__(
        self,
        store: Store,
        sender: TelegramSender,
        bridge: HandoffBridge,
        clock: Callable[[], datetime] = now_utc,
        zone: ZoneInfo | None = None,
    ) -> None:
        self.store = store
        self.sender = sender
        self.bridge = bridge
        self.clock = clock
        self.zone = zone or local_zone()
        self.reminders = Reminders(store)
        self.records = TelegramRecords(store)

    def due(self, at: datetime, limit: int = BATCH) -> list[OutgoingMessage]:
        """Undelivered Telegram messages not given up on and not waiting for a retry time."""
        outbox, state = models.OutboxMessage, models.TelegramDelivery
        query = (
            select(outbox)
            .outerjoin(state, state.outbox_message_id == outbox.id)
            .where(
                outbox.channel == CHANNEL,
                outbox.delivered_at.is_(None),
                or_(
                    state.status.is_(None),
                    and_(state.status == "retry", state.next_attempt_at <= at),
                ),
            )
            .order_by(outbox.id)
            .limit(limit)
        )
        with self.store._session() as session:
            return [
                OutgoingMessage(
                    id=row.id,
                    conversation_id=row.conversation_id,
                    channel=row.channel,
                    author=row.author,
                    text=row.text,
                    payload=dict(row.payload or {}),
                    created_at=row.created_at,
                )
                for row in session.execute(query).scalars()
            ]

    def chats_waiting(self, at: datetime) -> set[str]:
        """Chats with a message waiting for its retry time: their later messages wait too."""
        outbox, state = models.OutboxMessage, models.TelegramDelivery
        query = (
            select(outbox.conversation_id)
            .join(state, state.outbox_message_id == outbox.id)
            .where(
                outbox.channel == CHANNEL,
                outbox.delivered_at.is_(None),
                state.status == "retry",
                state.next_attempt_at > at,
            )
        )
        with self.store._session() as session:
            return set(session.execute(query).scalars())

    def paused(self, at: datetime) -> bool:
        """Whether a flood limit (told to any worker) still holds."""
        pause = models.TelegramPause
        query = select(pause.name).where(pause.name == FLOOD_PAUSE, pause.until > at)
        with self.store._session() as session:
            return session.execute(query).first() is not None

    def pause(self, until: datetime) -> None:
        with self.store._session() as session, session.begin():
            session.merge(models.TelegramPause(name=FLOOD_PAUSE, until=until))

    def note(self, message_id: int, status: str, error: str, at: datetime) -> None:
        """Record a failed attempt; after MAX_ATTEMPTS a retry becomes ``failed``."""
        with self.store._session() as session, session.begin():
            row = session.get(models.TelegramDelivery, message_id)
            if row is None:
                row = models.TelegramDelivery(outbox_message_id=message_id, attempts=0)
                session.add(row)
            row.attempts = (row.attempts or 0) + 1
            if status == "retry" and row.attempts >= MAX_ATTEMPTS:
                status = "failed"
            row.status = status
            row.last_error = error[:200]
            row.next_attempt_at = at + backoff(row.attempts) if status == "retry" else None
            row.updated_at = at

    async def run_once(self, agent: Any = None) -> Round:
        """One bounded pass over at most BATCH messages."""
        at = self.clock()
        result = Round()
        if self.paused(at):
            result.paused = True
            return result
        waiting_chats = self.chats_waiting(at)
        scripts: dict[str, str | None] = {}
        for message in self.due(at):
            chat_id = message.conversation_id
            if chat_id in waiting_chats:
                continue
            if message.payload.get("kind") == REMINDER_KIND:
                if not still_useful(date.fromisoformat(message.payload["due_date"]), at, self.zone):
                    self.note(message.id, "expired", "due date passed before sending", at)
                    continue
                if not may_contact(at, self.zone):
                    waiting_chats.add(chat_id)  # waits for the morning
                    continue
            if chat_id not in scripts:
                scripts[chat_id] = await self.bridge.script_of(agent, chat_id)
            try:
                await self.sender.send(chat_id, self.bridge.as_reply(message, scripts[chat_id]))
            except RetryAfter as error:
                seconds = retry_seconds(error)
                self.pause(until=at + timedelta(seconds=seconds))
                logger.warning("Telegram flood limit: pausing delivery for %.0f s", seconds)
                result.paused = True
                return result
            except Forbidden as error:
                logger.warning(
                    "chat %s has blocked the bot; outbox message %s not delivered",
                    mask(chat_id),
                    message.id,
                )
                self.note(message.id, "blocked", str(error), at)
                result.blocked += 1
                continue
            except TelegramError as error:
                logger.warning(
                    "sending outbox message %s to %s failed (%s); retried later",
                    message.id,
                    mask(chat_id),
                    type(error).__name__,
                )
                self.note(message.id, "retry", f"{type(error).__name__}: {error}", at)
                waiting_chats.add(chat_id)
                result.failed += 1
                continue
            self.bridge.outbox.mark_delivered([message.id])
            result.delivered += 1
        return result

    def housekeeping(self) -> None:
        """Post due payment reminders and forget old update ids and buttons."""
        at = self.clock()
        posted = self.reminders.post_due(at, self.zone)
        if posted:
            logger.info("posted %d payment reminder(s)", len(posted))
        self.records.prune(at)

    async def run(
        self, agent_of: Callable[[], Any], stop: asyncio.Event, poll_seconds: float = POLL_SECONDS
    ) -> None:
        """Background task of the Rasa process, until ``stop`` is set."""
        rounds = 0
        while not stop.is_set():
            agent = agent_of()
            try:
                async with one_worker_at_a_time(agent, "telegram-delivery"):
                    if rounds % HOUSEKEEPING_EVERY == 0:
                        self.housekeeping()
                    await self.run_once(agent)
            except Exception:  # noqa: BLE001 - keep delivering; the messages stay queued
                logger.exception("Telegram delivery round failed")
            rounds += 1
            try:
                await asyncio.wait_for(stop.wait(), timeout=poll_seconds)
            except asyncio.TimeoutError:
                pass
