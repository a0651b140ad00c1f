"""A widget conversation's history as the server knows it, so a reload or a new device shows
the same conversation: the tracker's turns, plus the specialist's and system messages and the
cardholder's messages while a person held the chat (those never reach Rasa's tracker).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.db import models
from bot.db.store import Store
from bot.handoff.outbox import OutgoingMessage
from bot.nlg import localise_message

MAX_HISTORY = 200


def _epoch(moment: datetime) -> float:
    if moment.tzinfo is None:  # SQLite hands back naive datetimes; they were stored as UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def tracker_entries(tracker: DialogueStateTracker) -> list[dict[str, Any]]:
    """User and bot messages of the tracker; a button click shows the button's title, not its
    payload (``/choose_plan{...}`` means nothing to a cardholder)."""
    entries: list[dict[str, Any]] = []
    titles: dict[str, str] = {}
    for event in tracker.events:
        if isinstance(event, BotUttered):
            buttons = list((event.data or {}).get("buttons") or [])
            titles = {str(b.get("payload")): str(b.get("title")) for b in buttons}
            if event.text or buttons:
                entry = {"role": "bot", "text": event.text or "", "at": event.timestamp}
                if buttons:
                    entry["buttons"] = buttons
                custom = (event.data or {}).get("custom")
                if isinstance(custom, dict) and custom:
                    entry["custom"] = custom  # e.g. a plan's folded terms
                entries.append(entry)
        elif isinstance(event, UserUttered) and event.text is not None:
            text = titles.get(event.text, event.text)
            entry = {"role": "user", "text": text, "at": event.timestamp}
            if event.message_id:
                entry["id"] = event.message_id
            entries.append(entry)
    return entries


def store_entries(
    store: Store, conversation_id: str, channel: str, script: str | None
) -> list[dict[str, Any]]:
    """Delivered outbox messages (specialist, system, bot resumes) and held cardholder messages."""
    entries: list[dict[str, Any]] = []
    for row in store.rows(models.OutboxMessage, conversation_id=conversation_id, channel=channel):
        if row.delivered_at is None:
            continue  # still pending: the delivery loop sends it right after the history
        message = OutgoingMessage(
            row.id, row.conversation_id, row.channel, row.author, row.text,
            dict(row.payload or {}), row.created_at,
        )  # fmt: skip
        entry = {"role": "bot", "at": _epoch(row.created_at)}
        entry.update(as_widget_message(message, script))
        entries.append(entry)
    for row in store.rows(models.HeldMessage, conversation_id=conversation_id):
        entries.append({"role": "user", "text": row.text, "at": _epoch(row.created_at)})
    return entries


def as_widget_message(message: OutgoingMessage, script: str | None) -> dict[str, Any]:
    """An outbox message as the widget renders it: text, buttons, and who wrote it."""
    payload = dict(message.payload)
    reply: dict[str, Any] = {
        "text": message.text,
        "custom": {"author": message.author, **payload},
    }
    if payload.get("buttons"):
        reply["buttons"] = payload["buttons"]
    return localise_message(reply, script)


def merged(*parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All entries by time (stable, so same-moment entries keep their order), newest kept."""
    entries = sorted((e for part in parts for e in part), key=lambda e: e["at"])
    return entries[-MAX_HISTORY:]
