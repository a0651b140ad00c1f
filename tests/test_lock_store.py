"""Several Rasa workers share locks through Redis (the real server on 127.0.0.1:6379) or an
SQLite file, and the launcher picks the shared store the configuration allows."""

from __future__ import annotations

import asyncio
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import yaml

from bot.channels.background import one_worker_at_a_time
from bot.launcher import Servers, mask_password, sqlite_lock_url, workers_status
from bot.lock_store import RedisLocks, SharedLockStore, SQLiteLocks, backend_for

REDIS_URL = "redis://127.0.0.1:6379/13"


@pytest.fixture
def redis_db() -> redis.StrictRedis:
    connection = redis.StrictRedis.from_url(REDIS_URL, socket_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as error:
        pytest.fail(f"Redis at {REDIS_URL} does not answer: {error}", pytrace=False)
    connection.flushdb()
    yield connection
    connection.flushdb()


@pytest.fixture(params=["redis", "sqlite"])
def lock_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Where the workers of one test share their locks; each worker opens its own connection."""
    if request.param == "redis":
        request.getfixturevalue("redis_db")
        return REDIS_URL
    return f"sqlite:///{tmp_path / 'assistant-locks.db'}"


def stored(store: SharedLockStore, conversation_id: str) -> bool:
    """Whether the lock is in the shared place itself (not in the store object)."""
    backend = store.backend
    if isinstance(backend, RedisLocks):
        return bool(backend.red.exists(backend.key_prefix + conversation_id))
    assert isinstance(backend, SQLiteLocks)
    return SQLiteLocks(str(backend.engine.url)).read(conversation_id) is not None


class Agent:
    """What the background loops use of Rasa's agent: its lock store."""

    def __init__(self, url: str) -> None:
        self.lock_store = SharedLockStore(url=url)  # a worker's own connection


async def test_two_workers_take_turns_on_one_conversation(lock_url: str) -> None:
    first, second = SharedLockStore(url=lock_url), SharedLockStore(url=lock_url)
    order: list[str] = []

    async def work(store: SharedLockStore, name: str) -> None:
        async with store.lock("cardholder-1", wait_time_in_seconds=0.05):
            order.append(f"{name} in")
            assert stored(store, "cardholder-1")
            await asyncio.sleep(0.3)
            order.append(f"{name} out")

    await asyncio.gather(work(first, "a"), work(second, "b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    assert not stored(first, "cardholder-1")  # released and removed


async def test_background_rounds_of_two_workers_never_overlap(lock_url: str) -> None:
    running, overlaps, rounds = 0, 0, 0

    async def round_of(agent: Agent) -> None:
        nonlocal running, overlaps, rounds
        async with one_worker_at_a_time(agent, "telegram-delivery"):
            running += 1
            overlaps += running > 1
            await asyncio.sleep(0.05)
            rounds += 1
            running -= 1

    workers = [Agent(lock_url), Agent(lock_url)]
    await asyncio.gather(*(round_of(workers[i % 2]) for i in range(6)))
    assert rounds == 6 and overlaps == 0


async def test_without_an_agent_a_round_runs_unlocked() -> None:
    async with one_worker_at_a_time(None, "resume"):
        pass


def test_workers_taking_tickets_at_the_same_moment_never_share_one(lock_url: str) -> None:
    """Rasa's own Redis store reads, changes and writes a lock back: two workers can get the
    same ticket and process one conversation at once. Here each change is a transaction."""
    stores = [SharedLockStore(url=lock_url) for _ in range(4)]

    def take(store: SharedLockStore) -> list[int]:
        return [store.issue_ticket("cardholder-2") for _ in range(100)]

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        tickets = [t for taken in pool.map(take, stores) for t in taken]
    assert len(tickets) == len(set(tickets)) == 400
    assert sorted(tickets) == list(range(400))  # first come, first served, none skipped
    for ticket in tickets:
        stores[ticket % 4].cleanup("cardholder-2", ticket)
    assert not stored(stores[0], "cardholder-2")  # all served: removed


def test_a_lock_store_that_cannot_be_reached_says_so(tmp_path: Path) -> None:
    from rasa.core.lock_store import LockError

    (tmp_path / "locks.db").mkdir()  # a folder where the file should be: SQLite cannot open it
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises, at start
        SharedLockStore(url=f"sqlite:///{tmp_path / 'locks.db'}")
    store = SharedLockStore(url="redis://127.0.0.1:1/0")  # nothing listens on port 1
    with pytest.raises(LockError):
        store.issue_ticket("cardholder-3")
    with pytest.raises(ValueError, match="redis:// or sqlite:///"):
        SharedLockStore(url="postgresql://bank@db/assistant")


def lock_store_of(servers: Servers) -> dict | None:
    path = servers.endpoints_path()
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("lock_store")
    finally:
        servers.stop()


def test_the_embedded_demo_shares_locks_in_a_file_beside_its_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    monkeypatch.setenv("RASA_WORKERS", "3")
    servers = Servers(database_url=f"sqlite:///{tmp_path / 'assistant.db'}")
    assert servers.rasa_workers == 3
    assert servers.environment()["LOCK_STORE_URL"] == f"sqlite:///{tmp_path / 'assistant-locks.db'}"
    # Rasa fills ${LOCK_STORE_URL} in from the environment
    assert lock_store_of(servers) == {
        "type": "bot.lock_store.SharedLockStore",
        "url": "${LOCK_STORE_URL}",
    }
    assert servers.endpoints_left_out == []
    assert (
        workers_status(servers) == f"3 (locks in the SQLite file {tmp_path / 'assistant-locks.db'})"
    )
    monkeypatch.delenv("RASA_WORKERS")
    assert Servers().rasa_workers >= 1  # one per CPU
    assert sqlite_lock_url("sqlite:///.var/assistant") == "sqlite:///.var/assistant-locks.db"


def test_postgresql_without_redis_runs_one_worker_with_in_memory_locks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    monkeypatch.setenv("RASA_WORKERS", "4")  # ignored: in-memory locks cannot be shared
    servers = Servers(database_url="postgresql://bank@127.0.0.1/assistant")
    assert servers.rasa_workers == 1
    assert lock_store_of(servers) is None
    assert servers.endpoints_left_out == ["lock_store"]
    assert workers_status(servers).startswith("1 (in-memory locks")
    assert sqlite_lock_url("sqlite://") is None  # an in-memory database has no file beside it


def test_with_redis_the_launcher_shares_locks_in_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("RASA_WORKERS", "3")
    for database_url in ("postgresql://bank@127.0.0.1/assistant", None):  # Redis wins over SQLite
        servers = Servers(database_url=database_url)
        assert servers.rasa_workers == 3
        assert servers.environment()["LOCK_STORE_URL"] == REDIS_URL
        assert lock_store_of(servers)["type"] == "bot.lock_store.SharedLockStore"


def test_the_printed_configuration_hides_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOCK_STORE_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@127.0.0.1:6379/1")
    monkeypatch.setenv("RASA_WORKERS", "2")
    status = workers_status(Servers())
    assert status.startswith("2 (locks in Redis") and "s3cret" not in status
    assert "s3cret" not in mask_password("postgresql://bank:s3cret@db/assistant")


def test_rate_counts_are_shared_by_every_worker(lock_url: str) -> None:
    """Two workers' guards count one client together (the channels' rate limits)."""
    from bot.channels.guard import SharedCounts

    first, second = backend_for(lock_url), backend_for(lock_url)
    key = f"client-{uuid.uuid4().hex}"
    workers = [SharedCounts(backend) for backend in (first, second)]
    limits = [("k", key, 5), ("c", f"conversation-{key}", 100), ("x", None, 1)]
    allowed = [workers[i % 2].allow(limits, now=1_000_000.0) for i in range(8)]
    assert allowed == [True] * 5 + [False] * 3
    assert workers[0].allow(limits, now=1_000_060.0)  # the next minute starts again
    assert first.hit([f"c:conversation-{key}"], 16_667, 60) == [2]  # counted in its minute


def test_a_dead_rate_counter_lets_messages_through() -> None:
    from bot.channels.guard import SharedCounts

    assert SharedCounts(backend_for("redis://127.0.0.1:1/0")).allow([("k", "client", 1)])


def test_a_resent_widget_message_is_processed_once_whichever_worker_it_reaches(
    lock_url: str,
) -> None:
    """The widget resends a message whose acknowledgement a reconnect lost; the socket may now
    be on the other worker, whose own memory has not seen the id (the duplicate that
    tests/widget/test_widget_browser.py caught in 2 of 3 runs with two workers)."""
    from bot.channels.widget_sessions import SeenIds, SharedSeenIds

    first, second = SharedSeenIds(backend_for(lock_url)), SharedSeenIds(backend_for(lock_url))
    session, message = uuid.uuid4().hex, "m-1"
    assert first.first_time(session, message)
    assert not second.first_time(session, message)  # the other worker knows it too
    assert not first.first_time(session, message)
    assert second.first_time(session, "m-2") and second.first_time(uuid.uuid4().hex, message)
    # what each worker had before: its own memory only
    assert SeenIds().first_time(session, message)


def test_a_remembered_id_expires(tmp_path: Path) -> None:
    backend = backend_for(f"sqlite:///{tmp_path / 'locks.db'}")
    assert backend.first_time("s:m", ttl_s=1)
    assert not backend.first_time("s:m", ttl_s=1)
    time.sleep(2.1)
    assert backend.first_time("s:m", ttl_s=1)  # offered again after it expired


def test_a_dead_store_of_ids_lets_messages_through() -> None:
    from bot.channels.widget_sessions import SharedSeenIds

    assert SharedSeenIds(backend_for("redis://127.0.0.1:1/0")).first_time("s", "m")
