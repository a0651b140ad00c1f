"""Console fixtures: the seeded store plus three users, and the real server on top of it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.console.users import set_user
from bot.db.store import Store
from bot.plans import DEFAULT_POLICY_PATH
from tests.console.support import PASSWORDS, USERS, ConsoleServer, login

# The test servers speak plain HTTP on 127.0.0.1, where a Secure cookie would never come back.
PLAIN_HTTP = {"CONSOLE_COOKIE_SECURE": "false"}
StartConsole = Callable[..., ConsoleServer]


@pytest.fixture
def console_store(store: Store) -> Store:
    for username, display_name, role in USERS:
        set_user(store, username, display_name, role, PASSWORDS[username], replace=True)
    return store


@pytest.fixture
def start_console(
    console_store: Store, database_url: str, tmp_path: Path
) -> Iterator[StartConsole]:
    """Start one more console process on the test's database (the race test uses two).

    ``start(env={...}, policy=path)``: more environment (``None`` removes a variable) and
    another plan policy file.
    """
    servers: list[ConsoleServer] = []

    def start(
        env: dict[str, str | None] | None = None, policy: Path | None = None
    ) -> ConsoleServer:
        server = ConsoleServer(
            database_url,
            tmp_path / f"console-{len(servers)}.log",
            env={**PLAIN_HTTP, **(env or {})},
            policy=policy,
        )
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def one_pair_of_eyes(tmp_path: Path) -> Path:
    """policy/plans.yml with ``approval.four_eyes: false``: the holder approves alone."""
    text = DEFAULT_POLICY_PATH.read_text(encoding="utf-8")
    assert text.count("  four_eyes: true") == 1
    path = tmp_path / "plans-one-pair-of-eyes.yml"
    path.write_text(text.replace("  four_eyes: true", "  four_eyes: false"), encoding="utf-8")
    return path


@pytest.fixture
def console(start_console: StartConsole) -> ConsoleServer:
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
