"""A plan card's full terms in Telegram: one tap on the card's "查看详情" button.

The first tests stand Rasa in with a fake that utters a card the way Rasa's processor hands a
bot message to the output channel (text and ``custom`` together); real python-telegram-bot talks
to the fake Bot API, with a real SQLite database. The last one holds a whole conversation with
the real Rasa and action servers up to the plans and opens a card's terms.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import requests
from rasa.core.channels.channel import UserMessage
from telegram import Bot, Update

from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.telegram_format import MAX_CALLBACK_BYTES
from bot.channels.telegram_handler import TelegramConversation
from bot.channels.telegram_output import TelegramSender
from bot.channels.telegram_records import TelegramRecords
from bot.db import models
from bot.db.store import Store
from bot.identity.linking import AccountLinks
from bot.launcher import Servers
from bot.plans.explain import own_terms
from tests.support import HARDSHIP_ANSWERS
from tests.telegram.fake_bot_api import TOKEN, Call, FakeBotApi
from tests.telegram.servers_config import SECRET

ids = itertools.count(860_000)

CARD = "方案1：个性化分期60期\n每月 618.93 元 × 60 期，共还 37,135.50 元\n需专员审批"
TERMS = (
    "依据《商业银行信用卡业务监督管理办法》第七十条的个性化分期：分 60 期，每月还 618.93 元，"
    "首期 2026-12-22。协议期间停止计息、不收其他费用。需专员审核同意后生效。"
)
CHOICE = '/choose_plan{"plan_choice": "1"}'


class CardRasa:
    """Stands in for Rasa: answers every message with one plan card and the choice buttons,
    handed to the output channel as Rasa's processor does (``send_response``)."""

    def __init__(self, card: str = CARD, terms: str = TERMS) -> None:
        self.card, self.terms = card, terms
        self.seen: list[str] = []

    async def __call__(self, message: UserMessage) -> None:
        self.seen.append(message.text)
        channel, sender = message.output_channel, message.sender_id
        card = {"text": self.card, "custom": {"plan": 1, "details": self.terms}}
        await channel.send_response(sender, card)
        choose = {"text": "请选择一个方案：", "buttons": [{"title": "方案1", "payload": CHOICE}]}
        await channel.send_response(sender, choose)


@pytest.fixture
async def bot(fake_api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake_api.base_url) as client:
        yield client


def conversation_with(rasa: CardRasa, store: Store, bot: Bot) -> TelegramConversation:
    records = TelegramRecords(store)
    sender = TelegramSender(bot, records)
    return TelegramConversation(rasa, lambda: None, sender, records, HandoffBridge(store), 2000)


def text_update(bot: Bot, chat_id: int, text: str) -> Update:
    return Update.de_json(
        {
            "update_id": next(ids),
            "message": {
                "message_id": next(ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "持卡人"},
                "text": text,
            },
        },
        bot,
    )


