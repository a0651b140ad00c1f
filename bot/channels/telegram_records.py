"""The Telegram channel's own rows: update ids already taken in and button payloads.

Kept apart from the conversation's Store because they are transport bookkeeping, not decisions.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from bot.channels.telegram_format import MAX_CALLBACK_BYTES
from bot.clock import now_utc
from bot.db import models
from bot.db.store import Store

CALLBACK_ID_BYTES = 9  # 12 URL-safe characters
# Marks a stored "details" button: its text is shown by the channel, never sent to Rasa. Rasa
# payloads are intents ("/choose_plan…") or typed text, which never start with a control character.
DETAILS_MARK = "\x1ddetails\x1d"


def details_of(payload: str) -> str | None:
    """The text behind a "details" button's stored payload; None for a payload meant for Rasa."""
    return payload[len(DETAILS_MARK) :] if payload.startswith(DETAILS_MARK) else None


class TelegramRecords:
    def __init__(self, store: Store) -> None:
        self.store = store

    def claim_update(self, update_id: int) -> bool:
        """True the first time an update id is seen; False for every repeat (a retry)."""
        try:
            with self.store._session() as session, session.begin():
                session.add(models.TelegramUpdate(update_id=update_id))
        except IntegrityError:
            return False
        return True

    def remember_button(self, chat_id: str, payload: str) -> str:
        """Store a button's payload; the returned short id goes out as callback_data."""
        callback_id = secrets.token_urlsafe(CALLBACK_ID_BYTES)
        assert len(callback_id.encode()) <= MAX_CALLBACK_BYTES
        with self.store._session() as session, session.begin():
            session.add(models.TelegramCallback(id=callback_id, chat_id=chat_id, payload=payload))
        return callback_id

    def remember_details(self, chat_id: str, text: str) -> str:
        """Store a card's full terms behind a button; the short id goes out as callback_data."""
        return self.remember_button(chat_id, DETAILS_MARK + text)

    def button_payload(self, chat_id: str, callback_id: str) -> str | None:
        """The payload behind a pressed button, only for the chat it was sent to."""
        with self.store._session() as session:
            row = session.get(models.TelegramCallback, callback_id[:16])
            if row is None or row.chat_id != chat_id:
                return None
            return row.payload

    def prune(self, now: datetime | None = None, keep: timedelta = timedelta(days=30)) -> None:
        """Forget old update ids (Telegram keeps updates 24 hours) and old buttons."""
        cutoff = (now or now_utc()) - keep
        with self.store._session() as session, session.begin():
            session.execute(
                delete(models.TelegramUpdate).where(models.TelegramUpdate.received_at < cutoff)
            )
            session.execute(
                delete(models.TelegramCallback).where(models.TelegramCallback.created_at < cutoff)
            )
