"""The Telegram channel inside the real Rasa and action servers, talking to the fake Bot API:
the secret on every webhook request, each update once, commands, buttons, polite answers to
what the bot cannot read, the handoff silence, proactive delivery, 429 and blocked users,
polling mode, and account linking with the bank's one-time code."""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select

from bot.channels.telegram_config import TelegramConfig
from bot.channels.telegram_format import MAX_CALLBACK_BYTES
from bot.channels.telegram_polling import poll
from bot.db import models
from bot.db.store import Store
from bot.handoff.cases import Cases
from bot.handoff.outbox import Outbox
from bot.identity.linking import AccountLinks
from bot.launcher import Servers
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi
from tests.telegram.servers_config import API_TOKEN, PUBLIC_URL, SECRET

pytestmark = [pytest.mark.servers, pytest.mark.model]

update_ids = itertools.count(700_000)


@pytest.fixture
def store(database: str) -> Iterator[Store]:
    instance = Store.from_url(database)
    yield instance
    instance.engine.dispose()


def user(chat_id: int) -> dict[str, Any]:
    return {"id": chat_id, "is_bot": False, "first_name": "持卡人"}


def message(chat_id: int, chat_type: str = "private", **content: Any) -> dict[str, Any]:
    return {
        "message_id": next(update_ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": chat_type},
        "from": user(chat_id),
        **content,
    }


def text_update(chat_id: int, text: str, chat_type: str = "private") -> dict[str, Any]:
    return {"update_id": next(update_ids), "message": message(chat_id, chat_type, text=text)}


def post(servers: Servers, update: dict[str, Any], secret: str | None = SECRET) -> int:
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    reply = requests.post(
        f"{servers.rasa_url}/webhooks/telegram/webhook", json=update, headers=headers, timeout=90
    )
    return reply.status_code


def texts(api: FakeBotApi, chat_id: int) -> list[str]:
    return [call.text for call in api.sent(chat_id)]


def tracker_of(servers: Servers, chat_id: int) -> dict[str, Any]:
    reply = requests.get(
        f"{servers.rasa_url}/conversations/{chat_id}/tracker",
        params={"token": API_TOKEN},
        timeout=30,
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_the_webhook_is_registered_with_the_secret(servers: Servers, api: FakeBotApi) -> None:
    # registered by a start listener of each Rasa worker (the same registration: Telegram keeps
    # one), which may still run while /status already answers
    workers = servers.rasa_workers
    api.wait_for(lambda: len(api.calls_of("setWebhook")) >= workers, seconds=15)
    calls = api.calls_of("setWebhook")
    assert len(calls) == workers
    for call in calls:
        assert call.params["url"] == PUBLIC_URL and call.params["secret_token"] == SECRET
        assert set(call.params["allowed_updates"]) == {
            "message",
            "edited_message",
            "callback_query",
        }


def test_requests_without_the_right_secret_are_refused_unread(
    servers: Servers, api: FakeBotApi, store: Store
) -> None:
    missing, wrong = text_update(9101, "您好"), text_update(9101, "您好")
    assert post(servers, missing, secret=None) == 403
    assert post(servers, wrong, secret="not-the-secret") == 403
    assert post(servers, {"update_id": "x"}, secret=None) == 403
    assert texts(api, 9101) == []
    with store._session() as session:
        seen = set(session.execute(select(models.TelegramUpdate.update_id)).scalars())
    assert not {missing["update_id"], wrong["update_id"]} & seen
    assert post(servers, {"no": "update"}) == 400


def test_start_greets_once_even_when_telegram_retries(servers: Servers, api: FakeBotApi) -> None:
    update = text_update(9102, "/start")
    assert post(servers, update) == 200
    assert post(servers, update) == 200  # Telegram's retry of the same update
    greetings = api.sent(9102)
    assert len(greetings) == 1, texts(api, 9102)
    assert "智能助手" in greetings[0].text and "parse_mode" not in greetings[0].params
    titles = [row[0]["text"] for row in greetings[0].keyboard]
    assert "逾期会有什么后果" in titles


def test_a_button_is_answered_and_its_payload_reaches_rasa(
    servers: Servers, api: FakeBotApi
) -> None:
    post(servers, text_update(9103, "/start"))
    (greeting,) = api.sent(9103)
    (button,) = [row[0] for row in greeting.keyboard if row[0]["text"] == "逾期会有什么后果"]
    assert all(
        len(row[0]["callback_data"].encode()) <= MAX_CALLBACK_BYTES for row in greeting.keyboard
    )
    query = {
        "update_id": next(update_ids),
        "callback_query": {
            "id": "cbq-9103",
            "from": user(9103),
            "chat_instance": "ci-9103",
            "data": button["callback_data"],
            "message": {**message(9103), "message_id": 1, "text": greeting.text},
        },
    }
    assert post(servers, query) == 200
    (answer,) = [
        c
        for c in api.calls_of("answerCallbackQuery")
        if c.params["callback_query_id"] == "cbq-9103"
    ]
    assert answer.status == 200 and "text" not in answer.params
    assert any(str(c.params["chat_id"]) == "9103" for c in api.calls_of("editMessageReplyMarkup"))
    assert len(api.sent(9103)) >= 2  # the answer to the question
    tracker = tracker_of(servers, 9103)
    intents = [e["parse_data"]["intent"]["name"] for e in tracker["events"] if e["event"] == "user"]
    assert intents[-1] == "ask_consequences"
    assert {e.get("input_channel") for e in tracker["events"] if e["event"] == "user"} == {
        "telegram"
    }


def test_an_unknown_button_stops_the_spinner_with_a_notice(
    servers: Servers, api: FakeBotApi
) -> None:
    query = {
        "update_id": next(update_ids),
        "callback_query": {
            "id": "cbq-9104",
            "from": user(9104),
            "chat_instance": "ci",
            "data": "no-such-id",
            "message": {**message(9104), "text": "旧消息"},
        },
    }
    assert post(servers, query) == 200
    (answer,) = [
        c
        for c in api.calls_of("answerCallbackQuery")
        if c.params["callback_query_id"] == "cbq-9104"
    ]
    assert "失效" in answer.params["text"]
    assert texts(api, 9104) == []


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ({"sticker": {"file_id": "s1", "file_unique_id": "u1", "width": 512, "height": 512,
                      "is_animated": False, "is_video": False, "type": "regular"}}, "只能读懂文字"),
        ({"photo": [{"file_id": "p1", "file_unique_id": "u2", "width": 90, "height": 90}]},
         "不要发送银行卡或身份证的照片"),
        ({"voice": {"file_id": "v1", "file_unique_id": "u3", "duration": 3}}, "只能读懂文字"),
        ({"document": {"file_id": "d1", "file_unique_id": "u4"}}, "只能读懂文字"),
    ],
)  # fmt: skip
def test_what_the_bot_cannot_read_gets_a_polite_answer(
    servers: Servers, api: FakeBotApi, content: dict[str, Any], needle: str
) -> None:
    chat_id = 9200 + len(api.calls)
    assert (
        post(servers, {"update_id": next(update_ids), "message": message(chat_id, **content)})
        == 200
    )
    (reply,) = texts(api, chat_id)
    assert needle in reply


