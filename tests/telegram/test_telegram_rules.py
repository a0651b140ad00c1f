"""Pure rules of the Telegram channel: contact hours, reminder days, message splitting,
commands, settings and the launcher leaving an unconfigured channel out."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.channels.telegram_config import TelegramConfig, TelegramConfigError
from bot.channels.telegram_format import MAX_TEXT_CHARS, chunk_text, command_of, reply_text
from bot.channels.telegram_reminders import local_zone, may_contact, reminder_due, still_useful
from bot.launcher import CREDENTIALS, Servers, without_unset_blocks

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(hour: int, minute: int = 0, day: int = 22) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def test_the_zone_comes_from_the_handoff_policy() -> None:
    assert local_zone().key == "Asia/Shanghai"


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        (at(7, 59), False),
        (at(8, 0), True),
        (at(12, 30), True),
        (at(21, 59), True),
        (at(22, 0), False),
        (at(23, 30), False),
        (at(0, 0), False),
        (at(3, 15), False),
    ],
)
def test_no_contact_between_22_and_8_local_time(moment: datetime, allowed: bool) -> None:
    assert may_contact(moment, SHANGHAI) is allowed


def test_contact_hours_apply_to_local_time_whatever_zone_the_clock_gives() -> None:
    # 14:30 UTC is 22:30 in Shanghai; 00:00 UTC is 08:00 there
    assert not may_contact(datetime(2026, 11, 22, 14, 30, tzinfo=timezone.utc), SHANGHAI)
    assert may_contact(datetime(2026, 11, 22, 0, 0, tzinfo=timezone.utc), SHANGHAI)
    assert not may_contact(datetime(2026, 11, 21, 23, 59, tzinfo=timezone.utc), SHANGHAI)
    with pytest.raises(ValueError):
        may_contact(datetime(2026, 11, 22, 10, 0), SHANGHAI)


def test_a_reminder_is_due_only_the_day_before_within_the_hours() -> None:
    due = date(2026, 11, 23)
    promised = datetime(2026, 11, 18, 3, 0, tzinfo=timezone.utc)
    assert reminder_due(due, promised, at(10), SHANGHAI)
    assert reminder_due(due, promised, at(21, 59), SHANGHAI)
    assert not reminder_due(due, promised, at(22, 0), SHANGHAI)
    assert not reminder_due(due, promised, at(7, 0), SHANGHAI)
    assert not reminder_due(due, promised, at(10, day=21), SHANGHAI)  # two days before
    assert not reminder_due(due, promised, at(10, day=23), SHANGHAI)  # the due day itself
    made_today = datetime(2026, 11, 22, 1, 0, tzinfo=timezone.utc)  # 09:00 local that day
    assert not reminder_due(due, made_today, at(15), SHANGHAI)
    naive_utc = datetime(2026, 11, 18, 3, 0)  # as SQLite returns it
    assert reminder_due(due, naive_utc, at(10), SHANGHAI)


def test_a_reminder_is_dropped_once_its_due_day_has_come() -> None:
    due = date(2026, 11, 23)
    assert still_useful(due, at(23, 59), SHANGHAI)
    assert not still_useful(due, at(0, 1, day=23), SHANGHAI)


def test_long_replies_are_split_at_line_breaks_without_losing_text() -> None:
    text = "\n".join(f"第{i}行：您的还款计划 <1> & 说明" for i in range(400))
    chunks = chunk_text(text)
    assert len(chunks) > 1 and all(len(c) <= MAX_TEXT_CHARS for c in chunks)
    assert "\n".join(chunks) == text
    unbroken = "欠" * (MAX_TEXT_CHARS * 2 + 5)
    assert "".join(chunk_text(unbroken)) == unbroken
    assert chunk_text("") == []


def test_reply_text_keeps_markup_characters_and_adds_image_links() -> None:
    assert reply_text({"text": "a < b & c > d\n下一行"}) == "a < b & c > d\n下一行"
    assert reply_text({"text": "看图", "image": "https://x/y.png"}) == "看图\nhttps://x/y.png"


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("/start", "start"),
        ("/start abc", "start"),
        ("/help@test_bot", "help"),
        ("/HELP", "help"),
        ("我想分期", None),
        ("/", None),
    ],
)
def test_commands_are_recognised(text: str, command: str | None) -> None:
    assert command_of(text) == command


def test_settings_need_a_token_and_a_valid_secret_and_never_print_them() -> None:
    env = {"TELEGRAM_TOKEN": "1:abc", "TELEGRAM_SECRET": "s3cret_-X"}
    config = TelegramConfig.load(None, env)
    assert config.mode == "webhook" and config.base_url.startswith("https://api.telegram.org")
    assert "abc" not in repr(config) and "s3cret" not in repr(config)
    given = TelegramConfig.load({"token": "2:def", "secret": "other"}, env)
    assert (given.token, given.secret) == ("2:def", "other")
    with pytest.raises(TelegramConfigError):
        TelegramConfig.load(None, {"TELEGRAM_SECRET": "x"})
    with pytest.raises(TelegramConfigError):
        TelegramConfig.load(None, {**env, "TELEGRAM_SECRET": "has space"})
    with pytest.raises(TelegramConfigError):
        TelegramConfig.load(None, {**env, "TELEGRAM_MODE": "carrier-pigeon"})


def test_the_launcher_leaves_telegram_out_without_a_token() -> None:
    text = CREDENTIALS.read_text(encoding="utf-8")
    without, left_out = without_unset_blocks(text, {})
    assert left_out == ["bot.channels.telegram.TelegramInput"]
    assert "bot.channels.rest.CalmRestInput:" in without and "TELEGRAM_TOKEN}" not in without
    kept, none = without_unset_blocks(text, {"TELEGRAM_TOKEN": "1:a", "TELEGRAM_SECRET": "b"})
    assert kept == text and none == []


def test_servers_without_a_token_start_with_a_credentials_copy_that_is_removed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("TELEGRAM_TOKEN", raising=False)
    servers = Servers()
    copy = servers.credentials_path()
    assert copy != CREDENTIALS and "TelegramInput" not in copy.read_text(encoding="utf-8")
    assert servers.channels_left_out == ["bot.channels.telegram.TelegramInput"]
    servers.stop()
    assert not copy.exists()
    configured = Servers(extra_env={"TELEGRAM_TOKEN": "1:a", "TELEGRAM_SECRET": "b"})
    assert configured.credentials_path() == CREDENTIALS
