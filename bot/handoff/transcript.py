"""One conversation as a specialist reads it: cardholder, bot, specialist and system, by time.

Three sources make the whole picture: Rasa's tracker store (table ``events`` in the same
database: what the cardholder said to the bot and what the bot answered), ``held_messages``
(what the cardholder wrote while a specialist held the chat, which Rasa never saw) and the
outbox (what specialists and the system sent).

Each line once: what the bot said after a hand-back (or when a Telegram reply failed) is in the
tracker *and* queued in the outbox for delivery, so the outbox's ``bot`` rows are not shown; the
intent a hand-back replays (Rasa's ``EXTERNAL: request_installment``, through its internal
collector channel) is not something the cardholder said, and is not shown either.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, inspect, select
from sqlalchemy.engine import Engine

from bot.db import models
from bot.db.store import Store

# Rasa's text for an intent it was asked to run (rasa.shared.core.constants; a test checks it)
EXTERNAL_MESSAGE_PREFIX = "EXTERNAL: "
COLLECTOR_CHANNEL = "collector"  # Rasa's internal output channel, which a hand-back uses

# The columns of Rasa's SQLTrackerStore table that the transcript needs (Rasa creates it).
_metadata = MetaData()
rasa_events = Table(
    "events",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("data", Text),
)

_engines_with_events: set[int] = set()
MAX_ITEMS_PER_SOURCE = 2000


def _has_events_table(engine: Engine) -> bool:
    """Rasa creates ``events`` on first start; remember it once seen (tables do not vanish)."""
    if id(engine) in _engines_with_events:
        return True
    if inspect(engine).has_table("events"):
        _engines_with_events.add(id(engine))
        return True
    return False


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; everything is stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _rasa_items(
    store: Store, conversation_id: str
) -> list[tuple[datetime, int, int, dict[str, Any]]]:
    if not _has_events_table(store.engine):
        return []
    query = (
        select(
            rasa_events.c.id, rasa_events.c.type_name, rasa_events.c.timestamp, rasa_events.c.data
        )
        .where(
            rasa_events.c.sender_id == conversation_id,
            rasa_events.c.type_name.in_(("user", "bot")),
        )
        .order_by(rasa_events.c.id)
        .limit(MAX_ITEMS_PER_SOURCE)
    )
    items = []
    with store.engine.connect() as connection:
        for event_id, type_name, stamp, data in connection.execute(query):
            try:
                event = json.loads(data or "{}") or {}
            except ValueError:
                event = {}
            text = event.get("text")
            if not text:
                continue  # e.g. a bot event carrying only buttons or a custom payload
            if type_name == "user" and _replayed(event):
                continue
            at = datetime.fromtimestamp(float(stamp or 0), tz=timezone.utc)
            author = "cardholder" if type_name == "user" else "bot"
            items.append((at, 0, event_id, {"key": f"e{event_id}", "author": author, "text": text}))
    return items


def _replayed(event: dict[str, Any]) -> bool:
    """A user event Rasa made itself (a hand-back's intent), not a cardholder's message."""
    metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
    return (
        event.get("input_channel") == COLLECTOR_CHANNEL
        or bool(metadata.get("is_external"))
        or str(event.get("text")).startswith(EXTERNAL_MESSAGE_PREFIX)
    )


def _stored_items(
    store: Store, conversation_id: str
) -> list[tuple[datetime, int, int, dict[str, Any]]]:
    items = []
    with store._session() as session:
        held = session.execute(
            select(models.HeldMessage.id, models.HeldMessage.created_at, models.HeldMessage.text)
            .where(models.HeldMessage.conversation_id == conversation_id)
            .order_by(models.HeldMessage.id)
            .limit(MAX_ITEMS_PER_SOURCE)
        ).all()
        for row_id, at, text in held:
            items.append(
                (_aware(at), 1, row_id, {"key": f"h{row_id}", "author": "cardholder", "text": text})
            )
        sent = session.execute(
            select(
                models.OutboxMessage.id,
                models.OutboxMessage.created_at,
                models.OutboxMessage.author,
                models.OutboxMessage.text,
                models.Specialist.display_name,
            )
            .outerjoin(
                models.Specialist, models.Specialist.id == models.OutboxMessage.specialist_id
            )
            .where(
                models.OutboxMessage.conversation_id == conversation_id,
                models.OutboxMessage.author != "bot",  # copies of the tracker's bot lines
            )
            .order_by(models.OutboxMessage.id)
            .limit(MAX_ITEMS_PER_SOURCE)
        ).all()
        for row_id, at, author, text, name in sent:
            item = {"key": f"o{row_id}", "author": author, "text": text}
            if author != "specialist":
                item["author"] = "system"
            elif name:
                item["name"] = name
            items.append((_aware(at), 2, row_id, item))
    return items


def transcript(store: Store, conversation_id: str) -> list[dict[str, Any]]:
    """Every message of the conversation, oldest first: ``{"at", "author", "text", "key"}``.

    ``key`` is stable per message (source + row id), so a live view can tell new items apart.
    """
    merged = _rasa_items(store, conversation_id) + _stored_items(store, conversation_id)
    merged.sort(key=lambda entry: entry[:3])
    return [{"at": at.isoformat(), **item} for at, _source, _id, item in merged]
