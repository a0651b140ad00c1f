"""Engine creation shared by the actions, the seeder, the console and Rasa's tracker store."""

from __future__ import annotations

import json
import os
import re
import time
import warnings
from collections import Counter
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine, create_engine, make_url
from sqlalchemy.exc import DisconnectionError, SAWarning
from sqlalchemy.pool import QueuePool, StaticPool

_SQLITE_DECIMAL_WARNING = r"Dialect sqlite\+pysqlite does \*not\* support Decimal"


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
        _count_statements_if_asked(engine)
        # Money columns are Numeric(12, 2) (bot/db/models.py): SQLAlchemy rounds what SQLite
        # returns to two decimals, so the warning about floats does not apply to them
        # (tests/test_store.py round-trips amounts); it only cluttered `make run`'s terminal.
        warnings.filterwarnings("ignore", message=_SQLITE_DECIMAL_WARNING, category=SAWarning)
        return engine
    engine = create_engine(url, future=True, pool_size=5, max_overflow=10)
    _count_statements_if_asked(engine)

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


# Profiling (bench/profile_controls.py): with this variable naming a folder, every process
# counts the SQL statements its engines run, by kind, in <folder>/<pid>.json (rewritten after
# each statement: about 10 µs, so only when asked).
SQL_COUNTS_DIR = "BOT_SQL_COUNTS_DIR"
_VERB = re.compile(r"^\s*(\w+)")
_TABLES = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)
_counts: Counter[str] = Counter()
_counts_file: tuple[int, int] | None = None  # (pid, file descriptor)


def statement_kind(statement: str) -> str:
    """``SELECT identity_sessions+accounts``, ``INSERT events``, ``BEGIN``: the verb and the
    tables it names, in order."""
    verb = _VERB.match(statement)
    tables = dict.fromkeys(_TABLES.findall(statement))
    return " ".join(
        part for part in ((verb.group(1).upper() if verb else "?"), "+".join(tables)) if part
    )


def _count_statements_if_asked(engine: Engine) -> None:
    if os.environ.get(SQL_COUNTS_DIR):
        count_statements(engine, os.environ[SQL_COUNTS_DIR])


def count_statements(target: object, folder: str) -> None:
    """Count every statement ``target`` (an engine, or the Engine class: all of them) runs, by
    database file and kind, into ``<folder>/<pid>.json``."""

    def counted(conn, _cursor, statement, *_rest) -> None:  # noqa: ANN001 - engine event
        global _counts_file
        pid = os.getpid()
        if _counts_file is not None and _counts_file[0] != pid:
            _counts.clear()  # a forked worker counts its own statements only
            _counts_file = None
        database = Path(conn.engine.url.database or "memory").name
        _counts[f"{database}: {statement_kind(statement)}"] += 1
        if _counts_file is None:
            path = Path(folder) / f"{pid}.json"
            _counts_file = (pid, os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600))
        os.pwrite(_counts_file[1], json.dumps(_counts).encode().ljust(4096), 0)

    event.listen(target, "before_cursor_execute", counted)
