"""The real servers over HTTP: a whole conversation from greeting to an agreement with a
reference number, Traditional replies, bad input, a restart, and a dead action server."""

from __future__ import annotations

import re
import time

import pytest
import requests

from bot.db import models
from bot.db.store import Store
from bot.handoff.cases import Cases
from bot.launcher import Servers
from bot.nlu.script import detect_script
from tests.support import Chat, stored_events

pytestmark = [pytest.mark.servers, pytest.mark.model]


@pytest.fixture
def database(rest_database: str) -> str:
    return rest_database


@pytest.fixture
def servers(rest_servers: Servers) -> Servers:
    return rest_servers


def test_a_whole_conversation_ends_in_an_agreement(servers: Servers, database: str) -> None:
    chat = Chat(servers, "e2e-cardholder-1")
    greeting = chat.text_of("您好")
    assert "自动" in greeting and "转人工" in greeting
    assert "卡号后四位" in chat.text_of("我想办分期还款")
    assert "身份证" in chat.text_of("6217")
    verified = chat.text_of("1234")
    assert "核实成功" in verified and "同意" in verified  # consent first (PIPL arts. 17, 28-29)
    assert "原因" in chat.text_of("同意")
    assert "收入" in chat.text_of("我最近失业了")
    assert "开支" in chat.text_of("4500")
    assert "其他贷款" in chat.text_of("3000")
    assert "抚养" in chat.text_of("500")
    assert "几个月" in chat.text_of("一个孩子")
    plans = chat.say("大概6个月")
    buttons = [b for m in plans for b in m.get("buttons", [])]
    assert 2 <= len(buttons) <= 4, plans
    assert "方案1" in "\n".join(m.get("text", "") for m in plans)
    summary = chat.text_of(buttons[0]["payload"])
    assert "确认" in summary and "年化利率" in summary
    done = chat.text_of("/affirm")
    reference = re.search(r"编号: ([A-Z]{2}-[A-Z0-9]{8})", done)
    assert reference, done

    store = Store.from_url(database)
    (agreement,) = store.rows(models.Agreement, conversation_id="e2e-cardholder-1")
    assert agreement.reference == reference.group(1)
    assert agreement.account_id == "CC-0001"
    (statement,) = store.rows(models.HardshipStatement, conversation_id="e2e-cardholder-1")
    assert statement.reason == "unemployment" and float(statement.monthly_income) == 4500
    assert store.count(models.Offer, conversation_id="e2e-cardholder-1") == len(buttons)
    events = {e.event for e in store.rows(models.AuditEvent, conversation_id="e2e-cardholder-1")}
    assert {"identity_verified", "hardship_recorded", "offers_made"} <= events
    store.engine.dispose()


def test_nothing_about_the_account_before_identity(servers: Servers) -> None:
    chat = Chat(servers, "e2e-cardholder-2")
    reply = chat.text_of("我还欠多少钱")
    assert "核实身份" in reply
    assert "37,135.50" not in reply and "欠款合计" not in reply
    assert "身份证" in chat.text_of("6217")
    assert "再试 2 次" in chat.text_of("0000")


def test_traditional_writers_get_traditional_replies(servers: Servers) -> None:
    chat = Chat(servers, "e2e-cardholder-3")
    reply = chat.text_of("逾期會不會影響我的信用紀錄？")
    assert "徵信" in reply or "記錄" in reply, reply
    assert detect_script(reply) == "traditional"