def test_edits_groups_and_help_get_clear_answers(servers: Servers, api: FakeBotApi) -> None:
    edited = {
        "update_id": next(update_ids),
        "edited_message": {**message(9301, text="改了"), "edit_date": int(time.time())},
    }
    assert post(servers, edited) == 200
    assert "新消息" in texts(api, 9301)[0]
    assert post(servers, text_update(-100777, "我欠多少钱", chat_type="supergroup")) == 200
    assert "私聊" in texts(api, -100777)[0]
    assert post(servers, text_update(-4242, "/start@test_bot", chat_type="group")) == 200
    assert "私聊" in texts(api, -4242)[0]
    assert post(servers, text_update(9302, "/help")) == 200
    (help_text,) = texts(api, 9302)
    assert "/start" in help_text and "转人工" in help_text


def test_proactive_messages_are_delivered(servers: Servers, api: FakeBotApi, store: Store) -> None:
    Outbox(store).post("9401", "telegram", "system", "您的分期申请已通过 <审核> & 生效")
    api.wait_for(lambda: api.sent(9401))
    assert texts(api, 9401) == ["您的分期申请已通过 <审核> & 生效"]
    (row,) = store.rows(models.OutboxMessage, conversation_id="9401")
    assert row.delivered_at is not None


def test_a_flood_limit_is_waited_out_and_the_message_sent_once(
    servers: Servers, api: FakeBotApi, store: Store
) -> None:
    api.flood_once["sendMessage"] = 2
    Outbox(store).post("9402", "telegram", "specialist", "专员回复：可以先还一半")
    api.wait_for(lambda: api.sent(9402))
    time.sleep(2)  # a second copy would arrive within the next rounds
    attempts = [c for c in api.calls_of("sendMessage") if str(c.params.get("chat_id")) == "9402"]
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 2.0


