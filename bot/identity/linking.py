"""Telegram account links: the bank's one-time code proves who a Telegram user is, once.

The bank already knows its cardholders: it shows a code in its app or sends it by SMS, the
cardholder sends it to the bot (``/link <code>``), and from then on that Telegram user is the
account's holder, so their chats are verified without asking card or ID digits. Codes are
random, stored only as an HMAC with the identity pepper, work once for ten minutes, and a newer
code for the account ends older ones; five wrong codes within an hour lock the Telegram user out
of linking for an hour. Every outcome writes an audit row.

Demo and tests (the "SMS"): ``python -m bot.identity.linking issue CC-0001`` prints a code.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import secrets
import sys
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from bot.clock import as_utc, now_utc
from bot.db import models
from bot.db.store import Store
from bot.settings import Settings, load_settings

CODE_DIGITS = 8  # 10^8 codes: guessing a live one at five tries an hour is hopeless
CODE_LIFETIME = timedelta(minutes=10)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(hours=1)
LOCKOUT = timedelta(hours=1)

LINKED = "linked"
INVALID = "invalid"  # wrong, expired, used or replaced: the cardholder is told the same
LOCKED = "locked"


class UnknownAccount(ValueError):
    pass


@dataclass(frozen=True)
class Redemption:
    """What sending a code achieved; ``card_last4`` is the one account detail a reply names."""

    status: str
    account_id: str | None = None
    card_last4: str | None = None


def normalise_code(text: str) -> str | None:
    """The digits the cardholder meant (full-width digits, spaces and dashes allowed), or None
    when the text cannot be a code."""
    folded = unicodedata.normalize("NFKC", text or "")
    digits = "".join(ch for ch in folded if ch not in " -_\t\n")
    if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit():
        return digits
    return None


def _actor(telegram_user_id: str) -> str:
    return f"telegram:{telegram_user_id}"[:64]


class AccountLinks:
    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.pepper = (settings or load_settings()).identity_pepper.encode()

    def code_hash(self, code: str) -> str:
        return hmac.new(self.pepper, code.encode(), hashlib.sha256).hexdigest()

    # --- the bank's side ---------------------------------------------------------------------

    def issue_code(self, account_id: str) -> str:
        """A fresh code for the account (the older unused ones stop working); shown once."""
        moment = now_utc()
        with self.store.session() as session, session.begin():
            # the row lock makes concurrent issues for one account take turns (PostgreSQL)
            known = session.execute(
                select(models.Account.account_id)
                .where(models.Account.account_id == account_id)
                .with_for_update()
            ).first()
            if known is None:
                raise UnknownAccount(account_id)
            session.execute(
                update(models.AccountLinkCode)
                .where(
                    models.AccountLinkCode.account_id == account_id,
                    models.AccountLinkCode.redeemed_at.is_(None),
                    models.AccountLinkCode.replaced_at.is_(None),
                )
                .values(replaced_at=moment)
            )
            code = self._unused_code(session, moment)
            session.add(
                models.AccountLinkCode(
                    account_id=account_id,
                    code_hash=self.code_hash(code),
                    issued_at=moment,
                    expires_at=moment + CODE_LIFETIME,
                )
            )
            self.store.audit(
                session,
                "telegram_link_code_issued",
                None,
                account_id,
                actor="bank",
                expires_at=(moment + CODE_LIFETIME).isoformat(),
            )
        return code

    def _unused_code(self, session: Session, moment: datetime) -> str:
        """A random code no other live code has (a clash is one in 10^8, but would be ambiguous)."""
        while True:
            code = "".join(secrets.choice("0123456789") for _ in range(CODE_DIGITS))
            clash = session.execute(
                select(models.AccountLinkCode.id).where(
                    models.AccountLinkCode.code_hash == self.code_hash(code),
                    models.AccountLinkCode.redeemed_at.is_(None),
                    models.AccountLinkCode.replaced_at.is_(None),
                    models.AccountLinkCode.expires_at > moment,
                )
            ).first()
            if clash is None:
                return code

    # --- the cardholder's side ---------------------------------------------------------------

    def redeem(self, telegram_user_id: str, code: str, conversation_id: str) -> str | None:
        """The linked account's id, or None (wrong, expired or used code, or locked out)."""
        return self.attempt(telegram_user_id, code, conversation_id).account_id

    def attempt(self, telegram_user_id: str, code: str, conversation_id: str) -> Redemption:
        """Redeem a code and say how it went, so the channel can answer "locked" apart."""
        user = str(telegram_user_id)
        moment = now_utc()
        with self.store.session() as session, session.begin():
            if self._locked(session, user, moment):
                self.store.audit(
                    session,
                    "telegram_link_refused",
                    conversation_id,
                    actor=_actor(user),
                    telegram_user_id=user,
                    reason="locked",
                )
                return Redemption(LOCKED)
            digits = normalise_code(code)
            row = self._code_row(session, digits) if digits else None
            if row is not None and self._use(session, row, user, moment):
                return self._link(session, row.account_id, user, conversation_id, moment)
            return self._fail(session, row, user, conversation_id, moment)

    def _code_row(self, session: Session, digits: str) -> models.AccountLinkCode | None:
        return session.execute(
            select(models.AccountLinkCode)
            .where(models.AccountLinkCode.code_hash == self.code_hash(digits))
            .order_by(models.AccountLinkCode.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    @staticmethod
    def _use(session: Session, row: models.AccountLinkCode, user: str, moment: datetime) -> bool:
        """Mark the code used; one conditional update, so two redeems of one code cannot both
        win, on SQLite as on PostgreSQL."""
        if moment >= as_utc(row.expires_at):
            return False
        result = session.execute(
            update(models.AccountLinkCode)
            .where(
                models.AccountLinkCode.id == row.id,
                models.AccountLinkCode.redeemed_at.is_(None),
                models.AccountLinkCode.replaced_at.is_(None),
            )
            .values(redeemed_at=moment, redeemed_by=user)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1

    def _link(
        self, session: Session, account_id: str, user: str, conversation_id: str, moment: datetime
    ) -> Redemption:
        link = session.get(models.TelegramLink, user)
        previous = link.account_id if link else None
        if link is None:
            session.add(
                models.TelegramLink(telegram_user_id=user, account_id=account_id, linked_at=moment)
            )
        else:
            link.account_id, link.linked_at = account_id, moment
        self.store.audit(
            session,
            "telegram_linked",
            conversation_id,
            account_id,
            actor=_actor(user),
            telegram_user_id=user,
            replaced_account=previous if previous != account_id else None,
        )
        card_last4 = session.execute(
            select(models.Account.card_last4).where(models.Account.account_id == account_id)
        ).scalar_one_or_none()
        return Redemption(LINKED, account_id, card_last4)

    def _fail(
        self,
        session: Session,
        row: models.AccountLinkCode | None,
        user: str,
        conversation_id: str,
        moment: datetime,
    ) -> Redemption:
        if row is None:
            reason = "unknown"
        elif row.redeemed_at is not None:
            reason = "used"
        elif row.replaced_at is not None:
            reason = "replaced"
        elif moment >= as_utc(row.expires_at):
            reason = "expired"
        else:
            reason = "used"  # another redeem of the same code won the race
        recent = session.execute(
            select(func.count(models.TelegramLinkFailure.id)).where(
                models.TelegramLinkFailure.telegram_user_id == user,
                models.TelegramLinkFailure.at > moment - FAILURE_WINDOW,
            )
        ).scalar_one()
        locks = recent + 1 >= MAX_FAILURES
        session.add(
            models.TelegramLinkFailure(
                telegram_user_id=user, at=moment, locked_until=moment + LOCKOUT if locks else None
            )
        )
        account_id = row.account_id if row is not None else None
        self.store.audit(
            session,
            "telegram_link_failed",
            conversation_id,
            account_id,
            actor=_actor(user),
            telegram_user_id=user,
            reason=reason,
            failures=recent + 1,
        )
        if not locks:
            return Redemption(INVALID)
        self.store.audit(
            session,
            "telegram_link_locked",
            conversation_id,
            account_id,
            actor=_actor(user),
            telegram_user_id=user,
            until=(moment + LOCKOUT).isoformat(),
        )
        return Redemption(LOCKED)

    @staticmethod
    def _locked(session: Session, user: str, moment: datetime) -> bool:
        return (
            session.execute(
                select(models.TelegramLinkFailure.id)
                .where(
                    models.TelegramLinkFailure.telegram_user_id == user,
                    models.TelegramLinkFailure.locked_until > moment,
                )
                .limit(1)
            ).first()
            is not None
        )

    def locked(self, telegram_user_id: str) -> bool:
        """True while this Telegram user may not redeem codes."""
        with self.store.session() as session:
            return self._locked(session, str(telegram_user_id), now_utc())

    # --- the link itself ---------------------------------------------------------------------

    def linked_account(self, telegram_user_id: str) -> str | None:
        with self.store.session() as session:
            link = session.get(models.TelegramLink, str(telegram_user_id))
            return link.account_id if link else None

    def unlink(self, telegram_user_id: str, conversation_id: str | None = None) -> bool:
        """Forget the link (the cardholder's wish); True when there was one."""
        user = str(telegram_user_id)
        with self.store.session() as session, session.begin():
            link = session.get(models.TelegramLink, user)
            if link is None:
                return False
            account_id = link.account_id
            session.execute(
                delete(models.TelegramLink).where(models.TelegramLink.telegram_user_id == user)
            )
            self.store.audit(
                session,
                "telegram_unlinked",
                conversation_id,
                account_id,
                actor=_actor(user),
                telegram_user_id=user,
            )
            return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bot.identity.linking",
        description="Issue a one-time Telegram link code for an account (the demo's SMS).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    issue = commands.add_parser("issue", help="print a new code for the account")
    issue.add_argument("account_id", help="e.g. CC-0001")
    args = parser.parse_args(argv)
    store = Store.from_url(load_settings().database_url)
    try:
        store.create_schema()  # idempotent: adds the link tables to an older demo database
        try:
            code = AccountLinks(store).issue_code(args.account_id)
        except UnknownAccount:
            print(f"没有这个账户 / no such account: {args.account_id}", file=sys.stderr)
            return 1
    finally:
        store.engine.dispose()
    print(code)
    minutes = int(CODE_LIFETIME.total_seconds() // 60)
    print(
        f"{minutes} 分钟内有效，在 Telegram 中发送 /link {code} / valid {minutes} minutes",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