def test_distress_gets_the_hotline_at_once(servers: Servers, database: str) -> None:
    chat = Chat(servers, "e2e-cardholder-4")
    chat.say("我想办分期")
    reply = chat.text_of("我真的撑不下去了，不想活了")
    assert "12356" in reply
    assert "元" not in reply  # no money talk
    store = Store.from_url(database)
    (case,) = store.rows(models.Escalation, conversation_id="e2e-cardholder-4")
    assert case.priority == 0
    store.engine.dispose()


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"not json", 400),
        (b'{"message": "hi"}', 400),
        (b'{"sender": "x", "message": 5}', 400),
        (b"[1, 2]", 400),
    ],
)
def test_malformed_requests_get_a_clear_error(servers: Servers, body: bytes, status: int) -> None:
    reply = requests.post(
        f"{servers.rasa_url}/webhooks/rest/webhook",
        data=body,
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == status
    assert "Traceback" not in reply.text and reply.json()["error"]


def test_empty_huge_and_unknown_inputs_get_calm_answers(servers: Servers, database: str) -> None:
    chat = Chat(servers, "e2e-cardholder-5")
    assert "空消息" in chat.text_of("   ")
    # over MAX_MESSAGE_CHARS: a calm answer and no side effect (a flood of 想死 opens no case)
    long = chat.text_of("我不想活了" * 500)
    assert "太长" in long and "2000" in long
    store = Store.from_url(database)
    assert store.count(models.Escalation, conversation_id="e2e-cardholder-5") == 0
    store.engine.dispose()
    # over the body limit (16 KB), and over the server's own (64 KB): a clear error, no trace
    for size in (6000, 40000):
        reply = requests.post(
            f"{servers.rasa_url}/webhooks/rest/webhook",
            json={"sender": "e2e-cardholder-5", "message": "我" * size},
            timeout=30,
        )
        assert reply.status_code == 413 and "请求体" in reply.json()["error"], reply.text
    unknown = chat.say("/no_such_button")
    assert unknown and all("Traceback" not in m.get("text", "") for m in unknown)


def test_a_dead_action_server_still_gets_an_answer_and_a_restart_keeps_the_conversation(
    servers: Servers, database: str
) -> None:
    chat = Chat(servers, "e2e-cardholder-6")
    chat.say("我想办分期")
    actions, rasa = servers.processes
    actions.terminate()
    actions.wait(timeout=20)
    reply = chat.text_of("6217")
    assert "系统暂时出了点问题" in reply

    servers.stop()
    servers.start()  # a restart of both servers on the same database
    # the conversation was kept: the card is asked for again where it stopped, and what the
    # tracker store keeps of the identity answer has no digits
    texts = [
        e.get("text") for e in stored_events(database, "e2e-cardholder-6") if e["event"] == "user"
    ]
    assert texts[:2] == ["我想办分期", "****"]


def poll_outbox(servers: Servers, sender: str, needle: str, seconds: float = 30) -> list[dict]:
    """Bounded polling of the REST outbox until a message containing ``needle`` arrives."""
    received: list[dict] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        reply = requests.get(
            f"{servers.rasa_url}/webhooks/rest/outbox", params={"sender": sender}, timeout=30
        )
        assert reply.status_code == 200
        received.extend(reply.json())
        if any(needle in m.get("text", "") for m in received):
            return received
        time.sleep(0.5)
    raise AssertionError(f"no outbox message with {needle!r}: {received}")


def test_a_specialist_holds_the_conversation_and_hands_it_back(
    servers: Servers, database: str
) -> None:
    chat = Chat(servers, "e2e-handoff")
    assert "人工" in chat.text_of("给我转人工客服")
    store = Store.from_url(database)
    cases = Cases(store)
    (case,) = [c for c in cases.queue() if c.conversation_id == "e2e-handoff"]
    assert case.channel == "rest" and case.reason == "request_human"
    with store._session() as session, session.begin():
        specialist = models.Specialist(username="wang", display_name="王", password_hash="x")
        session.add(specialist)
        session.flush()
        specialist_id = specialist.id
    assert cases.claim(case.id, specialist_id, "王专员")

    # while the specialist holds it, the bot is silent and the message waits for the person
    reply = chat.say("我想先还一半可以吗")
    assert [m["custom"]["author"] for m in reply] == ["system"]
    assert "王专员" in reply[0]["text"]
    assert [text for _, text in cases.held_messages(case.id)] == ["我想先还一半可以吗"]
    events = stored_events(database, "e2e-handoff")
    assert "我想先还一半可以吗" not in [e.get("text") for e in events]

    # the specialist's reply is a proactive message, delivered by polling
    cases.reply(case.id, specialist_id, "可以的，我帮您申请")
    received = poll_outbox(servers, "e2e-handoff", "我帮您申请")
    assert received[-1]["custom"]["author"] == "specialist"

    # handed back at "propose plans again": the bot resumes by itself
    cases.hand_back(case.id, specialist_id, step="propose_plans")
    resumed = poll_outbox(servers, "e2e-handoff", "卡号后四位")
    assert any("智能助手" in m["text"] for m in resumed)
    assert "身份证" in chat.text_of("6217")
    store.engine.dispose()
