"""Verified sessions: the one place that decides whether a conversation may see an account.

Slots can be forged by whoever can write a tracker, so no action trusts ``verified`` or
``account_id``: a row here, bound to the conversation *and* its channel, is the proof. It ends
after ``verification_idle_minutes`` without use, after ``verification_max_minutes`` whatever
happens, and when the conversation starts a new Rasa session.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update

from bot.clock import as_utc, now_utc
from bot.db import models
from bot.db.store import AccountView, Store, VerifiedRow
from bot.settings import Settings, load_settings

KNOWLEDGE_CHECK = "knowledge_check"
WIDGET_TOKEN = "widget_token"
TELEGRAM_LINK = "telegram_link"
TOUCH_EVERY = timedelta(seconds=30)
# a conversation on no named channel (Rasa's own tools: `rasa shell`, Agent.handle_text)
NO_CHANNEL = "unknown"


_table = models.VerifiedSession.__table__
_LATEST = (
    select(
        _table.c.id, _table.c.channel, _table.c.account_id, _table.c.method,
        _table.c.verified_at, _table.c.last_seen_at, _table.c.expires_at,
    )
    .where(_table.c.conversation_id == bindparam("conversation_id"), _table.c.revoked_at.is_(None))
    .order_by(_table.c.id.desc())
    .limit(1)
)  # fmt: skip


# Grants and revocations made by this process so far: a reading cached for one action-server
# request (actions/common.py) is stale once this has moved.
_changes = 0


def changes() -> int:
    return _changes


def _changed() -> None:
    global _changes
    _changes += 1


@dataclass(frozen=True)
class Controls:
    """What the controls know of a conversation at one moment: the account it is verified for
    (None: not verified), that account's data, and whether it is in crisis."""

    account_id: str | None
    account: AccountView | None
    in_crisis: bool


class VerifiedSessions:
    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        settings = settings or load_settings()
        self.idle = timedelta(minutes=settings.verification_idle_minutes)
        self.longest = timedelta(minutes=settings.verification_max_minutes)

    def grant(
        self, conversation_id: str, channel: str | None, account_id: str, method: str
    ) -> None:
        """The conversation is the account's holder from now on (replacing any earlier grant)."""
        channel = channel or NO_CHANNEL
        moment = now_utc()
        _changed()
        with self.store.session() as session, session.begin():
            self._end_all(session, conversation_id, moment)
            session.add(
                models.VerifiedSession(
                    conversation_id=conversation_id,
                    channel=channel,
                    account_id=account_id,
                    method=method,
                    verified_at=moment,
                    last_seen_at=moment,
                    expires_at=moment + self.longest,
                )
            )
            self.store.audit(
                session,
                "identity_verified",
                conversation_id,
                account_id,
                channel=channel,
                method=method,
            )

    def current(
        self,
        conversation_id: str,
        channel: str | None,
        session_started: datetime | None = None,
    ) -> str | None:
        """The account this conversation is verified for on this channel, or None. A knowledge
        check made before ``session_started`` (the Rasa session's start) does not count: it
        never carries into a new session; a channel's own login does (the channel vouches for
        every message). Read with one prebuilt statement, and written only to end a session or
        to restart its idle clock (at most every TOUCH_EVERY): it runs for most actions."""
        with self.store.engine.connect() as connection:
            row = connection.execute(_LATEST, {"conversation_id": conversation_id}).first()
        return self._holds(row, channel, session_started)

    def controls(
        self,
        conversation_id: str,
        channel: str | None,
        session_started: datetime | None = None,
    ) -> Controls:
        """``current`` with the account's data and the crisis flag, in one statement (what the
        actions need for nearly every message; ``Store.controls_of``)."""
        row = self.store.controls_of(conversation_id)
        account_id = self._holds(row.session, channel, session_started)
        return Controls(account_id, row.account if account_id else None, row.in_crisis)

    def _holds(
        self, row: VerifiedRow | None, channel: str | None, session_started: datetime | None
    ) -> str | None:
        """The row's account if the session still holds for this channel and Rasa session;
        ends it when it has expired or belongs to an earlier Rasa session."""
        if row is None or row.channel != (channel or NO_CHANNEL):
            return None
        moment = now_utc()
        ended = moment >= as_utc(row.expires_at) or moment - as_utc(row.last_seen_at) >= self.idle
        stale = (
            row.method == KNOWLEDGE_CHECK
            and session_started is not None
            and as_utc(row.verified_at) < session_started
        )
        if ended or stale:
            _changed()
            self._set(row.id, revoked_at=moment)
            return None
        if moment - as_utc(row.last_seen_at) >= TOUCH_EVERY:
            self._set(row.id, last_seen_at=moment)
        return row.account_id

    def _set(self, row_id: int, **values: datetime) -> None:
        with self.store.engine.begin() as connection:
            connection.execute(_table.update().where(_table.c.id == row_id).values(**values))

    def revoke(
        self, conversation_id: str, reason: str, methods: tuple[str, ...] | None = None
    ) -> bool:
        """End the conversation's verification (a new session, the cardholder's wish); only
        those made by ``methods`` when given."""
        moment = now_utc()
        _changed()
        with self.store.session() as session, session.begin():
            ended = self._end_all(session, conversation_id, moment, methods)
            if ended:
                self.store.audit(session, "identity_ended", conversation_id, reason=reason)
            return ended > 0

    @staticmethod
    def _end_all(
        session: object,
        conversation_id: str,
        moment: datetime,
        methods: tuple[str, ...] | None = None,
    ) -> int:
        statement = update(models.VerifiedSession).where(
            models.VerifiedSession.conversation_id == conversation_id,
            models.VerifiedSession.revoked_at.is_(None),
        )
        if methods is not None:
            statement = statement.where(models.VerifiedSession.method.in_(methods))
        result = session.execute(statement.values(revoked_at=moment))  # type: ignore[attr-defined]
        return result.rowcount or 0
