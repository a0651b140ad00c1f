"""The outbox delivery loop and reminders against the fake Bot API with the real
python-telegram-bot client and a real (SQLite) database, without Rasa."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.telegram_delivery import TelegramDelivery
from bot.channels.telegram_format import MAX_CALLBACK_BYTES
from bot.channels.telegram_output import TelegramSender
from bot.channels.telegram_records import TelegramRecords
from bot.channels.telegram_reminders import Reminders
from bot.db import models
from bot.db.store import Store
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi

# the Bot fixture and the tests must share one event loop (the fixtures' loop is the session's)
pytestmark = pytest.mark.asyncio(loop_scope="session")

SHANGHAI = ZoneInfo("Asia/Shanghai")
MORNING = datetime(2026, 11, 22, 10, 0, tzinfo=SHANGHAI)
NIGHT = datetime(2026, 11, 22, 23, 0, tzinfo=SHANGHAI)


class Clock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def bot(fake_api: FakeBotApi) -> AsyncIterator[Bot]:
    async with Bot(TOKEN, base_url=fake_api.base_url) as client:
        yield client


def delivery_for(store: Store, bot: Bot, clock: Clock) -> TelegramDelivery:
    sender = TelegramSender(bot, TelegramRecords(store))
    return TelegramDelivery(store, sender, HandoffBridge(store), clock=clock, zone=SHANGHAI)


def delivery_states(store: Store) -> list[models.TelegramDelivery]:
    with store._session() as session:
        return list(session.execute(select(models.TelegramDelivery)).scalars())


def undelivered(store: Store) -> list[models.OutboxMessage]:
    return [m for m in store.rows(models.OutboxMessage) if m.delivered_at is None]


async def test_a_specialists_reply_with_buttons_is_delivered_once(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    delivery = delivery_for(sqlite_store, bot, Clock(MORNING))
    buttons = [
        {
            "title": "方案1：分12期",
            "payload": '/choose_plan{"plan_choice": "分十二期每月还款方案一"}',
        }
    ]
    delivery.bridge.outbox.post(
        "5001", "telegram", "specialist", "您好 <王专员> & 我来帮您", buttons=buttons
    )
    delivery.bridge.outbox.post("rest-user", "rest", "specialist", "不是 Telegram 的")

    assert (await delivery.run_once()).delivered == 1
    assert (await delivery.run_once()).delivered == 0
    (call,) = fake_api.sent(5001)
    assert call.text == "您好 <王专员> & 我来帮您" and "parse_mode" not in call.params
    (row,) = call.keyboard
    data = row[0]["callback_data"]
    assert row[0]["text"] == "方案1：分12期" and len(data.encode()) <= MAX_CALLBACK_BYTES
    assert TelegramRecords(sqlite_store).button_payload("5001", data) == buttons[0]["payload"]
    assert TelegramRecords(sqlite_store).button_payload("9999", data) is None  # another chat
    assert [m.conversation_id for m in undelivered(sqlite_store)] == ["rest-user"]


async def test_a_flood_limit_pauses_and_the_message_is_sent_once_after_the_wait(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    clock = Clock(MORNING)
    delivery = delivery_for(sqlite_store, bot, clock)
    delivery.bridge.outbox.post("5002", "telegram", "system", "您的申请已通过")
    fake_api.flood_once["sendMessage"] = 3

    first = await delivery.run_once()
    assert first.paused and first.delivered == 0
    clock.now = MORNING + timedelta(seconds=2)
    assert (await delivery.run_once()).paused  # still inside the wait: nothing is attempted
    assert len(fake_api.calls_of("sendMessage")) == 1
    clock.now = MORNING + timedelta(seconds=3)
    assert (await delivery.run_once()).delivered == 1
    assert [c.status for c in fake_api.calls_of("sendMessage")] == [429, 200]
    assert [c.text for c in fake_api.sent(5002)] == ["您的申请已通过"]
    assert undelivered(sqlite_store) == []


async def test_a_flood_limit_told_to_one_worker_pauses_every_worker(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    clock = Clock(MORNING)
    first_worker = delivery_for(sqlite_store, bot, clock)
    second_worker = delivery_for(sqlite_store, bot, clock)  # another Rasa process, same database
    first_worker.bridge.outbox.post("5005", "telegram", "system", "您的申请已通过")
    fake_api.flood_once["sendMessage"] = 3

    assert (await first_worker.run_once()).paused
    clock.now = MORNING + timedelta(seconds=1)
    assert (await second_worker.run_once()).paused  # told through the database
    assert len(fake_api.calls_of("sendMessage")) == 1
    clock.now = MORNING + timedelta(seconds=3)
    assert (await second_worker.run_once()).delivered == 1
    assert [c.status for c in fake_api.calls_of("sendMessage")] == [429, 200]


async def test_a_blocked_user_is_recorded_and_not_retried(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    clock = Clock(MORNING)
    delivery = delivery_for(sqlite_store, bot, clock)
    fake_api.blocked_chats.add("5003")
    message = delivery.bridge.outbox.post("5003", "telegram", "specialist", "您好")
    delivery.bridge.outbox.post("5004", "telegram", "specialist", "您好，另一位")

    result = await delivery.run_once()
    assert (result.blocked, result.delivered) == (1, 1)
    clock.now += timedelta(days=1)
    await delivery.run_once()
    tries = [c for c in fake_api.calls_of("sendMessage") if str(c.params["chat_id"]) == "5003"]
    assert [c.status for c in tries] == [403]
    (state,) = delivery_states(sqlite_store)
    assert state.outbox_message_id == message.id and state.status == "blocked"


async def test_other_errors_are_retried_later_keeping_the_chats_order(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    clock = Clock(MORNING)
    delivery = delivery_for(sqlite_store, bot, clock)
    fake_api.broken_chats.add("5005")
    delivery.bridge.outbox.post("5005", "telegram", "specialist", "第一条")
    delivery.bridge.outbox.post("5005", "telegram", "specialist", "第二条")

    assert (await delivery.run_once()).failed == 1
    assert len(fake_api.calls_of("sendMessage")) == 1  # the second waits behind the first
    (state,) = delivery_states(sqlite_store)
    assert (
        state.status == "retry"
        and state.attempts == 1
        and "chat not found" in state.last_error.lower()
    )
    await delivery.run_once()
    assert len(fake_api.calls_of("sendMessage")) == 1  # nothing before the retry time

    clock.now += timedelta(seconds=11)
    assert (await delivery.run_once()).failed == 1  # retried, failing again
    (state,) = delivery_states(sqlite_store)
    assert state.attempts == 2
    fake_api.broken_chats.clear()
    clock.now += timedelta(seconds=21)
    assert (await delivery.run_once()).delivered == 2
    assert [c.text for c in fake_api.sent(5005)] == ["第一条", "第二条"]


async def test_failing_for_good_after_the_maximum_attempts(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    clock = Clock(MORNING)
    delivery = delivery_for(sqlite_store, bot, clock)
    fake_api.broken_chats.add("5006")
    delivery.bridge.outbox.post("5006", "telegram", "specialist", "发不出去")
    for _ in range(20):  # bounded: far more rounds than attempts allowed
        await delivery.run_once()
        clock.now += timedelta(minutes=11)
    (state,) = delivery_states(sqlite_store)
    assert state.status == "failed" and state.attempts == 8
    assert len(fake_api.calls_of("sendMessage")) == 8


def add_promise(store: Store, chat: str, channel: str, due: date, created: datetime) -> None:
    with store._session() as session, session.begin():
        session.add(
            models.VerifiedSession(
                conversation_id=chat,
                account_id="CC-0001",
                channel=channel,
                method="knowledge_check",
                expires_at=created + timedelta(hours=1),
            )
        )
        session.add(
            models.Promise(
                reference=f"PP-{chat}",
                conversation_id=chat,
                account_id="CC-0001",
                amount=Decimal("1500.00"),
                due_date=due,
                created_at=created,
            )
        )


async def test_a_payment_reminder_the_day_before_never_at_night(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    promised = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)
    add_promise(sqlite_store, "5007", "telegram", date(2026, 11, 23), promised)
    add_promise(sqlite_store, "rest-8", "rest", date(2026, 11, 23), promised)
    add_promise(sqlite_store, "5009", "telegram", date(2026, 11, 30), promised)
    reminders = Reminders(sqlite_store)

    assert reminders.post_due(datetime(2026, 11, 22, 7, 30, tzinfo=SHANGHAI), SHANGHAI) == []
    assert reminders.post_due(NIGHT, SHANGHAI) == []
    (posted,) = reminders.post_due(MORNING, SHANGHAI)
    assert reminders.post_due(MORNING + timedelta(hours=1), SHANGHAI) == []  # once only
    (message,) = [m for m in sqlite_store.rows(models.OutboxMessage) if m.id == posted]
    assert message.conversation_id == "5007" and message.channel == "telegram"
    assert "2026-11-23" in message.text and "1,500.00" in message.text and "PP-5007" in message.text

    # posted at 21:59, then held up: at 22:30 it is not sent; the next morning is the due day
    clock = Clock(NIGHT)
    delivery = delivery_for(sqlite_store, bot, clock)
    assert (await delivery.run_once()).delivered == 0
    assert fake_api.calls_of("sendMessage") == []
    clock.now = datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI)
    assert (await delivery.run_once()).delivered == 0
    (state,) = delivery_states(sqlite_store)
    assert state.status == "expired" and fake_api.calls_of("sendMessage") == []


async def test_a_reminder_is_sent_within_the_hours(
    sqlite_store: Store, bot: Bot, fake_api: FakeBotApi
) -> None:
    add_promise(
        sqlite_store,
        "5010",
        "telegram",
        date(2026, 11, 23),
        datetime(2026, 11, 1, tzinfo=timezone.utc),
    )
    clock = Clock(MORNING)
    delivery = delivery_for(sqlite_store, bot, clock)
    delivery.housekeeping()
    assert (await delivery.run_once()).delivered == 1
    (call,) = fake_api.sent(5010)
    assert "温馨提醒" in call.text and "PP-5010" in call.text
