"""The widget channel over a real socket.io connection to the real servers: acknowledgements,
repeated message ids, input checks, history after a reconnect, and no history for foreign ids."""

from __future__ import annotations

import re
import uuid

import pytest
import requests
import socketio

from bot.db import models
from bot.db.store import Store
from bot.handoff.cases import Cases
from bot.identity.tokens import issue_token, read_token
from bot.launcher import Servers
from bot.settings import load_settings
from tests.support import stored_events
from tests.widget.support import WidgetClient, add_specialist

pytestmark = [pytest.mark.servers, pytest.mark.model]


def user_texts(servers: Servers, session_id: str) -> list[str]:
    """What the tracker store keeps (Rasa's HTTP API is off)."""
    database = servers.environment()["DATABASE_URL"]
    return [e["text"] for e in stored_events(database, session_id) if e["event"] == "user"]


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
        assert chat.say("我不想活了" * 500)["refused"] == "utter_message_too_long"
        chat.wait_for(lambda: "太长" in chat.texts())
        assert "Traceback" not in chat.texts()
        assert user_texts(widget_servers, chat.session_id) == []  # never reached Rasa
    finally:
        chat.close()


def test_a_bank_login_token_verifies_without_digits(widget_servers: Servers) -> None:
    secret = load_settings(widget_servers.environment()).widget_token_secret
    token = issue_token("CC-0003", secret)
    chat = WidgetClient(widget_servers, token=token)
    try:
        assert chat.session_id.startswith("wt-")
        chat.say("我还欠多少钱")
        chat.wait_for(lambda: "欠款合计" in chat.texts())
        assert "卡号后四位" not in chat.texts()
    finally:
        chat.close()
    # the same customer on another device finds the same conversation
    again = WidgetClient(widget_servers, token=token)
    try:
        assert again.session_id == chat.session_id and again.history
    finally:
        again.close()
    # that conversation's id without the token opens nothing
    stranger = WidgetClient(widget_servers, chat.session_id)
    try:
        assert stranger.session_id != chat.session_id and stranger.history == []
    finally:
        stranger.close()


@pytest.mark.parametrize("kind", ["forged", "expired", "unknown account"])
def test_a_bad_token_is_an_anonymous_visitor(widget_servers: Servers, kind: str) -> None:
    secret = load_settings(widget_servers.environment()).widget_token_secret
    token = {
        "forged": issue_token("CC-0003", "not-the-bank-key"),
        "expired": issue_token("CC-0003", secret, lifetime_s=-3600),
        "unknown account": issue_token("CC-9999", secret),
    }[kind]
    chat = WidgetClient(widget_servers, token=token)
    try:
        assert len(chat.session_id) == 32  # an anonymous id
        chat.say("我还欠多少钱")
        chat.wait_for(lambda: "核实身份" in chat.texts())
    finally:
        chat.close()


def test_the_demo_token_endpoint_serves_demo_cardholders_only(widget_servers: Servers) -> None:
    """On with WIDGET_DEMO_TOKENS=1 (as `make run`), never in production (a unit test)."""
    url = f"{widget_servers.rasa_url}/webhooks/widget/demo-token"
    answer = requests.get(url, params={"account": "CC-0001"}, timeout=30)
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    secret = load_settings(widget_servers.environment()).widget_token_secret
    assert read_token(answer.json()["token"], secret).account_id == "CC-0001"
    assert requests.get(url, params={"account": "CC-9999"}, timeout=30).status_code == 404


def test_pages_of_other_origins_cannot_open_a_socket(widget_servers: Servers) -> None:
    with pytest.raises(socketio.exceptions.ConnectionError):
        WidgetClient(widget_servers, origin="https://evil.example")


@pytest.mark.parametrize(
    "data",
    [
        {"message": 5},
        {"message": "hi", "message_id": "<script>"},
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


def test_a_message_naming_another_session_stays_in_the_sockets_own(
    widget_servers: Servers,
) -> None:
    chat = WidgetClient(widget_servers)
    try:
        other = uuid.uuid4().hex
        answer = chat.say("您好", session_id=other)
        assert answer == {"ok": True, "session_id": chat.session_id}
        assert user_texts(widget_servers, chat.session_id) == ["您好"]
        assert user_texts(widget_servers, other) == []
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
    rest_id = uuid.uuid4().hex  # the shape of a widget id, tried over REST
    reply = requests.post(
        f"{widget_servers.rasa_url}/webhooks/rest/webhook",
        json={"sender": rest_id, "message": "您好"},
        timeout=60,
    )
    assert reply.status_code == 400  # the widget's namespace: a REST client cannot use it
    chat = WidgetClient(widget_servers, rest_id)
    try:
        assert chat.history == []  # no conversation was made under that id
    finally:
        chat.close()


def test_a_widget_cardholder_hears_the_specialists_decision(
    widget_servers: Servers, widget_store: Store
) -> None:
    """The application's case records the widget as its channel, so the approval reaches the
    cardholder's socket (not the REST outbox)."""
    secret = load_settings(widget_servers.environment()).widget_token_secret
    chat = WidgetClient(widget_servers, token=issue_token("CC-0005", secret))
    try:
        for text in ("我想办分期还款", "同意", "我最近失业了", "4500", "3000", "500", "一个孩子"):
            assert chat.say(text)["ok"]
        chat.say("大概6个月")
        chat.wait_for(lambda: "方案1" in chat.texts())
        offers = widget_store.rows(models.Offer, conversation_id=chat.session_id)
        needs_approval = next(o for o in offers if o.requires_approval)
        chat.say(f'/choose_plan{{"plan_choice": "{needs_approval.rank}"}}')
        chat.say("/affirm")
        chat.wait_for(lambda: re.search(r"编号: AP-", chat.texts()))
        reference = re.search(r"编号: (AP-[A-Z0-9]{8})", chat.texts()).group(1)
        (case,) = widget_store.rows(models.Escalation, conversation_id=chat.session_id)
        # one case for the conversation ("no plan fits" may have opened it): the approval is on it
        assert case.channel == "widget"
        assert "plan_approval" in (case.reason, *case.detail.get("other_reasons", []))
        specialist = add_specialist(widget_store, "decider", "审批专员")
        Cases(widget_store).decide_application(reference, specialist, True, "")
        chat.wait_for(lambda: chat.texts().count(reference) >= 2 and "通过" in chat.texts())
    finally:
        chat.close()
