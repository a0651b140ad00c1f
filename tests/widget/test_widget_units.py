"""The widget channel's server-side checks without servers: repeated message ids, input checks,
session ids, and the history built from a real tracker and a real database."""

from __future__ import annotations

from datetime import datetime, timezone

from rasa.shared.core.events import BotUttered, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.channels.widget_history import merged, store_entries, tracker_entries
from bot.channels.widget_sessions import SeenIds, read_message, valid_session_id
from bot.handoff.outbox import Outbox
from tests.support import seeded_store

SESSION = "0123456789abcdef0123456789abcdef"


def test_a_message_id_is_accepted_once_per_session() -> None:
    seen = SeenIds()
    assert seen.first_time(SESSION, "m1")
    assert not seen.first_time(SESSION, "m1")
    assert seen.first_time("f" * 32, "m1")  # another conversation's id space
    assert seen.first_time(SESSION, None) and seen.first_time(SESSION, None)


def test_seen_ids_stay_bounded() -> None:
    seen = SeenIds(max_sessions=3, per_session=2)
    for number in range(10):
        seen.first_time(f"{number:032x}", "m")
    assert len(seen) == 3
    assert seen.first_time(f"{0:032x}", "m")  # forgotten with its session
    for message in ("a", "b", "c"):
        seen.first_time(SESSION, message)
    assert seen.first_time(SESSION, "a")  # the oldest id went first
    assert not seen.first_time(SESSION, "c")


def test_only_long_random_session_ids_are_accepted() -> None:
    assert valid_session_id(SESSION)
    for bad in ("e2e-cardholder-1", "", None, 5, SESSION.upper(), SESSION + "0"):
        assert not valid_session_id(bad)


def test_messages_are_checked() -> None:
    message, problem = read_message({"session_id": SESSION, "message": "我" * 30})
    assert problem is None and message.text == "我" * 30  # its length is the guard's to judge
    message, _ = read_message({"session_id": SESSION, "message_id": "abc-1"})
    assert message.text == "" and message.message_id == "abc-1"
    # the id a message names is reported, not trusted: the socket's session decides
    message, problem = read_message({"message": "hi", "session_id": "my-own-id"})
    assert problem is None and message.session_id == "my-own-id"
    for data in (
        None,
        [1],
        {"session_id": SESSION, "message": 5},
        {"session_id": SESSION, "message": "hi", "message_id": "<x>"},
        {"session_id": SESSION, "message": "hi", "message_id": "x" * 65},
    ):
        message, problem = read_message(data)
        assert message is None and problem


def test_history_shows_button_titles_and_merges_specialist_messages(tmp_path) -> None:  # noqa: ANN001
    buttons = [{"title": "我想协商还款", "payload": "/request_installment"}]
    tracker = DialogueStateTracker.from_events(
        SESSION,
        [
            UserUttered("您好", message_id="c1", timestamp=100.0),
            BotUttered("您好，我是助手", {"buttons": buttons}, timestamp=101.0),
            UserUttered("/request_installment", message_id="c2", timestamp=102.0),
            BotUttered("请提供卡号后四位", timestamp=103.0),
        ],
    )
    from_tracker = tracker_entries(tracker)
    assert [(e["role"], e["text"]) for e in from_tracker] == [
        ("user", "您好"),
        ("bot", "您好，我是助手"),
        ("user", "我想协商还款"),
        ("bot", "请提供卡号后四位"),
    ]
    assert from_tracker[0]["id"] == "c1" and from_tracker[1]["buttons"] == buttons

    store = seeded_store(tmp_path, "widget.db")
    outbox = Outbox(store)
    delivered = outbox.post(SESSION, "widget", "specialist", "我是专员")
    outbox.mark_delivered([delivered.id])
    outbox.post(SESSION, "widget", "specialist", "还没送达")  # the push loop sends it
    outbox.post(SESSION, "rest", "specialist", "另一个渠道")
    stored = store_entries(store, SESSION, "widget", "traditional")
    assert [(e["text"], e["custom"]["author"]) for e in stored] == [("我是專員", "specialist")]
    store.engine.dispose()

    later = datetime(2030, 1, 1, tzinfo=timezone.utc).timestamp()
    entries = merged(from_tracker, [{**stored[0], "at": later}])
    assert entries[-1]["text"] == "我是專員" and len(entries) == 5
