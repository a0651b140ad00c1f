"""Logins and console sessions in the database.

The browser holds a random token; the database holds only its SHA-256, so a leaked table does
not log anyone in. Each session carries its own CSRF token. Logins, failures and logouts are
audited like every other decision.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import delete, select, update

from bot.clock import now_utc
from bot.console.passwords import DUMMY_HASH, verify_password
from bot.db import models
from bot.db.store import Store

SESSION_TTL = timedelta(hours=9)  # one working day; then log in again
ROLES = ("specialist", "supervisor")


@dataclass(frozen=True)
class Principal:
    """The logged-in specialist of a request."""

    id: int
    username: str
    display_name: str
    role: str
    csrf_token: str = ""
    token_hash: str = ""

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    @property
    def actor(self) -> str:
        return f"specialist:{self.id}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def authenticate(store: Store, username: str, password: str) -> Principal | None:
    """The specialist whose password this is, or None; every attempt is audited."""
    username = username.strip()[:64]
    with store._session() as session, session.begin():
        row = session.execute(
            select(models.Specialist).where(models.Specialist.username == username)
        ).scalar_one_or_none()
        ok = verify_password(password, row.password_hash if row else DUMMY_HASH) and row is not None
        if not ok:
            store.audit(session, "console_login_failed", None, actor="console", username=username)
            return None
        store.audit(session, "console_login", None, actor=f"specialist:{row.id}")
        return Principal(row.id, row.username, row.display_name, row.role)


def open_session(store: Store, principal: Principal) -> tuple[str, Principal]:
    """A new session: returns the cookie token and the principal with its CSRF token."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = now_utc()
    with store._session() as session, session.begin():
        session.execute(delete(models.ConsoleSession).where(models.ConsoleSession.expires_at < now))
        session.add(
            models.ConsoleSession(
                token_hash=token_hash(token),
                specialist_id=principal.id,
                csrf_token=csrf,
                expires_at=now + SESSION_TTL,
            )
        )
        session.execute(
            update(models.Specialist)
            .where(models.Specialist.id == principal.id)
            .values(last_seen_at=now)
        )
    return token, Principal(
        principal.id,
        principal.username,
        principal.display_name,
        principal.role,
        csrf,
        token_hash(token),
    )


def resolve(store: Store, token: str | None) -> Principal | None:
    """The principal of a live session token, marking the specialist as seen just now."""
    if not token or len(token) > 128:
        return None
    digest = token_hash(token)
    now = now_utc()
    with store._session() as session, session.begin():
        found = session.execute(
            select(models.ConsoleSession, models.Specialist)
            .join(models.Specialist, models.Specialist.id == models.ConsoleSession.specialist_id)
            .where(models.ConsoleSession.token_hash == digest)
        ).first()
        if found is None:
            return None
        console_session, specialist = found
        if _aware(console_session.expires_at) <= now:
            session.delete(console_session)
            return None
        specialist.last_seen_at = now
        return Principal(
            specialist.id,
            specialist.username,
            specialist.display_name,
            specialist.role,
            console_session.csrf_token,
            digest,
        )


def touch(store: Store, specialist_id: int) -> None:
    """Keep a specialist "online" while a live page is open (availability reads last_seen_at)."""
    with store._session() as session, session.begin():
        session.execute(
            update(models.Specialist)
            .where(models.Specialist.id == specialist_id)
            .values(last_seen_at=now_utc())
        )


def close_session(store: Store, principal: Principal) -> None:
    with store._session() as session, session.begin():
        session.execute(
            delete(models.ConsoleSession).where(
                models.ConsoleSession.token_hash == principal.token_hash
            )
        )
        store.audit(session, "console_logout", None, actor=principal.actor)
