"""Login throttling: failures counted in the database per username and per client address."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests
from sqlalchemy import select, update

from bot.console import throttle
from bot.console.throttle import Limits, LoginLocked
from bot.db import models
from bot.db.store import Store
from bot.identity.knowledge import client_key
from bot.settings import load_settings
from tests.console.support import PASSWORDS, ConsoleServer

LOCKED = {"error": "登录失败次数过多，请15分钟后再试"}
T0 = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
SMALL = Limits(
    max_failures=3,
    max_address_failures=5,
    window=timedelta(minutes=10),
    lock=timedelta(minutes=15),
)


def post_login(console: ConsoleServer, username: str, password: str) -> requests.Response:
    return requests.post(
        f"{console.url}/api/login", json={"username": username, "password": password}, timeout=30
    )


def lock_events(store: Store) -> list[dict]:
    rows = store.rows(models.AuditEvent, event="console_login_locked")
    assert all(row.actor == "console" for row in rows)
    return [row.detail for row in rows]


def end_locks(store: Store) -> None:
    """What 15 minutes do: every lockout is over."""
    with store.session() as session, session.begin():
        session.execute(
            update(models.ConsoleLoginThrottle).values(
                locked_until=datetime.now(timezone.utc) - timedelta(seconds=1)
            )
        )


# --- over HTTP against the real console ---------------------------------------------------


def test_25_wrong_passwords_at_once_lock_the_username(
    console: ConsoleServer, console_store: Store
) -> None:
    """The issue's test: 25 guesses in under a second. Only the first five passwords are
    checked, even though they all arrive together; then the right one is refused too."""
    with ThreadPoolExecutor(max_workers=25) as pool:
        answers = list(pool.map(lambda n: post_login(console, "zhang", f"guess-{n}"), range(25)))
    codes = sorted(answer.status_code for answer in answers)
    assert codes == [401] * 5 + [429] * 20, codes
    refused = next(answer for answer in answers if answer.status_code == 429)
    assert refused.json() == LOCKED and int(refused.headers["Retry-After"]) > 14 * 60

    right = post_login(console, "zhang", PASSWORDS["zhang"])
    assert right.status_code == 429 and right.json() == LOCKED
    assert [(e["scope"], e["key"]) for e in lock_events(console_store)] == [("username", "zhang")]
    assert console_store.count(models.AuditEvent, event="console_login_failed") == 5
    assert post_login(console, "li", PASSWORDS["li"]).status_code == 200  # only zhang is locked

    end_locks(console_store)
    assert post_login(console, "zhang", PASSWORDS["zhang"]).status_code == 200


def test_an_address_is_locked_and_a_success_does_not_reset_it(
    console: ConsoleServer, console_store: Store
) -> None:
    limit = load_settings().console_login_max_address_failures
    for number in range(limit - 1):  # different usernames: no username reaches its limit
        assert post_login(console, f"ghost-{number}", "x").status_code == 401
    assert post_login(console, "li", PASSWORDS["li"]).status_code == 200  # counts nothing...
    assert post_login(console, "ghost-last", "x").status_code == 401  # ...nor forgives: locked
    for username in ("zhang", "li", "boss"):
        refused = post_login(console, username, PASSWORDS[username])
        assert refused.status_code == 429 and refused.json() == LOCKED
    [event] = lock_events(console_store)
    address = client_key("127.0.0.1", load_settings().identity_pepper)
    assert (event["scope"], event["key"], event["failures"]) == ("address", address, limit)
    with console_store.session() as session:
        keys = set(session.execute(select(models.ConsoleLoginThrottle.key)).scalars())
    assert "127.0.0.1" not in keys and address in keys

    form = requests.Session()
    form.get(f"{console.url}/login")
    page = form.post(
        f"{console.url}/login",
        data={
            "username": "zhang",
            "password": PASSWORDS["zhang"],
            "csrf_token": form.cookies["console_login_csrf"],
        },
        allow_redirects=False,
    )
    assert page.status_code == 429 and "登录失败次数过多，请15分钟后再试" in page.text

    end_locks(console_store)
    assert post_login(console, "zhang", PASSWORDS["zhang"]).status_code == 200


# --- the counting itself, with the clock in hand ------------------------------------------


def fail(store: Store, username: str, at: datetime, address: str = "10.0.0.1") -> None:
    throttle.reserve(store, username, address, SMALL, at)
    throttle.settle(store, username, address, False, SMALL, at)


def succeed(store: Store, username: str, at: datetime, address: str = "10.0.0.1") -> None:
    throttle.reserve(store, username, address, SMALL, at)
    throttle.settle(store, username, address, True, SMALL, at)


def test_a_lock_lasts_its_minutes_then_the_count_starts_afresh(store: Store) -> None:
    for minute in range(3):
        fail(store, "zhang", T0 + timedelta(minutes=minute))
    locked_at = T0 + timedelta(minutes=2)
    with pytest.raises(LoginLocked) as info:
        throttle.reserve(store, "zhang", "10.0.0.9", SMALL, locked_at + timedelta(minutes=14))
    assert info.value.retry_after == 60 and info.value.message == "登录失败次数过多，请1分钟后再试"
    after = locked_at + SMALL.lock
    fail(store, "zhang", after)
    fail(store, "zhang", after)  # two fresh failures: not locked again
    throttle.reserve(store, "zhang", "10.0.0.9", SMALL, after)
    [event] = lock_events(store)
    assert event["until"] == (locked_at + SMALL.lock).isoformat()


def test_failures_outside_the_window_are_forgotten(store: Store) -> None:
    fail(store, "zhang", T0)
    fail(store, "zhang", T0 + timedelta(minutes=1))
    later = T0 + SMALL.window + timedelta(seconds=1)
    fail(store, "zhang", later)
    fail(store, "zhang", later)
    throttle.reserve(store, "zhang", "10.0.0.1", SMALL, later)  # 2 in this window: allowed
    assert lock_events(store) == []


def test_a_success_clears_its_username_but_never_its_address(store: Store) -> None:
    fail(store, "zhang", T0)
    fail(store, "zhang", T0)
    succeed(store, "zhang", T0)
    fail(store, "zhang", T0)
    fail(store, "zhang", T0)  # 2 since the success: zhang is not locked
    fail(store, "li", T0)  # but the address has 5 failures now
    with pytest.raises(LoginLocked):
        throttle.reserve(store, "boss", "10.0.0.1", SMALL, T0)
    throttle.reserve(store, "boss", "10.0.0.2", SMALL, T0)  # another address may still try
    assert [(e["scope"], e["key"]) for e in lock_events(store)] == [("address", "10.0.0.1")]


def test_guesses_in_flight_count_before_their_passwords_are_checked(store: Store) -> None:
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        throttle.reserve(store, "zhang", address, SMALL, T0)  # three checks still running
    with pytest.raises(LoginLocked):
        throttle.reserve(store, "zhang", "10.0.0.4", SMALL, T0)
    assert store.count(models.AuditEvent, event="console_login_refused") == 1
