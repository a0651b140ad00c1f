"""Fixtures of the Telegram tests: the fake Bot API and a seeded SQLite database, and one set
of real servers with the Telegram channel for every module that needs them (each module its own
chat ids and update ids): starting Rasa takes about a minute in CI."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.db.store import Store
from bot.launcher import Servers, free_port
from tests.support import seeded_database, seeded_store
from tests.telegram.fake_bot_api import TOKEN, FakeBotApi
from tests.telegram.servers_config import API_TOKEN, PUBLIC_URL, SECRET


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[Store]:  # noqa: ANN001
    store = seeded_store(tmp_path)
    yield store
    store.engine.dispose()


@pytest.fixture(scope="package")
def api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as running:
        yield running


@pytest.fixture(scope="package")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return seeded_database(tmp_path_factory.mktemp("telegram"))


@pytest.fixture(scope="package")
def servers(api: FakeBotApi, database: str) -> Iterator[Servers]:
    with Servers(
        rasa_port=free_port(),
        actions_port=free_port(),
        database_url=database,
        log_dir=Path("tests/artifacts/telegram-logs"),
        extra_env={
            "BOT_TODAY": "2026-11-22",
            "TELEGRAM_TOKEN": TOKEN,
            "TELEGRAM_SECRET": SECRET,
            "TELEGRAM_BASE_URL": api.base_url,
            "TELEGRAM_MODE": "webhook",
            "TELEGRAM_WEBHOOK_URL": PUBLIC_URL,
            "RASA_API_TOKEN": API_TOKEN,
        },
    ) as running:
        yield running
