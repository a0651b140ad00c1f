"""Several Rasa workers share locks through Redis (the real server on 127.0.0.1:6379), and the
launcher configures them only when REDIS_URL is set."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
import yaml

from bot.channels.background import one_worker_at_a_time
from bot.launcher import Servers, mask_password, workers_status
from bot.lock_store import RedisUrlLockStore

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


class Agent:
    """What the background loops use of Rasa's agent: its lock store."""

    def __init__(self) -> None:
        self.lock_store = RedisUrlLockStore(url=REDIS_URL)  # a worker's own connection


async def test_two_workers_take_turns_on_one_conversation(redis_db: redis.StrictRedis) -> None:
    first, second = RedisUrlLockStore(url=REDIS_URL), RedisUrlLockStore(url=REDIS_URL)
    order: list[str] = []

    async def work(store: RedisUrlLockStore, name: str) -> None:
        async with store.lock("cardholder-1", wait_time_in_seconds=0.05):
            order.append(f"{name} in")
            assert redis_db.exists(store.key_prefix + "cardholder-1")  # the lock lives in Redis
            await asyncio.sleep(0.3)
            order.append(f"{name} out")

    await asyncio.gather(work(first, "a"), work(second, "b"))
    assert order in (["a in", "a out", "b in", "b out"], ["b in", "b out", "a in", "a out"])
    assert not redis_db.exists(first.key_prefix + "cardholder-1")  # released and removed


async def test_background_rounds_of_two_workers_never_overlap(
    redis_db: redis.StrictRedis,
) -> None:
    running, overlaps, rounds = 0, 0, 0

    async def round_of(agent: Agent) -> None:
        nonlocal running, overlaps, rounds
        async with one_worker_at_a_time(agent, "telegram-delivery"):
            running += 1
            overlaps += running > 1
            await asyncio.sleep(0.05)
            rounds += 1
            running -= 1

    workers = [Agent(), Agent()]
    await asyncio.gather(*(round_of(workers[i % 2]) for i in range(6)))
    assert rounds == 6 and overlaps == 0


async def test_without_an_agent_a_round_runs_unlocked() -> None:
    async with one_worker_at_a_time(None, "resume"):
        pass


def lock_store_of(servers: Servers) -> dict | None:
    path = servers.endpoints_path()
    try:
        return yaml.safe_load(Path(path).read_text(encoding="utf-8")).get("lock_store")
    finally:
        servers.stop()


def test_without_redis_the_launcher_runs_one_worker_with_in_memory_locks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("RASA_WORKERS", "4")  # ignored: in-memory locks cannot be shared
    servers = Servers()
    assert servers.rasa_workers == 1
    assert lock_store_of(servers) is None
    assert servers.endpoints_left_out == ["lock_store"]


def test_with_redis_the_launcher_shares_locks_between_workers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REDIS_URL", REDIS_URL)
    monkeypatch.setenv("RASA_WORKERS", "3")
    servers = Servers()
    assert servers.rasa_workers == 3
    lock_store = lock_store_of(servers)  # Rasa fills ${REDIS_URL} in from the environment
    assert lock_store == {"type": "bot.lock_store.RedisUrlLockStore", "url": "${REDIS_URL}"}
    assert servers.endpoints_left_out == []
    monkeypatch.delenv("RASA_WORKERS")
    assert Servers().rasa_workers >= 1  # one per CPU


def test_the_printed_configuration_hides_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REDIS_URL", "redis://:s3cret@127.0.0.1:6379/1")
    monkeypatch.setenv("RASA_WORKERS", "2")
    status = workers_status(Servers())
    assert status.startswith("2 (locks in Redis") and "s3cret" not in status
    assert "s3cret" not in mask_password("postgresql://bank:s3cret@db/assistant")
    monkeypatch.delenv("REDIS_URL")
    assert workers_status(Servers()).startswith("1 (in-memory locks")


def test_workers_taking_tickets_at_the_same_moment_never_share_one(
    redis_db: redis.StrictRedis,
) -> None:
    """Rasa's own Redis store reads, changes and writes a lock back: two workers can get the
    same ticket and process one conversation at once. Here each change is a transaction."""
    stores = [RedisUrlLockStore(url=REDIS_URL) for _ in range(4)]

    def take(store: RedisUrlLockStore) -> list[int]:
        return [store.issue_ticket("cardholder-2") for _ in range(100)]

    with ThreadPoolExecutor(max_workers=len(stores)) as pool:
        tickets = [t for taken in pool.map(take, stores) for t in taken]
    assert len(tickets) == len(set(tickets)) == 400
    assert sorted(tickets) == list(range(400))  # first come, first served, none skipped
    for ticket in tickets:
        stores[ticket % 4].cleanup("cardholder-2", ticket)
    assert not redis_db.exists(stores[0].key_prefix + "cardholder-2")  # all served: removed
