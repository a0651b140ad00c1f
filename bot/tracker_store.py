"""Rasa's SQL tracker store on the product's own ``DATABASE_URL``.

Rasa's ``SQLTrackerStore`` takes dialect/host/port/db pieces; this reads the one URL the rest of
the product uses, so conversations live in the same database and survive a restart.
"""

from __future__ import annotations

from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from sqlalchemy.engine import make_url

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
        backend = url.get_backend_name()
        if backend == "sqlite":
            from bot.db.engine import create_db_engine

            create_db_engine(str(url)).dispose()  # creates the folder and switches on WAL
        super().__init__(
            domain=domain,
            dialect=backend if backend != "postgresql" else "postgresql",
            host=url.host,
            port=url.port,
            db=url.database or "",
            username=url.username,
            password=url.password,
            event_broker=event_broker,
            query=dict(url.query) or None,
            **kwargs,
        )
