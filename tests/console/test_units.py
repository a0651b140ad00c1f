"""The console's pieces without the server: passwords, demo users, transcript merge, charts."""

from __future__ import annotations

import copy
import json
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest
from matplotlib import font_manager
from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

from bot.console import charts, dashboard
from bot.console.labels import reason_label
from bot.console.passwords import hash_password, verify_password
from bot.console.users import DEMO_USERS, demo_users_report, ensure_demo_users
from bot.conversation.escalation import PRIORITY
from bot.db import models
from bot.db.store import Store
from bot.handoff.cases import Cases
from bot.handoff.outbox import Outbox
from bot.handoff.transcript import EXTERNAL_MESSAGE_PREFIX, transcript


def test_passwords_are_salted_and_checked() -> None:
    first, second = hash_password("秘密 pass"), hash_password("秘密 pass")
    assert first != second and first.startswith("scrypt$")
    assert verify_password("秘密 pass", first) and verify_password("秘密 pass", second)
    assert not verify_password("秘密 Pass", first)
    assert not verify_password("x", "not-a-hash") and not verify_password("x" * 1000, first)


def test_demo_users_are_created_once_and_keep_their_passwords(store: Store, tmp_path: Path) -> None:
    saved = tmp_path / "passwords.json"
    created = ensure_demo_users(store, path=saved)
    assert [u.username for u in created] == [name for name, _, _ in DEMO_USERS]
    assert all(u.created and u.password for u in created)
    hashes = {row.username: row.password_hash for row in store.rows(models.Specialist)}
    again = ensure_demo_users(store, path=saved)
    assert not any(u.created for u in again)
    assert [u.password for u in again] == [u.password for u in created]  # shown again
    assert {row.username: row.password_hash for row in store.rows(models.Specialist)} == hashes
    for user in created:
        assert verify_password(user.password, hashes[user.username])
    assert saved.stat().st_mode & 0o077 == 0  # owner-only: it holds passwords
    reset = ensure_demo_users(store, reset=True, path=saved)
    assert all(u.created for u in reset) and reset[0].password != created[0].password


def test_demo_passwords_reach_the_terminal_only_when_made(store: Store, tmp_path: Path) -> None:
    saved = tmp_path / "passwords.json"
    created = ensure_demo_users(store, path=saved)
    first = "\n".join(demo_users_report(created))
    assert all(user.password in first for user in created)
    again = "\n".join(demo_users_report(ensure_demo_users(store, path=saved)))
    assert not any(user.password in again for user in created)
    assert "已存在" in again and "console-demo-passwords.json" in again and "--reset" in again


def _rasa_events_table(store: Store) -> Table:
    """The columns of Rasa's SQLTrackerStore table, as Rasa creates it."""
    table = Table(
        "events",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("sender_id", String(255), nullable=False),
        Column("type_name", String(255), nullable=False),
        Column("timestamp", Float),
        Column("intent_name", String(255)),
        Column("action_name", String(255)),
        Column("data", Text),
    )
    table.create(store.engine)
    return table


def test_transcript_merges_rasa_held_and_outbox_messages_by_time(store: Store) -> None:
    assert transcript(store, "t-1") == []  # no Rasa table yet: nothing, no error
    table = _rasa_events_table(store)
    base = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc).timestamp()
    rows = [
        ("user", base, {"event": "user", "text": "我想转人工"}),
        ("action", base + 1, {"event": "action", "name": "action_listen"}),
        ("bot", base + 2, {"event": "bot", "text": "好的，正在为您转接。"}),
        ("bot", base + 3, {"event": "bot", "data": {"buttons": []}}),
    ]
    with store.engine.begin() as connection:
        for type_name, stamp, data in rows:
            connection.execute(
                table.insert().values(
                    sender_id="t-1", type_name=type_name, timestamp=stamp, data=json.dumps(data)
                )
            )
        connection.execute(
            table.insert().values(
                sender_id="other", type_name="user", timestamp=base, data='{"text": "别人"}'
            )
        )
    case = store.escalate("t-1", "request_human", 1, "CC-0001", "rest")
    cases = Cases(store)
    specialist = models.Specialist(username="s", display_name="张敏", password_hash="x")
    with store._session() as session, session.begin():
        session.add(specialist)
    cases.claim(case.id, specialist.id, "张敏")
    cases.record_held_message(cases.get(case.id), "我等着呢")
    cases.reply(case.id, specialist.id, "您好")
    items = transcript(store, "t-1")
    assert [(i["author"], i["text"]) for i in items] == [
        ("cardholder", "我想转人工"),
        ("bot", "好的，正在为您转接。"),
        ("system", "人工专员张敏已加入对话，接下来由专员为您服务。"),
        ("cardholder", "我等着呢"),
        ("specialist", "您好"),
    ]
    assert items[0]["at"] == "2026-11-22T09:00:00+00:00"
    assert len({i["key"] for i in items}) == len(items)
    assert items[4]["name"] == "张敏"  # the specialist by name


