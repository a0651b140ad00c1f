"""Account linking in the Telegram channel, without Rasa: ``/link <code>`` and the deep link
``/start <code>`` answered by the channel, the code never reaching Rasa, a linked user's chat
verified before each message is handed on, ``/unlink``, and codes refused in group chats.
Real python-telegram-bot against the fake Bot API, a real SQLite database."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rasa.core.channels.channel import UserMessage
from telegram import Bot, Update

from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.telegram_handler import TelegramConversation
from bot.channels.telegram_output import TelegramSender
from bot.channels.telegram_records import TelegramRecords
from bot.channels.telegram_texts import LINK_DONE, link_text
from bot.db import models
from bot.db.store import Store
from bot.handoff.cases import Cases
from bot.identity.linking import AccountLinks
from bot.identity.sessions import KNOWLEDGE_CHECK, TELEGRAM_LINK, VerifiedSessions
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi

pytestmark = pytest.mark.asyncio(loop_scope="session")

ids = itertools.count(800_000)


class FakeRasa:
    """Stands in for Rasa: records what reached it and whether the chat was verified then."""

    def __init__(self, store: Store) -> None:
        self.sessions = VerifiedSessions(store)
        self.seen: list[tuple[str, str, str | None]] = []

    async def __call__(self, message: UserMessage) -> None:
        verified = self.sessions.current(message.sender_id, message.input_channel)
        self.seen.append((message.sender_id, message.text, verified))
        await message.output_channel.send_text_message(message.sender_id, "好的")


@pytest.fixture
async def bot(fake_api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake_api.base_url) as client:
        yield client


@pytest.fixture
def rasa(sqlite_store: Store) -> FakeRasa:
    return FakeRasa(sqlite_store)


@pytest.fixture
def conversation(sqlite_store: Store, bot: Bot, rasa: FakeRasa) -> TelegramConversation:
    records = TelegramRecords(sqlite_store)
    return TelegramConversation(
        rasa, lambda: None, TelegramSender(bot, records), records, HandoffBridge(sqlite_store), 2000
    )


def update(bot: Bot, chat_id: int, text: str, chat_type: str = "private") -> Update:
    body: dict[str, Any] = {
        "update_id": next(ids),
        "message": {
            "message_id": next(ids),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type},
            "from": {"id": abs(chat_id), "is_bot": False, "first_name": "持卡人"},
            "text": text,
        },
    }
    return Update.de_json(body, bot)


def texts(api: FakeBotApi, chat_id: int) -> list[str]:
    return [call.text for call in api.sent(chat_id)]


async def test_link_then_every_message_reaches_rasa_verified(
    conversation: TelegramConversation,
    bot: Bot,
    fake_api: FakeBotApi,
    rasa: FakeRasa,
    sqlite_store: Store,
) -> None:
    code = AccountLinks(sqlite_store).issue_code("CC-0001")
    await conversation.handle(update(bot, 6001, f"/link {code}"))
    (answer,) = texts(fake_api, 6001)
    assert answer.startswith("已将您的Telegram账号与尾号6217的信用卡关联")
    assert "张伟" not in answer and "元" not in answer  # nothing about the account but the card
    assert rasa.seen == []  # the code never reaches Rasa (nor its tracker store)
    sessions = VerifiedSessions(sqlite_store)
    assert sessions.current("6001", "telegram") == "CC-0001"
    (row,) = sqlite_store.rows(models.VerifiedSession, conversation_id="6001")
    assert row.method == TELEGRAM_LINK

    sessions.revoke("6001", "session_started")  # e.g. a new Rasa session, or it timed out
    await conversation.handle(update(bot, 6001, "我还欠多少钱"))
    assert rasa.seen == [("6001", "我还欠多少钱", "CC-0001")]
    assert len(sqlite_store.rows(models.VerifiedSession, conversation_id="6001")) == 2
    await conversation.handle(update(bot, 6001, "好的"))  # a live session is kept, not renewed
    assert len(sqlite_store.rows(models.VerifiedSession, conversation_id="6001")) == 2


async def test_a_live_session_for_another_account_is_not_replaced(
    conversation: TelegramConversation, bot: Bot, rasa: FakeRasa, sqlite_store: Store
) -> None:
    links = AccountLinks(sqlite_store)
    assert links.redeem("6002", links.issue_code("CC-0001"), "elsewhere") == "CC-0001"
    VerifiedSessions(sqlite_store).grant("6002", "telegram", "CC-0002", KNOWLEDGE_CHECK)
    await conversation.handle(update(bot, 6002, "我还欠多少钱"))
    assert rasa.seen == [("6002", "我还欠多少钱", "CC-0002")]


async def test_wrong_codes_are_answered_and_then_locked(
    conversation: TelegramConversation, bot: Bot, fake_api: FakeBotApi, rasa: FakeRasa
) -> None:
    await conversation.handle(update(bot, 6003, "/link"))
    for _ in range(5):
        await conversation.handle(update(bot, 6003, "/link 00000000"))
    how, *wrong, locked = texts(fake_api, 6003)
    assert "/link 12345678" in how
    assert len(wrong) == 4 and all("不正确或已经过期" in text for text in wrong)
    assert "一小时后再试" in locked
    assert rasa.seen == []


async def test_a_deep_link_links_and_greets(
    conversation: TelegramConversation,
    bot: Bot,
    fake_api: FakeBotApi,
    rasa: FakeRasa,
    sqlite_store: Store,
) -> None:
    code = AccountLinks(sqlite_store).issue_code("CC-0002")
    await conversation.handle(update(bot, 6004, f"/start {code}"))
    linked, greeting = texts(fake_api, 6004)
    assert "尾号8832" in linked and greeting == "好的"
    assert rasa.seen == [("6004", "/greet", "CC-0002")]
    await conversation.handle(update(bot, 6005, "/start"))
    await conversation.handle(update(bot, 6005, "/start from_the_website"))
    assert [text for _, text, _ in rasa.seen[1:]] == ["/greet", "/greet"]
    assert sqlite_store.count(models.TelegramLinkFailure) == 0  # not codes: nothing counted


async def test_unlink_ends_the_link_and_the_verification(
    conversation: TelegramConversation,
    bot: Bot,
    fake_api: FakeBotApi,
    rasa: FakeRasa,
    sqlite_store: Store,
) -> None:
    code = AccountLinks(sqlite_store).issue_code("CC-0001")
    await conversation.handle(update(bot, 6006, f"/link@test_bot {code}"))
    await conversation.handle(update(bot, 6006, "/unlink"))
    await conversation.handle(update(bot, 6006, "/unlink"))
    _, unlinked, not_linked = texts(fake_api, 6006)
    assert "已解除" in unlinked and "没有关联" in not_linked
    assert AccountLinks(sqlite_store).linked_account("6006") is None
    await conversation.handle(update(bot, 6006, "我还欠多少钱"))
    assert rasa.seen == [("6006", "我还欠多少钱", None)]


async def test_codes_are_refused_in_group_chats_and_stay_usable(
    conversation: TelegramConversation,
    bot: Bot,
    fake_api: FakeBotApi,
    rasa: FakeRasa,
    sqlite_store: Store,
) -> None:
    links = AccountLinks(sqlite_store)
    code = links.issue_code("CC-0001")
    await conversation.handle(update(bot, -100900, f"/link {code}", chat_type="supergroup"))
    assert "私聊" in texts(fake_api, -100900)[0]
    assert links.linked_account("100900") is None
    assert links.redeem("6007", code, "6007") == "CC-0001"  # the code was not used up


async def test_a_code_sent_while_a_specialist_holds_the_chat_is_not_in_the_transcript(
    conversation: TelegramConversation,
    bot: Bot,
    fake_api: FakeBotApi,
    rasa: FakeRasa,
    sqlite_store: Store,
) -> None:
    sqlite_store.escalate("6008", "requested_human", 1, channel="telegram")
    with sqlite_store.session() as session, session.begin():
        specialist = models.Specialist(username="zhao", display_name="赵", password_hash="x")
        session.add(specialist)
        session.flush()
        specialist_id = specialist.id
    cases = Cases(sqlite_store)
    (case,) = [c for c in cases.queue() if c.conversation_id == "6008"]
    assert cases.claim(case.id, specialist_id, "赵专员")
    code = AccountLinks(sqlite_store).issue_code("CC-0003")
    await conversation.handle(update(bot, 6008, f"/link {code}"))
    await conversation.handle(update(bot, 6008, "我还欠多少钱"))
    (linked,) = texts(fake_api, 6008)  # the bot answers the command, then stays silent
    assert "尾号4410" in linked
    assert [text for _, text in cases.held_messages(case.id)] == ["我还欠多少钱"]
    assert rasa.seen == []


async def test_link_texts_follow_the_cardholders_script() -> None:
    assert "關聯" in link_text(LINK_DONE, "traditional", card_last4="6217")
    simplified = link_text(LINK_DONE, None, card_last4="6217")
    assert simplified.startswith("已将您的Telegram账号与尾号6217")
