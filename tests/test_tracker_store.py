"""Rasa's SQL tracker store on the product's DATABASE_URL: conversations survive a restart."""

from __future__ import annotations

import pytest
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import read_endpoint_config

from bot.settings import PROJECT_ROOT


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


async def test_a_conversation_is_read_back_by_a_new_store(
    database_url: str, domain: Domain, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    # endpoints.yml is read whole, as `rasa run` reads it; the launcher always sets this one
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    config = read_endpoint_config(str(PROJECT_ROOT / "endpoints.yml"), "tracker_store")
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