def test_a_blocked_user_is_given_up_on(servers: Servers, api: FakeBotApi, store: Store) -> None:
    api.blocked_chats.add("9403")
    message_id = Outbox(store).post("9403", "telegram", "specialist", "您好").id
    api.wait_for(
        lambda: (
            api.calls_of("sendMessage")
            and any(str(c.params.get("chat_id")) == "9403" for c in api.calls_of("sendMessage"))
        )
    )
    time.sleep(3)
    attempts = [c for c in api.calls_of("sendMessage") if str(c.params.get("chat_id")) == "9403"]
    assert [c.status for c in attempts] == [403]
    with store._session() as session:
        state = session.get(models.TelegramDelivery, message_id)
        assert state is not None and state.status == "blocked"


def test_a_held_conversation_reaches_the_specialist_not_the_bot(
    servers: Servers, api: FakeBotApi, store: Store
) -> None:
    post(servers, text_update(9501, "给我转人工客服"))
    assert any("人工" in t for t in texts(api, 9501))
    cases = Cases(store)
    (case,) = [c for c in cases.queue() if c.conversation_id == "9501"]
    assert case.channel == "telegram"
    with store._session() as session, session.begin():
        specialist = models.Specialist(username="li", display_name="李", password_hash="x")
        session.add(specialist)
        session.flush()
        specialist_id = specialist.id
    assert cases.claim(case.id, specialist_id, "李专员")
    api.wait_for(lambda: any("李专员" in t for t in texts(api, 9501)))  # the outbox notice
    before = len(api.sent(9501))
    assert post(servers, text_update(9501, "我想先还一半可以吗")) == 200
    sticker = {"sticker": {"file_id": "s", "file_unique_id": "u", "width": 1, "height": 1,
                           "is_animated": False, "is_video": False, "type": "regular"}}  # fmt: skip
    assert (
        post(servers, {"update_id": next(update_ids), "message": message(9501, **sticker)}) == 200
    )
    time.sleep(1.5)
    assert len(api.sent(9501)) == before  # the bot stayed silent
    assert [text for _, text in cases.held_messages(case.id)] == ["我想先还一半可以吗", "[贴纸]"]


def test_polling_mode_forwards_updates_to_the_webhook(servers: Servers, api: FakeBotApi) -> None:
    first, again = text_update(9601, "/help"), None
    again = dict(first)  # getUpdates may hand the same update out twice
    api.updates.extend([first, again])
    config = TelegramConfig.load(
        {"token": TOKEN, "secret": SECRET, "base_url": api.base_url, "mode": "polling"}, {}
    )
    forwarded = asyncio.run(poll(config, servers.rasa_url, max_seconds=3, long_poll_s=0))
    assert forwarded == 2
    assert api.calls_of("deleteWebhook")
    (help_text,) = texts(api, 9601)
    assert "/help" in help_text
    offsets = [c.params.get("offset") for c in api.calls_of("getUpdates")]
    assert offsets[-1] == first["update_id"] + 1


