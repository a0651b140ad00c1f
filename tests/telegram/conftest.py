"""Fixtures of the Telegram tests: the fake Bot API and a seeded SQLite database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.db.store import Store
from tests.support import seeded_store
from tests.telegram.fake_bot_api import FakeBotApi


@pytest.fixture
def fake_api() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[Store]:  # noqa: ANN001
    store = seeded_store(tmp_path)
    yield store
    store.engine.dispose()
