"""Shared fixtures: real databases (a SQLite file and a PostgreSQL database) seeded with demo data.

PostgreSQL runs on 127.0.0.1:5432 on this machine and in CI (.ci/run starts it). Each test gets a
database of its own, created and dropped around it, so tests never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from bot.db.scratch import DEFAULT_ADMIN_URL, scratch_postgres_database
from bot.db.seed import seed
from bot.db.store import Store

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_ADMIN_URL", DEFAULT_ADMIN_URL)
os.environ.setdefault("BOT_TODAY", "2026-11-22")


def _postgres_database() -> Iterator[str]:
    try:
        database = scratch_postgres_database(POSTGRES_ADMIN_URL, prefix="assistant_test")
        url = database.__enter__()
    except Exception as error:  # noqa: BLE001 - turn any connection problem into one clear failure
        pytest.fail(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable: {error}", pytrace=False)
    try:
        yield url
    finally:
        database.__exit__(None, None, None)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    yield from _postgres_database()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:  # noqa: ANN001
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'assistant.db'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    instance = Store.from_url(database_url)
    seed(instance)
    yield instance
    instance.engine.dispose()