def test_a_reply_hit_by_the_flood_limit_waits_in_the_outbox(
    servers: Servers, api: FakeBotApi, store: Store
) -> None:
    api.flood_once["sendMessage"] = 1
    assert post(servers, text_update(9701, "/help")) == 200
    api.wait_for(lambda: api.sent(9701))
    attempts = [c for c in api.calls_of("sendMessage") if str(c.params.get("chat_id")) == "9701"]
    assert [c.status for c in attempts] == [429, 200] and "/start" in attempts[1].text
    (queued,) = store.rows(models.OutboxMessage, conversation_id="9701")
    assert queued.author == "bot" and queued.delivered_at is not None


@pytest.mark.parametrize(
    ("chat_id", "account_id", "opening", "card", "total_due"),
    [
        (9801, "CC-0001", "/link {code}", "6217", "37,135.50"),  # the code typed after /link
        (9802, "CC-0002", "/start {code}", "8832", "8,136.00"),  # t.me/<bot>?start=<code>
    ],
)
def test_a_linked_cardholder_gets_the_balance_without_giving_digits(
    servers: Servers,
    api: FakeBotApi,
    store: Store,
    chat_id: int,
    account_id: str,
    opening: str,
    card: str,
    total_due: str,
) -> None:
    code = AccountLinks(store).issue_code(account_id)  # the bank's app or SMS
    assert post(servers, text_update(chat_id, opening.format(code=code))) == 200
    linked = texts(api, chat_id)[0]
    assert linked.startswith(f"已将您的Telegram账号与尾号{card}的信用卡关联")
    assert total_due not in linked
    before = len(api.sent(chat_id))
    assert post(servers, text_update(chat_id, "我还欠多少钱")) == 200
    answer = "\n".join(texts(api, chat_id)[before:])
    assert "欠款合计" in answer and total_due in answer, answer
    assert "后四位" not in answer  # not asked for card or ID digits
    events = tracker_of(servers, chat_id)["events"]
    said = [e.get("text") or "" for e in events if e["event"] == "user"]
    assert said and not any(code in text for text in said)  # the code never reached Rasa


def test_a_telegram_cardholder_hears_the_specialists_decision(
    servers: Servers, api: FakeBotApi, store: Store
) -> None:
    """The application's case records Telegram as its channel: the approval is sent to the
    chat (not to the REST outbox)."""
    chat_id = 9803
    post(servers, text_update(chat_id, f"/link {AccountLinks(store).issue_code('CC-0003')}"))
    for text in (
        "我想办分期还款",
        "同意",
        "我最近失业了",
        "4500",
        "3000",
        "500",
        "一个孩子",
        "大概6个月",
    ):
        assert post(servers, text_update(chat_id, text)) == 200
    offers = store.rows(models.Offer, conversation_id=str(chat_id))
    needs_approval = next(o for o in offers if o.requires_approval)
    choice = f'/choose_plan{{"plan_choice": "{needs_approval.rank}"}}'
    assert post(servers, text_update(chat_id, choice)) == 200
    assert post(servers, text_update(chat_id, "/affirm")) == 200
    submitted = "\n".join(texts(api, chat_id))
    reference = re.search(r"编号: (AP-[A-Z0-9]{8})", submitted).group(1)
    (case,) = store.rows(models.Escalation, conversation_id=str(chat_id))
    # one case for the conversation ("no plan fits" may have opened it): the approval is on it
    assert case.channel == "telegram"
    assert "plan_approval" in (case.reason, *case.detail.get("other_reasons", []))
    with store.session() as session, session.begin():
        specialist = models.Specialist(
            username="tg-decider", display_name="审批专员", role="supervisor", password_hash="x"
        )
        session.add(specialist)
        session.flush()
        specialist_id = specialist.id
    Cases(store).decide_application(reference, specialist_id, True, "")
    api.wait_for(lambda: any("审批通过" in t and reference in t for t in texts(api, chat_id)))
