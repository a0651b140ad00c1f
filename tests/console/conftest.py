"""Console fixtures: the seeded store plus three users, and the real server on top of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.console.users import set_user
from bot.db.store import Store
from tests.console.support import PASSWORDS, USERS, ConsoleServer, login


@pytest.fixture
def console_store(store: Store) -> Store:
    for username, display_name, role in USERS:
        set_user(store, username, display_name, role, PASSWORDS[username], replace=True)
    return store


@pytest.fixture
def start_console(
    console_store: Store, database_url: str, tmp_path: Path
) -> Iterator[Callable[[], ConsoleServer]]:
    """Start one more console process on the test's database (the race test uses two)."""
    servers: list[ConsoleServer] = []

    def start() -> ConsoleServer:
        server = ConsoleServer(database_url, tmp_path / f"console-{len(servers)}.log")
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def console(start_console: Callable[[], ConsoleServer]) -> ConsoleServer:
    return start_console()


@pytest.fixture
def zhang(console: ConsoleServer):  # noqa: ANN201 - requests.Session
    return login(console.url, "zhang")


@pytest.fixture
def li(console: ConsoleServer):  # noqa: ANN201
    return login(console.url, "li")


@pytest.fixture
def boss(console: ConsoleServer):  # noqa: ANN201
    return login(console.url, "boss")