def test_a_hand_back_shows_each_line_once_and_nothing_internal(store: Store) -> None:
    """After a hand-back Rasa stores the replayed intent as a user event and the bot's answer,
    which the outbox also queues for delivery: the specialist reads the answer once and no
    "EXTERNAL: request_installment" from the cardholder; line breaks stay."""
    table = _rasa_events_table(store)
    base = datetime(2026, 11, 22, 9, 0, tzinfo=timezone.utc).timestamp()
    replayed = {
        "event": "user", "text": f"{EXTERNAL_MESSAGE_PREFIX}request_installment",
        "input_channel": "collector", "metadata": {"is_external": True},
    }  # fmt: skip
    rows = [
        ("user", base, {"event": "user", "text": "我失业了\n收入没了", "input_channel": "rest"}),
        ("user", base + 60, replayed),
        ("bot", base + 61, {"event": "bot", "text": "我们继续看看方案。"}),
    ]
    with store.engine.begin() as connection:
        for type_name, stamp, data in rows:
            connection.execute(
                table.insert().values(
                    sender_id="t-2", type_name=type_name, timestamp=stamp, data=json.dumps(data)
                )
            )
    Outbox(store).post("t-2", "rest", "bot", "我们继续看看方案。")
    assert [(i["author"], i["text"]) for i in transcript(store, "t-2")] == [
        ("cardholder", "我失业了\n收入没了"),
        ("bot", "我们继续看看方案。"),
    ]


def test_the_transcript_knows_rasa_s_prefix_for_a_replayed_intent() -> None:
    """Differential: the handoff package imports no Rasa, so it keeps its own copy."""
    from rasa.shared.core.constants import EXTERNAL_MESSAGE_PREFIX as rasa_prefix

    assert EXTERNAL_MESSAGE_PREFIX == rasa_prefix


def test_reasons_are_labelled_in_chinese_rules_by_the_bank_s_own_words() -> None:
    assert reason_label("rule:long_overdue") == "规则：逾期超过180天的账户由专员复核"
    assert reason_label("rule:unknown_rule") == "规则：unknown_rule"
    assert reason_label("identity_card_locked").startswith("卡片验证已锁定")
    assert all(reason_label(reason) != reason for reason in PRIORITY)  # every reason has a label


def test_dashboard_numbers_and_every_chart_render(store: Store) -> None:
    store.escalate("d-1", "distress", 0, "CC-0001")
    store.escalate("d-2", "complaint", 1, "CC-0002")
    stats = dashboard.statistics(store)
    assert {e["reason"]: e["count"] for e in stats["by_reason"]} == {"distress": 1, "complaint": 1}
    assert stats["waiting"]["open_now"] == 2 and len(stats["daily"]) == dashboard.WINDOW_DAYS + 1
    for name in charts.CHARTS:
        assert charts.render_png(name, stats).startswith(b"\x89PNG")


def test_charts_find_a_chinese_font_installed_after_matplotlib_built_its_cache(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`make test` installs a CJK font (scripts/ensure_browser.sh); matplotlib's font cache may
    predate it, and the dashboard would then draw English and raw codes."""
    listed = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False)
    assert listed.stdout.strip(), "no Chinese font: scripts/ensure_browser.sh installs one"
    stale = copy.copy(font_manager.fontManager)
    stale.ttflist = [
        font for font in stale.ttflist if font.name not in charts.CJK_FONTS
    ]  # as if the cache was built before the font was installed
    monkeypatch.setattr(font_manager, "fontManager", stale)
    monkeypatch.setattr(font_manager, "findfont", stale.findfont)
    charts.cjk_font.cache_clear()
    try:
        assert charts.cjk_font() in charts.CJK_FONTS
        assert charts._words() is charts.CHINESE
    finally:
        charts.cjk_font.cache_clear()
