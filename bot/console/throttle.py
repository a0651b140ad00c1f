"""Login throttling shared by every console process: failures are counted in the database.

A username is locked after ``console_login_max_failures`` failures within the window, a client
address after ``console_login_max_address_failures``; either for ``console_login_lock_minutes``
(``bot.settings``). An attempt is counted *before* its password is checked and uncounted when
it was right, so parallel guesses cannot slip past the limit while the first are being checked.
A successful login clears its username's failures but never its address's: one valid account
must not buy more guesses at the others. Each lockout is audited (actor ``console``).
Addresses are kept only as keyed hashes (``bot.identity.knowledge.client_key``), like the
cardholders' ones: the tables hold no IP addresses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, tuple_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.clock import now_utc
from bot.console import sessions
from bot.db import models
from bot.db.store import Store
from bot.identity.knowledge import client_key
from bot.settings import Settings, load_settings

USERNAME, ADDRESS = "username", "address"
Throttle = models.ConsoleLoginThrottle
FORGET_AFTER = timedelta(days=1)  # rows untouched this long are deleted


@dataclass(frozen=True)
class Limits:
    max_failures: int
    max_address_failures: int
    window: timedelta
    lock: timedelta
    pepper: str = ""  # keys the client addresses

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Limits:
        settings = settings or load_settings()
        return cls(
            max_failures=max(1, settings.console_login_max_failures),
            max_address_failures=max(1, settings.console_login_max_address_failures),
            window=timedelta(minutes=max(1, settings.console_login_window_minutes)),
            lock=timedelta(minutes=max(1, settings.console_login_lock_minutes)),
            pepper=settings.identity_pepper,
        )

    def limit(self, scope: str) -> int:
        return self.max_failures if scope == USERNAME else self.max_address_failures


class LoginLocked(Exception):
    """Too many failures: no password is checked until ``until``."""

    def __init__(self, until: datetime, now: datetime) -> None:
        self.until = until
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))
        super().__init__(self.message)

    @property
    def message(self) -> str:
        # to the nearest minute: a lock set a moment after "now" was read must still say 15
        return f"登录失败次数过多，请{max(1, round(self.retry_after / 60))}分钟后再试"


def _aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; they are UTC."""
    if moment is None or moment.tzinfo:
        return moment
    return moment.replace(tzinfo=timezone.utc)


def _keys(username: str, address: str) -> list[tuple[str, str]]:
    # Always locked in the same order, so two processes never deadlock on the pair.
    return sorted([(USERNAME, username.strip()[:64]), (ADDRESS, address[:128] or "unknown")])


def _locked_row(session: Session, scope: str, key: str, now: datetime) -> Throttle:
    """The throttle row, created if new and locked until this transaction ends."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    for _attempt in range(3):  # a stale row may be deleted under us: then create it again
        session.execute(
            dialect.insert(Throttle)
            .values(scope=scope, key=key, failures=0, updated_at=now)
            .on_conflict_do_nothing()
        )
        row = session.execute(
            select(Throttle)
            .where(Throttle.scope == scope, Throttle.key == key)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).scalar_one_or_none()
        if row is not None:
            return row
    raise RuntimeError(f"login throttle row {scope}/{key} keeps disappearing")


def _forget_stale(store: Store, now: datetime) -> None:
    """Delete rows nobody touched for a day; rows another login holds are skipped, not waited
    for (so this never deadlocks with one)."""
    stale = (
        select(Throttle.scope, Throttle.key)
        .where(Throttle.updated_at < now - FORGET_AFTER)
        .with_for_update(skip_locked=True)
    )
    with store._session() as session, session.begin():
        session.execute(
            delete(Throttle)
            .where(tuple_(Throttle.scope, Throttle.key).in_(stale))
            .execution_options(synchronize_session=False)
        )


def _expire(row: Throttle, limits: Limits, now: datetime) -> None:
    """A lockout that has ended, or a window that has passed, starts the count afresh."""
    locked_until, started = _aware(row.locked_until), _aware(row.window_started_at)
    if (locked_until is not None and locked_until <= now) or (
        locked_until is None and started is not None and started + limits.window <= now
    ):
        row.failures, row.window_started_at, row.locked_until = 0, None, None
    row.updated_at = now


def reserve(store: Store, username: str, address: str, limits: Limits, now: datetime) -> None:
    """Count this attempt as a failure in advance, or raise LoginLocked (nothing is counted).

    ``address`` is the client's key (never the IP address itself)."""
    _forget_stale(store, now)
    refused_until: datetime | None = None
    with store._session() as session, session.begin():
        rows = [_locked_row(session, scope, key, now) for scope, key in _keys(username, address)]
        for row in rows:
            _expire(row, limits, now)
            if row.locked_until is not None:
                until = _aware(row.locked_until)
            elif row.failures >= limits.limit(row.scope):  # the last allowed ones are in flight
                until = now + limits.lock
            else:
                continue
            refused_until = max(refused_until or until, until)
        if refused_until is not None:
            store.audit(
                session, "console_login_refused", None, actor="console",
                username=username, address=address, until=refused_until.isoformat(),
            )  # fmt: skip
        else:
            for row in rows:
                row.failures += 1
                row.window_started_at = row.window_started_at or now
    if refused_until is not None:
        raise LoginLocked(refused_until, now)


def settle(
    store: Store, username: str, address: str, succeeded: bool, limits: Limits, now: datetime
) -> None:
    """After the password check: uncount a success, or lock whatever reached its limit."""
    with store._session() as session, session.begin():
        for scope, key in _keys(username, address):
            row = _locked_row(session, scope, key, now)
            row.updated_at = now
            if succeeded:
                if scope == USERNAME:
                    row.failures, row.window_started_at = 0, None
                else:
                    row.failures = max(0, row.failures - 1)
                continue
            locked = row.locked_until is not None and _aware(row.locked_until) > now
            if not locked and row.failures >= limits.limit(scope):
                row.locked_until = now + limits.lock
                store.audit(
                    session, "console_login_locked", None, actor="console",
                    scope=scope, key=key, failures=row.failures,
                    until=row.locked_until.isoformat(),
                )  # fmt: skip


def attempt_login(
    store: Store, username: str, password: str, address: str, limits: Limits | None = None
) -> sessions.Principal | None:
    """``sessions.authenticate`` behind the throttle; raises LoginLocked instead of checking."""
    limits = limits or Limits.from_settings()
    username = username.strip()[:64]
    address = client_key(address, limits.pepper) or ""
    reserve(store, username, address, limits, now_utc())
    principal = None
    try:
        principal = sessions.authenticate(store, username, password)
    finally:
        settle(store, username, address, principal is not None, limits, now_utc())
    return principal
