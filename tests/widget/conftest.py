"""One seeded SQLite database and one pair of real servers (Rasa + actions) for all widget tests
that need them; starting Rasa takes half a minute, so they are shared by the package."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.db.store import Store
from bot.launcher import Servers, free_port
from bot.settings import PROJECT_ROOT
from tests.support import seeded_database


@pytest.fixture(scope="session")
def widget_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return seeded_database(tmp_path_factory.mktemp("widget"))


@pytest.fixture(scope="session")
def widget_servers(widget_database: str) -> Iterator[Servers]:
    with Servers(
        rasa_port=free_port(),
        actions_port=free_port(),
        database_url=widget_database,
        log_dir=PROJECT_ROOT / "tests" / "artifacts" / "widget-logs",
        # the demo page's stand-in for a bank login, as `make run` has it
        extra_env={"BOT_TODAY": "2026-11-22", "WIDGET_DEMO_TOKENS": "1"},
    ) as running:
        yield running


@pytest.fixture
def widget_store(widget_database: str) -> Iterator[Store]:
    store = Store.from_url(widget_database)
    yield store
    store.engine.dispose()
