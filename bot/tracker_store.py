"""Rasa's SQL tracker store on the product's own ``DATABASE_URL``, lean on the hot path.

Rasa's ``SQLTrackerStore`` takes dialect/host/port/db pieces; this reads the one URL the rest of
the product uses, so conversations live in the same database and survive a restart.

Every message reads the conversation and writes its new events. Rasa does both through ORM
queries built anew each time (a fifth of the Rasa server's CPU per message in
``bench/bench_rasa.py``); this store runs the same queries as prebuilt Core statements on the
product's pooled engine. The table, the rows and the session semantics (events since the latest
``session_started``, ordered by id) are Rasa's own, so either store reads what the other wrote.
"""

from __future__ import annotations

import json
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from bot.conversation.identity import CARD_GIVEN, VERIFIED_MARK
from bot.db.engine import create_db_engine
from bot.privacy import MASK, mask_identity_digits, mentions_identity
from bot.settings import load_settings


class DatabaseUrlTrackerStore(SQLTrackerStore):
    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.pop("host", None)  # Rasa passes the endpoint's `url` as host; ours is DATABASE_URL
        url = make_url(kwargs.pop("url", None) or load_settings().database_url)
        # The product's engine, made first: for SQLite it also creates the database's folder,
        # which Rasa's own engine (used below only to create the table) needs.
        engine = create_db_engine(url.render_as_string(hide_password=False))
        super().__init__(
            domain=domain,
            dialect=url.get_backend_name(),
            host=url.host,
            port=url.port,
            db=url.database or "",
            username=url.username,
            password=url.password,
            event_broker=event_broker,
            query=dict(url.query) or None,
            **kwargs,
        )
        # Rasa made its own engine (a new SQLite connection for every query); use the product's.
        self.engine.dispose()
        self.engine = engine
        self.sessionmaker = sessionmaker(bind=self.engine, future=True)
        self._statements = _Statements(self.SQLEvent.__table__)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        query = (
            self._statements.all_sessions
            if fetch_events_from_all_sessions
            else self._statements.latest_session
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query, {"sender": sender_id}).scalars().all()
        if not self.domain or not rows:
            return None
        events = [json.loads(data) for data in rows]
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            _note_stored(tracker, len(rows))
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Writes the events after those already stored. A tracker this store read knows how
        many those are (Rasa's lock keeps anyone else from writing the conversation between
        read and save); any other is counted in the database, as Rasa does."""
        await self.stream_events(tracker)
        events = list(tracker.events)
        with self.engine.begin() as connection:
            stored = tracker.__dict__.get(_STORED)
            if stored is None:
                stored = connection.execute(
                    self._statements.latest_session_count, {"sender": tracker.sender_id}
                ).scalar_one()
            rows = [
                _row(tracker.sender_id, event, data)
                for event, data in zip(events[stored:], stored_forms(events, stored), strict=True)
            ]
            if rows:
                connection.execute(self._statements.insert, rows)
        _note_stored(tracker, len(events))


# How many of a tracker's events are in the database (set when this store read or saved it).
_STORED = "_bot_stored_events"


def _note_stored(tracker: DialogueStateTracker, count: int) -> None:
    tracker.__dict__[_STORED] = count


class _Statements:
    """The store's queries, built once so SQLAlchemy reuses their compiled form."""

    def __init__(self, table: Any) -> None:
        sender = bindparam("sender")
        session_start = (
            select(func.max(table.c.timestamp))
            .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
            .scalar_subquery()
        )
        in_latest_session = or_(table.c.timestamp >= session_start, session_start.is_(None))
        of_sender = table.c.sender_id == sender
        self.all_sessions = select(table.c.data).where(of_sender).order_by(table.c.id)
        self.latest_session = (
            select(table.c.data).where(of_sender, in_latest_session).order_by(table.c.id)
        )
        self.latest_session_count = (
            select(func.count()).select_from(table).where(of_sender, in_latest_session)
        )
        self.insert = table.insert()


IDENTITY_SLOTS = ("card_last4", "id_last4")
KEPT_SLOT_VALUES = (None, VERIFIED_MARK, CARD_GIVEN)


def stored_forms(events: list[Any], start: int) -> list[dict[str, Any]]:
    """``events[start:]`` as stored, without identity digits: a message answering the identity
    form (or naming a card or ID) keeps its words but not its digits, in its text, its parse
    and its entities, and the identity slots keep no value but "given" / "verified". The
    actions saw the message as it was; whoever reads the conversation later does not."""
    forms: list[dict[str, Any]] = []
    requested = None
    for index, event in enumerate(events):
        if isinstance(event, SlotSet) and event.key == REQUESTED_SLOT:
            requested = event.value
        if index < start:
            continue
        data = event.as_dict()
        if isinstance(event, UserUttered) and (
            requested in IDENTITY_SLOTS or mentions_identity(event.text or "")
        ):
            data = _without_identity_digits(data)
        elif (
            isinstance(event, SlotSet)
            and event.key in IDENTITY_SLOTS
            and event.value not in KEPT_SLOT_VALUES
        ):
            data["value"] = MASK
        forms.append(data)
    return forms


def _without_identity_digits(data: dict[str, Any]) -> dict[str, Any]:
    data = dict(data)
    data["text"] = mask_identity_digits(data.get("text") or "")
    parse = dict(data.get("parse_data") or {})
    if "text" in parse:
        parse["text"] = mask_identity_digits(parse["text"] or "")
    entities = []
    for entity in parse.get("entities") or []:
        entity = dict(entity)
        if isinstance(entity.get("value"), str):
            entity["value"] = mask_identity_digits(entity["value"])
        elif isinstance(entity.get("value"), (int, float)):
            entity["value"] = MASK
        entities.append(entity)
    if entities:
        parse["entities"] = entities
    data["parse_data"] = parse
    return data


def _row(sender_id: str, event: Any, data: dict[str, Any]) -> dict[str, Any]:
    """The columns Rasa's own store writes for one event."""
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
