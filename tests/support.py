"""Building rasa_sdk trackers the way the Rasa server sends them, for calling actions directly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests
from rasa.shared.core.domain import Domain
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import create_engine, text

from bot.db.seed import seed
from bot.db.store import Store
from bot.launcher import Servers
from bot.settings import PROJECT_ROOT

# What a cardholder answers to each question on the way to the plans, by a word of the question
# (the consent question names the others, so it is matched first; the recovery question names
# the income, so it comes before it)
HARDSHIP_ANSWERS = {
    "您同意吗": "同意",
    "几个月": "6个月",
    "原因": "我最近失业了",
    "收入": "4500",
    "开支": "3000",
    "其他贷款": "500",
    "抚养": "一个孩子",
}

DOMAIN: dict[str, Any] = Domain.load(str(PROJECT_ROOT / "domain.yml")).as_dict()
SLOT_DEFAULTS = {name: spec.get("initial_value") for name, spec in DOMAIN["slots"].items()}


def make_tracker(
    *,
    slots: dict[str, Any] | None = None,
    intent: str | None = None,
    text: str = "",
    entities: list[dict[str, Any]] | None = None,
    set_after_user: dict[str, Any] | None = None,
    earlier_events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
    sender_id: str = "test-conversation",
    input_channel: str = "rest",
    metadata: dict[str, Any] | None = None,
) -> Tracker:
    """A tracker whose latest user message is ``text``/``intent``; ``set_after_user`` are the
    slots extracted from it (what a form validation action is asked to validate)."""
    values = {**SLOT_DEFAULTS, **(slots or {}), **(set_after_user or {})}
    parse_data = {
        "text": text,
        "intent": {"name": intent, "confidence": 1.0},
        "entities": entities or [],
    }
    events = list(earlier_events or [])
    events.append(
        {
            "event": "user",
            "text": text,
            "parse_data": parse_data,
            "input_channel": input_channel,
            "metadata": metadata or {},
        }
    )
    events.extend(
        {"event": "slot", "name": name, "value": value}
        for name, value in (set_after_user or {}).items()
    )
    return Tracker(
        sender_id=sender_id,
        slots=values,
        latest_message=parse_data,
        events=events,
        paused=False,
        followup_action=None,
        active_loop={"name": active_loop} if active_loop else {},
        latest_action_name="action_listen",
    )


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [message.get("response") for message in dispatcher.messages]


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


def seeded_store(folder: Path, name: str = "assistant.db") -> Store:
    """A real SQLite file in ``folder`` holding the demo cardholders."""
    store = Store.from_url(f"sqlite:///{folder / name}")
    seed(store)
    return store


def seeded_database(folder: Path) -> str:
    """The URL of such a file, for servers started in other processes."""
    store = seeded_store(folder)
    store.engine.dispose()
    return store.engine.url.render_as_string(hide_password=False)


class Chat:
    """One cardholder talking to the real servers over the REST channel."""

    def __init__(self, servers: Servers, sender: str) -> None:
        self.url = f"{servers.rasa_url}/webhooks/rest/webhook"
        self.sender = sender

    def say(self, text: str) -> list[dict]:
        reply = requests.post(self.url, json={"sender": self.sender, "message": text}, timeout=60)
        assert reply.status_code == 200, reply.text
        return reply.json()

    def text_of(self, text: str) -> str:
        return "\n".join(m.get("text", "") for m in self.say(text))


def stored_events(database: str, sender: str) -> list[dict]:
    """What the tracker store keeps of a conversation (Rasa's HTTP API is off)."""
    engine = create_engine(database)
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT data FROM events WHERE sender_id = :sender ORDER BY id"),
            {"sender": sender},
        ).scalars()
        events = [json.loads(row) for row in rows]
    engine.dispose()
    return events
