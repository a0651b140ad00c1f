"""Shared fixtures: real databases (a SQLite file and a PostgreSQL database) seeded with demo data.

PostgreSQL runs on 127.0.0.1:5432 on this machine and in CI (.ci/run starts it). Each test gets a
database of its own, created and dropped around it, so tests never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from bot.db.scratch import DEFAULT_ADMIN_URL, scratch_postgres_database
from bot.db.seed import seed
from bot.db.store import Store

if TYPE_CHECKING:
    from bot.launcher import Servers
    from tests.demo_run import DemoRun

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


# The REST servers that several modules share (test_e2e_rest, test_e2e_trust_boundary): one
# start for all, each module with its own sender ids. The last test of the session that uses
# them floods the per-client limit (every test is one client, 127.0.0.1).
REST_CLIENT_LIMIT = 200


@pytest.fixture(scope="session")
def rest_database(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tests.support import seeded_database

    return seeded_database(tmp_path_factory.mktemp("e2e"))


@pytest.fixture(scope="session")
def rest_servers(rest_database: str) -> Iterator[Servers]:
    from bot.launcher import Servers, free_port

    with Servers(
        rasa_port=free_port(),
        actions_port=free_port(),
        database_url=rest_database,
        log_dir=Path("tests/artifacts/e2e-logs"),
        extra_env={"BOT_TODAY": "2026-11-22", "RATE_LIMIT_PER_CLIENT": str(REST_CLIENT_LIMIT)},
    ) as running:
        yield running


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """`make run` as typed, on free ports and a scratch database: one start for the tests of
    its output and of what it serves (the demo page, community clients)."""
    from tests.demo_run import make_run

    with make_run(tmp_path_factory.mktemp("make-run")) as running:
        yield running


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
