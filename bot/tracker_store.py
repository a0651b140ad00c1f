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
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker

from bot.db.engine import create_db_engine
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
            rows = [_row(tracker.sender_id, event) for event in events[stored:]]
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


def _row(sender_id: str, event: Any) -> dict[str, Any]:
    """The columns Rasa's own store writes for one event."""
    data = event.as_dict()
    return {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
