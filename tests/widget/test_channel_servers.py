"""The widget channel over a real socket.io connection to the real servers: acknowledgements,
repeated message ids, input checks, history after a reconnect, and no history for foreign ids."""

from __future__ import annotations

import uuid

import pytest
import requests

from bot.launcher import Servers
from tests.widget.support import WidgetClient

pytestmark = [pytest.mark.servers, pytest.mark.model]


def user_texts(servers: Servers, session_id: str) -> list[str]:
    tracker = requests.get(
        f"{servers.rasa_url}/conversations/{session_id}/tracker", timeout=30
    ).json()
    return [e["text"] for e in tracker["events"] if e["event"] == "user"]


def test_a_new_socket_gets_a_fresh_session_and_an_empty_history(widget_servers: Servers) -> None:
    chat = WidgetClient(widget_servers)
    try:
        assert chat.session_id and len(chat.session_id) == 32
        assert chat.history == []
    finally:
        chat.close()


def test_a_repeated_message_id_is_handled_once(widget_servers: Servers) -> None:
    chat = WidgetClient(widget_servers)
    try:
        assert chat.say("您好", message_id="m-1") == {"ok": True}
        chat.wait_for(lambda: chat.replies)
        replies = len(chat.replies)
        assert chat.say("您好", message_id="m-1") == {"ok": True, "duplicate": True}
        assert user_texts(widget_servers, chat.session_id) == ["您好"]
        assert len(chat.replies) == replies
    finally:
        chat.close()


def test_empty_and_huge_messages_get_calm_answers(widget_servers: Servers) -> None:
    chat = WidgetClient(widget_servers)
    try:
        assert chat.say("   ")["ok"]
        chat.wait_for(lambda: "空消息" in chat.texts())
        assert chat.say("我" * 20000)["ok"]
        chat.wait_for(lambda: "前 2000 个字" in chat.texts())
        assert "Traceback" not in chat.texts()
    finally:
        chat.close()


@pytest.mark.parametrize(
    "data",
    [
        {"message": 5},
        {"message": "hi", "message_id": "<script>"},
        {"message": "hi", "session_id": "not-a-session"},
    ],
)
def test_malformed_events_are_refused_with_a_reason(widget_servers: Servers, data: dict) -> None:
    chat = WidgetClient(widget_servers)
    try:
        answer = chat.client.call(
            "user_uttered", {"session_id": chat.session_id, **data}, timeout=30
        )
        assert answer["ok"] is False and answer["error"]
    finally:
        chat.close()


def test_a_message_for_another_sockets_session_is_refused(widget_servers: Servers) -> None:
    chat = WidgetClient(widget_servers)
    try:
        answer = chat.say("您好", session_id=uuid.uuid4().hex)
        assert answer == {"ok": False, "error": "session_request first"}
    finally:
        chat.close()


def test_reconnecting_restores_the_history_from_the_server(widget_servers: Servers) -> None:
    first = WidgetClient(widget_servers)
    first.say("您好")
    first.wait_for(lambda: first.replies)
    session_id = first.session_id
    first.close()

    again = WidgetClient(widget_servers, session_id)
    try:
        assert again.session_id == session_id
        roles = [(m["role"], m["text"][:2]) for m in again.history]
        assert roles[0] == ("user", "您好") and roles[1][0] == "bot"
        greeting = again.history[1]
        assert "自动" in greeting["text"]
        assert [b["title"] for b in greeting["buttons"]][:2] == ["逾期会有什么后果", "我想协商还款"]
    finally:
        again.close()


def test_a_rest_conversation_is_never_shown_to_a_widget(widget_servers: Servers) -> None:
    rest_id = uuid.uuid4().hex  # the same shape as a widget id, but written over REST
    reply = requests.post(
        f"{widget_servers.rasa_url}/webhooks/rest/webhook",
        json={"sender": rest_id, "message": "您好"},
        timeout=60,
    )
    assert reply.status_code == 200 and reply.json()
    chat = WidgetClient(widget_servers, rest_id)
    try:
        assert chat.session_id != rest_id
        assert chat.history == []
    finally:
        chat.close()
