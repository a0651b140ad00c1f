"""Rasa's lock store, shared by several Rasa workers: in Redis or in an SQLite file.

Rasa serialises the messages of one conversation with a lock store. The default keeps its locks
in process memory, so Rasa allows only one worker with it; with the locks where every worker sees
them, ``RASA_WORKERS`` processes share the load. ``LOCK_STORE_URL`` (set by the launcher) says
where: ``redis://[:password@]host:6379/1`` (``rediss://`` for TLS) in production, or
``sqlite:///path/locks.db``, a small file beside the embedded demo's SQLite database.

Rasa's Redis store changes a lock by reading it, changing it in Python and writing it back: two
workers taking a ticket at the same moment can both get the same number, and then both process
the conversation at once (and one's events overwrite the other's). Here every change is one
transaction (Redis: a compare-and-set script, retried when another worker got there first;
SQLite: ``BEGIN IMMEDIATE``, which one worker at a time holds), so tickets stay unique and first
come, first served.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX,
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    LockError,
    LockStore,
)
from rasa.utils.endpoints import EndpointConfig
from sqlalchemy import (
    Column,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    event,
    inspect,
    select,
)
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from bot.db.engine import create_db_engine

# What a change does with the stored lock (serialised, None: none stored): the lock to store
# (None: delete it) and the caller's result.
Change = Callable[[str | None], tuple[str | None, Any]]
LockChange = Callable[[TicketLock | None], tuple[TicketLock | None, Any]]


class LockBackend(Protocol):
    errors: tuple[type[Exception], ...]  # what a failing backend raises

    def read(self, conversation_id: str) -> str | None: ...

    def change(self, conversation_id: str, change: Change) -> Any: ...

    def hit(self, keys: list[str], window: int, window_s: int) -> list[int]:
        """Count one event for each key in fixed window number ``window`` (of ``window_s``
        seconds), in one round trip; the counts so far in that window. Every worker sees the
        same counts, so the channels' rate limits hold whichever worker serves a client."""
        ...

    def first_time(self, key: str, ttl_s: int) -> bool:
        """True if ``key`` was not offered in the last ``ttl_s`` seconds (by any worker), and
        remembers it: the widget's resent messages are processed once whichever worker the
        reconnected socket reaches."""
        ...


class RedisLocks:
    """Locks as Redis strings under Rasa's own key prefix."""

    errors = (redis.RedisError,)

    # Writes the new lock only if the stored one is still the one read (else returns 0): a
    # change is two round trips, a read and this, where WATCH/GET/MULTI/EXEC took three.
    _COMPARE_AND_SET = """
        if (redis.call('GET', KEYS[1]) or '') ~= ARGV[1] then return 0 end
        if ARGV[2] == '' then redis.call('DEL', KEYS[1])
        else redis.call('SET', KEYS[1], ARGV[2]) end
        return 1
    """

    # One round trip for all keys; each expires with its window, so counts never pile up.
    _HIT = """
        local counts = {}
        for i, key in ipairs(KEYS) do
            local count = redis.call('INCR', key)
            if count == 1 then redis.call('EXPIRE', key, ARGV[1]) end
            counts[i] = count
        end
        return counts
    """

    def __init__(self, url: str) -> None:
        self.key_prefix = DEFAULT_REDIS_LOCK_STORE_KEY_PREFIX
        self.red = redis.StrictRedis.from_url(url, socket_timeout=DEFAULT_SOCKET_TIMEOUT_IN_SECONDS)
        self._compare_and_set = self.red.register_script(self._COMPARE_AND_SET)
        self._hit = self.red.register_script(self._HIT)

    def hit(self, keys: list[str], window: int, window_s: int) -> list[int]:
        names = [f"rate:{key}:{window}" for key in keys]
        return [int(count) for count in self._hit(keys=names, args=[window_s * 2])]

    def first_time(self, key: str, ttl_s: int) -> bool:
        return bool(self.red.set(f"seen:{key}", 1, nx=True, ex=ttl_s))

    def read(self, conversation_id: str) -> str | None:
        stored = self.red.get(self.key_prefix + conversation_id)
        return stored.decode() if stored else None

    def change(self, conversation_id: str, change: Change) -> Any:
        key = self.key_prefix + conversation_id
        while True:
            stored = self.read(conversation_id)
            changed, result = change(stored)
            if changed == stored:
                return result
            if self._compare_and_set(keys=[key], args=[stored or "", changed or ""]):
                return result
            # another worker changed the lock in between: read it again


