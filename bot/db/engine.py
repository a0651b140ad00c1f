"""Engine creation shared by the actions, the seeder, the console and Rasa's tracker store."""

from __future__ import annotations

import os
import time
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import QueuePool, StaticPool


def create_db_engine(url: str) -> Engine:
    """A 2.0-style engine; SQLite gets WAL and a busy timeout so two processes can share it."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        in_memory = parsed.database in (None, "", ":memory:")
        if not in_memory:
            path = Path(parsed.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            # cardholders' data: readable by the owner only (SQLite gives its -wal and -shm
            # files the database file's mode)
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
        # A file database is pooled: SQLAlchemy 1.4 would otherwise open (and set up) a new
        # connection for every query, a large part of each message's database time.
        pool = {"poolclass": StaticPool} if in_memory else {"poolclass": QueuePool}
        engine = create_engine(
            url,
            future=True,
            connect_args={"timeout": 30, "check_same_thread": False},
            **pool,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url, future=True, pool_size=5, max_overflow=10)

    def ping_if_idle(dbapi_connection, record, _proxy) -> None:  # noqa: ANN001 - pool event
        _ping_if_idle(engine.dialect, dbapi_connection, record)

    event.listen(engine, "checkin", _note_return)
    event.listen(engine, "checkout", ping_if_idle)
    return engine


# A pooled connection that sat unused longer than this is checked before it is handed out (the
# database may have restarted meanwhile, or a firewall dropped it); one in steady use is not:
# SQLAlchemy's pool_pre_ping checks every time, a round trip more for each query under load.
PING_AFTER_IDLE_S = 5.0


def _note_return(_dbapi_connection, record) -> None:  # noqa: ANN001 - pool event arguments
    record.info["returned_at"] = time.monotonic()


def _ping_if_idle(dialect, dbapi_connection, record) -> None:  # noqa: ANN001 - pool objects
    returned_at = record.info.get("returned_at")
    if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_S:
        return  # a new connection, or one used moments ago
    try:
        alive = _ping(dialect, dbapi_connection)
    except Exception:  # noqa: BLE001 - whatever the driver raises: the connection is unusable
        alive = False
    if not alive:
        # the pool discards this connection and hands out a fresh one instead
        raise DisconnectionError("a pooled connection was dead")


def _ping(dialect, dbapi_connection) -> bool:  # noqa: ANN001 - the dialect, a DB-API connection
    """The dialect's own ping (what pool_pre_ping runs): False when the connection is gone."""
    return dialect.do_ping(dbapi_connection)


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001 - DB-API objects
    cursor = dbapi_connection.cursor()
    # the timeout first: two processes opening a fresh file at once would otherwise collide
    # on the switch to WAL ("database is locked") before any waiting was allowed
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
