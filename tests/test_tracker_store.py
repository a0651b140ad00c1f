"""Rasa's SQL tracker store on the product's DATABASE_URL: conversations survive a restart, and
the lean store reads and writes exactly what Rasa's own does."""

from __future__ import annotations

import time

import pytest
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config
from sqlalchemy import event, func, select
from sqlalchemy.engine import make_url

from bot.launcher import Servers
from bot.settings import PROJECT_ROOT
from bot.tracker_store import DatabaseUrlTrackerStore


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


async def test_a_conversation_is_read_back_by_a_new_store(
    database_url: str, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    servers = Servers(database_url=database_url)  # endpoints.yml exactly as the launcher gives it
    for name in ("ACTION_ENDPOINT_URL", "LOCK_STORE_URL", "ACTION_SERVER_TOKEN"):  # as for Rasa
        if name in servers.environment():
            monkeypatch.setenv(name, servers.environment()[name])
    config = read_endpoint_config(str(servers.endpoints_path()), "tracker_store")
    first = TrackerStore.create(config, domain)  # exactly as `rasa run` builds it
    tracker = DialogueStateTracker.from_events(
        "cardholder-1",
        [
            ActionExecuted("action_listen"),
            UserUttered("我還欠多少", {"name": "ask_balance", "confidence": 1.0}),
            SlotSet("script", "traditional"),
        ],
        slots=domain.slots,
    )
    assert type(first).__name__ == "DatabaseUrlTrackerStore"
    await first.save(tracker)
    first.engine.dispose()

    second = TrackerStore.create(config, domain)  # as after a restart
    restored = await second.retrieve("cardholder-1")
    assert restored is not None
    assert restored.latest_message.text == "我還欠多少"
    assert restored.get_slot("script") == "traditional"
    assert second.engine.url.get_backend_name() in {"sqlite", "postgresql"}
    second.engine.dispose()
    servers.stop()  # removes the configured copy of endpoints.yml


def rasa_own_store(url: str, domain: Domain) -> SQLTrackerStore:
    """Rasa's SQLTrackerStore on the same database, built from the URL's pieces."""
    parsed = make_url(url)
    return SQLTrackerStore(
        domain=domain,
        dialect=parsed.get_backend_name(),
        host=parsed.host,
        port=parsed.port,
        db=parsed.database,
        username=parsed.username,
        password=parsed.password,
    )


def conversation(domain: Domain, sender: str) -> DialogueStateTracker:
    return DialogueStateTracker.from_events(
        sender,
        [
            SessionStarted(),
            ActionExecuted("action_listen"),
            UserUttered("我想分期", {"name": "request_installment", "confidence": 0.98}),
            SlotSet("pending_goal", "plans"),
            ActionExecuted("identity_form"),
        ],
        slots=domain.slots,
    )


def as_dicts(tracker: DialogueStateTracker | None) -> list[dict]:
    assert tracker is not None
    return [event.as_dict() for event in tracker.events]


async def test_rasa_and_the_lean_store_read_each_others_rows(
    database_url: str, domain: Domain
) -> None:
    ours = DatabaseUrlTrackerStore(domain=domain, url=database_url)
    rasa = rasa_own_store(database_url, domain)
    written_by_us = conversation(domain, "lean-1")
    await ours.save(written_by_us)
    assert as_dicts(await rasa.retrieve("lean-1")) == as_dicts(written_by_us)
    written_by_rasa = conversation(domain, "rasa-1")
    await rasa.save(written_by_rasa)
    assert as_dicts(await ours.retrieve("rasa-1")) == as_dicts(written_by_rasa)
    ours.engine.dispose()
    rasa.engine.dispose()


async def test_only_new_events_are_written_and_sessions_are_kept_apart(
    database_url: str, domain: Domain
) -> None:
    store = DatabaseUrlTrackerStore(domain=domain, url=database_url)
    table = store.SQLEvent.__table__
    count = select(func.count()).select_from(table).where(table.c.sender_id == "lean-2")

    def rows() -> int:
        with store.engine.connect() as connection:
            return connection.execute(count).scalar_one()

    await store.save(conversation(domain, "lean-2"))
    tracker = await store.retrieve("lean-2")  # each message: read, add events, save
    await store.save(tracker)
    assert rows() == len(tracker.events) == 5  # nothing written twice
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    assert rows() == 6

    later = time.time() + 5
    tracker.update(ActionExecuted("action_session_start", timestamp=later))
    tracker.update(SessionStarted(timestamp=later + 0.001))
    tracker.update(ActionExecuted("action_listen", timestamp=later + 0.002))
    await store.save(tracker)
    latest = await store.retrieve("lean-2")
    assert [e.type_name for e in latest.events] == ["session_started", "action"]
    assert latest.get_slot("pending_goal") is None  # a new session starts afresh
    full = await store.retrieve_full_tracker("lean-2")
    assert len(full.events) == rows() == 9
    assert await store.retrieve("nobody") is None
    store.engine.dispose()


async def test_a_tracker_this_store_read_is_saved_without_counting_its_rows_again(
    database_url: str, domain: Domain
) -> None:
    store = DatabaseUrlTrackerStore(domain=domain, url=database_url)
    statements: list[str] = []
    event.listen(
        store.engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_args: statements.append(statement.lower()),
    )
    await store.save(conversation(domain, "lean-3"))  # made here, not read: counted in the table
    assert sum("count(" in s for s in statements) == 1
    statements.clear()
    tracker = await store.retrieve("lean-3")  # each message: read, add events, save
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)  # saved twice: the second save writes only the newest event
    assert not any("count(" in s for s in statements)
    assert len((await store.retrieve("lean-3")).events) == len(tracker.events) == 7
    store.engine.dispose()