_metadata = MetaData()
_locks = Table(
    "rasa_locks",
    _metadata,
    Column("conversation_id", String, primary_key=True),
    Column("lock", Text, nullable=False),
)
_rates = Table(
    "rate_windows",
    _metadata,
    Column("key", String, primary_key=True),
    Column("window", Integer, nullable=False),
    Column("count", Integer, nullable=False),
)
_seen = Table(
    "seen_once",
    _metadata,
    Column("key", String, primary_key=True),
    Column("expires", Integer, nullable=False),
)
# Rows of past windows are removed now and then (every this many hits of a worker).
RATE_SWEEP_EVERY = 1000
# A key offered again after it expired counts as new; none is returned while it has not.
_FIRST_TIME_SQL = (
    "INSERT INTO seen_once (key, expires) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET "
    "expires = excluded.expires WHERE seen_once.expires < ? RETURNING key"
)
# A key's count in its window: a new window starts again at 1.
_HIT_SQL = (
    'INSERT INTO rate_windows (key, "window", count) VALUES {values} '
    'ON CONFLICT (key) DO UPDATE SET count = CASE WHEN rate_windows."window" = excluded."window" '
    'THEN rate_windows.count + 1 ELSE 1 END, "window" = excluded."window" '
    "RETURNING key, count"
)


class SQLiteLocks:
    """Locks as rows of a small SQLite file of their own, so taking one never waits for the
    conversations' database. A lock lives for seconds: the file is written without fsync
    (after a power cut, a left-over lock expires like any other)."""

    errors = (SQLAlchemyError,)

    def __init__(self, url: str) -> None:
        self.engine = create_db_engine(url)
        event.listen(self.engine, "connect", _no_fsync_and_own_transactions)
        try:
            _metadata.create_all(self.engine)
        except OperationalError:  # another worker created it at the same moment
            if not inspect(self.engine).has_table(_locks.name):
                raise
        key = _locks.c.conversation_id == bindparam("conversation_id")
        self._read = select(_locks.c.lock).where(key)
        self._delete = _locks.delete().where(key)
        upsert = sqlite_insert(_locks)
        self._write = upsert.on_conflict_do_update(
            index_elements=[_locks.c.conversation_id], set_={"lock": upsert.excluded.lock}
        )
        self._sweep = _rates.delete().where(_rates.c.window < bindparam("window"))
        self._sweep_seen = _seen.delete().where(_seen.c.expires < bindparam("now"))
        self._hits = 0
        self._offers = 0

    def hit(self, keys: list[str], window: int, window_s: int) -> list[int]:
        """One statement for all keys (an upsert that returns the counts; atomic on its own in
        autocommit), straight on the driver's connection: it runs for every message, and the
        transaction with an upsert, a select and a commit through SQLAlchemy cost 0.33 ms of
        the Rasa worker's CPU per message; this costs 0.07 ms (measured in-process, 2,000 calls)."""
        statement = _HIT_SQL.format(values=", ".join(["(?, ?, 1)"] * len(keys)))
        parameters = [value for key in keys for value in (key, window)]
        with self.engine.connect() as connection:
            cursor = connection.connection.cursor()
            try:
                counts = dict(cursor.execute(statement, parameters).fetchall())
            finally:
                cursor.close()
            self._hits += 1
            if self._hits % RATE_SWEEP_EVERY == 0:
                connection.execute(self._sweep, {"window": window - 1})
            return [int(counts[key]) for key in keys]

    def first_time(self, key: str, ttl_s: int) -> bool:
        now = int(time.time())
        with self.engine.connect() as connection:
            cursor = connection.connection.cursor()
            try:
                first = cursor.execute(_FIRST_TIME_SQL, (key, now + ttl_s, now)).fetchall()
            finally:
                cursor.close()
            self._offers += 1
            if self._offers % RATE_SWEEP_EVERY == 0:
                connection.execute(self._sweep_seen, {"now": now})
            return bool(first)

    def read(self, conversation_id: str) -> str | None:
        with self.engine.connect() as connection:
            return connection.execute(
                self._read, {"conversation_id": conversation_id}
            ).scalar_one_or_none()

    def change(self, conversation_id: str, change: Change) -> Any:
        with self.engine.connect() as connection:
            # Takes the file's write lock before reading, so no other worker reads the lock
            # in between (a deferred transaction would let two workers read the same ticket).
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            stored = connection.execute(
                self._read, {"conversation_id": conversation_id}
            ).scalar_one_or_none()
            changed, result = change(stored)
            if changed is None:
                if stored is not None:
                    connection.execute(self._delete, {"conversation_id": conversation_id})
            else:
                connection.execute(
                    self._write, {"conversation_id": conversation_id, "lock": changed}
                )
            connection.commit()  # an exception before this rolls back when the connection closes
            return result