def press(bot: Bot, chat_id: int, sent: Call, callback_data: str) -> tuple[Update, str]:
    """The update Telegram sends when the user of ``chat_id`` presses a button of ``sent``."""
    query_id = f"cbq-{next(ids)}"
    message = {
        "message_id": next(ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "text": sent.text,
    }
    query = {
        "id": query_id,
        "from": {"id": chat_id, "is_bot": False, "first_name": "持卡人"},
        "chat_instance": f"ci-{chat_id}",
        "data": callback_data,
        "message": message,
    }
    return Update.de_json({"update_id": next(ids), "callback_query": query}, bot), query_id


def answer_to(api: FakeBotApi, query_id: str) -> Call:
    (answer,) = [
        c for c in api.calls_of("answerCallbackQuery") if c.params["callback_query_id"] == query_id
    ]
    return answer


on_the_session_loop = pytest.mark.asyncio(loop_scope="session")


@on_the_session_loop
async def test_a_card_opens_its_full_terms_with_one_tap_without_reaching_rasa(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    rasa = CardRasa()
    conversation = conversation_with(rasa, sqlite_store, bot)
    await conversation.handle(text_update(bot, 5101, "我想办分期还款"))
    card, choose = fake_api.sent(5101)
    assert card.text == CARD and TERMS not in card.text  # the card stays short
    ((button,),) = card.keyboard  # one row: the details button, nothing else
    assert button["text"] == "查看详情"
    assert len(button["callback_data"].encode()) <= MAX_CALLBACK_BYTES
    assert [row[0]["text"] for row in choose.keyboard] == ["方案1"]  # choices are unchanged

    for _ in range(2):  # the terms can be read again: the button stays
        update, query_id = press(bot, 5101, card, button["callback_data"])
        await conversation.handle(update)
        assert answer_to(fake_api, query_id).status == 200
        assert "text" not in answer_to(fake_api, query_id).params  # no "expired" notice
        assert fake_api.sent(5101)[-1].text == TERMS
    assert len(fake_api.sent(5101)) == 4
    assert rasa.seen == ["我想办分期还款"]  # the terms never went to Rasa as a message
    assert not fake_api.calls_of("editMessageReplyMarkup")

    # a plan choice still goes to Rasa and its keyboard is removed (chosen once)
    (choice,) = choose.keyboard[0]
    update, _ = press(bot, 5101, choose, choice["callback_data"])
    await conversation.handle(update)
    assert rasa.seen == ["我想办分期还款", CHOICE]
    assert len(fake_api.calls_of("editMessageReplyMarkup")) == 1


@on_the_session_loop
async def test_another_chat_cannot_read_a_cards_terms(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    conversation = conversation_with(CardRasa(), sqlite_store, bot)
    await conversation.handle(text_update(bot, 5201, "我想办分期还款"))
    card = fake_api.sent(5201)[0]
    callback = card.keyboard[0][0]["callback_data"]
    update, query_id = press(bot, 5202, card, callback)  # someone else's chat, the same id
    await conversation.handle(update)
    assert "失效" in answer_to(fake_api, query_id).params["text"]
    assert fake_api.sent(5202) == []


@on_the_session_loop
async def test_a_traditional_card_gets_its_button_and_terms_in_traditional(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    card = "方案1：個性化分期60期\n每月 618.93 元 × 60 期，共還 37,135.50 元\n需專員審批"
    conversation = conversation_with(CardRasa(card=card), sqlite_store, bot)
    await conversation.handle(text_update(bot, 5301, "我想辦分期還款"))
    sent = fake_api.sent(5301)[0]
    button = sent.keyboard[0][0]
    assert button["text"] == "查看詳情"
    update, _ = press(bot, 5301, sent, button["callback_data"])
    await conversation.handle(update)
    terms = fake_api.sent(5301)[-1].text
    assert "個性化分期" in terms and "協議期間" in terms and "协议" not in terms


# --- with the real servers ---------------------------------------------------------------------


def post(servers: Servers, update: dict[str, Any]) -> None:
    """Post an update as Telegram does; 503 ("starting") while the channel is still setting up
    its webhook after the server answers, so that is waited out (at most a minute)."""
    deadline = time.monotonic() + 60
    while True:
        reply = requests.post(
            f"{servers.rasa_url}/webhooks/telegram/webhook",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
            timeout=90,
        )
        if reply.status_code != 503 or time.monotonic() > deadline:
            break
        time.sleep(1)
    assert reply.status_code == 200, reply.text


def say(servers: Servers, chat_id: int, text: str) -> None:
    message = {
        "message_id": next(ids),
        "date": int(time.time()),
        "chat": {"id": chat_id, "type": "private"},
        "from": {"id": chat_id, "is_bot": False, "first_name": "持卡人"},
        "text": text,
    }
    post(servers, {"update_id": next(ids), "message": message})


def is_card(call: Call) -> bool:
    return call.text.startswith("方案") and any(
        row[0]["text"] == "查看详情" for row in call.keyboard
    )


@pytest.mark.servers
@pytest.mark.model
def test_a_real_conversation_shows_each_plan_as_a_card_with_its_terms_one_tap_away(
    servers: Servers, api: FakeBotApi, database: str
) -> None:
    chat_id = 5401
    store = Store.from_url(database)
    say(servers, chat_id, f"/link {AccountLinks(store).issue_code('CC-0001')}")
    say(servers, chat_id, "我想办分期还款")
    for _ in range(12):  # answer whatever the form asks next, until the plans are shown
        if any(is_card(call) for call in api.sent(chat_id)):
            break
        question = api.sent(chat_id)[-1].text
        answer = next((a for key, a in HARDSHIP_ANSWERS.items() if key in question), None)
        assert answer, f"an unexpected question: {question}"
        say(servers, chat_id, answer)
    cards = [call for call in api.sent(chat_id) if is_card(call)]
    assert cards, f"no plans after the hardship form: {api.sent(chat_id)[-1].text}"
    offers = sorted(store.rows(models.Offer, conversation_id=str(chat_id)), key=lambda o: o.rank)
    assert len(cards) == len(offers) >= 2
    for card, offer in zip(cards, offers, strict=True):
        assert card.text.startswith(f"方案{offer.rank}") and len(card.text) <= 120
        assert offer.detail["explanation"] not in card.text

    details = cards[0].keyboard[-1][0]
    before = len(api.sent(chat_id))
    query = {
        "id": "cbq-plan-details",
        "from": {"id": chat_id, "is_bot": False, "first_name": "持卡人"},
        "chat_instance": f"ci-{chat_id}",
        "data": details["callback_data"],
        "message": {
            "message_id": next(ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "text": cards[0].text,
        },
    }
    post(servers, {"update_id": next(ids), "callback_query": query})
    (terms,) = api.sent(chat_id)[before:]
    assert terms.text == own_terms(offers[0].detail["explanation"]).strip()
    (answer,) = [
        c
        for c in api.calls_of("answerCallbackQuery")
        if c.params["callback_query_id"] == "cbq-plan-details"
    ]
    assert answer.status == 200 and "text" not in answer.params
    store.engine.dispose()