def _no_fsync_and_own_transactions(dbapi_connection: Any, _record: Any) -> None:
    # The driver would otherwise open (deferred) transactions by itself; change() opens its own.
    dbapi_connection.isolation_level = None
    dbapi_connection.execute("PRAGMA synchronous=OFF")


def backend_for(url: str) -> LockBackend:
    backend = make_url(url).get_backend_name()
    if backend in ("redis", "rediss"):
        return RedisLocks(url)
    if backend == "sqlite":
        return SQLiteLocks(url)
    raise ValueError(f"LOCK_STORE_URL must be a redis:// or sqlite:/// URL, not {backend}://")


class SharedLockStore(LockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, url: str | None = None):
        url = url or (endpoint_config.url if endpoint_config else None)
        self.backend = backend_for(url or os.environ["LOCK_STORE_URL"])
        super().__init__()

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        stored = self.backend.read(conversation_id)
        return TicketLock.from_dict(json.loads(stored)) if stored else None

    def save_lock(self, lock: TicketLock) -> None:
        serialised = lock.dumps()
        self.backend.change(lock.conversation_id, lambda _stored: (serialised, None))

    def delete_lock(self, conversation_id: str) -> None:
        self.backend.change(conversation_id, lambda _stored: (None, None))

    def _change(self, conversation_id: str, change: LockChange) -> Any:
        def on_serialised(stored: str | None) -> tuple[str | None, Any]:
            lock = TicketLock.from_dict(json.loads(stored)) if stored else None
            changed, result = change(lock)
            return (changed.dumps() if changed is not None else None), result

        return self.backend.change(conversation_id, on_serialised)

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncIterator[TicketLock]:
        """Rasa's, except that a ticket served at once (the usual case) needs no second look
        at the lock."""
        ticket, lock = self._take_ticket(conversation_id, lock_lifetime)
        try:
            if lock.is_locked(ticket):
                lock = await self._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            yield lock
        finally:
            self.cleanup(conversation_id, ticket)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        return self._take_ticket(conversation_id, lock_lifetime)[0]

    def _take_ticket(self, conversation_id: str, lock_lifetime: float) -> tuple[int, TicketLock]:
        """A new ticket, and the lock as it was right after (in the same transaction)."""

        def take_ticket(lock: TicketLock | None) -> tuple[TicketLock, tuple[int, TicketLock]]:
            lock = lock or self.create_lock(conversation_id)
            return lock, (lock.issue_ticket(lock_lifetime), lock)

        try:
            return self._change(conversation_id, take_ticket)
        except self.backend.errors as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def forget_expired(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, forget_expired)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def hand_on(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, hand_on)
