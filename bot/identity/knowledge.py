"""The knowledge check (card last-4 + ID last-4), the fallback where no channel knows the
cardholder, made safe to offer to anyone.

- The ID's last four are stored only as an HMAC with the bank's pepper (``IDENTITY_PEPPER``),
  so a copy of the accounts table reveals none of them.
- A pair must match exactly one account: with a real portfolio two people share a pair, and
  "first match wins" would verify one into the other's account.
- Failures are counted in the database across conversations, per card, per client address and
  in all, so neither a new conversation nor another Rasa worker gives more guesses; a card that
  reaches its limit opens one case for the specialists (not one per lockout) and an audit row
  that names the card.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import case, func, literal, select

from bot.clock import now_utc
from bot.db import models
from bot.db.store import PRIORITY_HIGH, AccountView, Store
from bot.identity.sessions import KNOWLEDGE_CHECK, VerifiedSessions
from bot.settings import Settings, load_settings

VERIFIED = "verified"
WRONG = "wrong"
AMBIGUOUS = "ambiguous"  # the pair fits several accounts: only a specialist can tell
LOCKED_CONVERSATION = "locked_conversation"
LOCKED_CARD = "locked_card"
LOCKED_CLIENT = "locked_client"
LOCKED_EVERYWHERE = "locked_everywhere"


def id_last4_digest(id_last4: str, pepper: str) -> str:
    """What the accounts table keeps of an ID's last four."""
    value = id_last4.strip().upper().encode("utf-8")
    return hmac.new(pepper.encode("utf-8"), b"id_last4:" + value, hashlib.sha256).hexdigest()


def client_key(address: str | None, pepper: str) -> str | None:
    """A client's address as stored: keyed, so the table holds no IP addresses."""
    if not address:
        return None
    digest = hmac.new(pepper.encode("utf-8"), b"client:" + address.encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


@dataclass(frozen=True)
class CheckResult:
    outcome: str
    account: AccountView | None = None
    remaining: int = 0  # tries left in this conversation after a wrong pair

    @property
    def locked(self) -> bool:
        return self.outcome.startswith("locked")


class KnowledgeCheck:
    def __init__(self, store: Store, settings: Settings | None = None) -> None:
        self.store = store
        self.settings = settings or load_settings()
        self.sessions = VerifiedSessions(store, self.settings)

    def window_start(self):  # noqa: ANN201 - a datetime
        return now_utc() - timedelta(minutes=self.settings.identity_window_minutes)

    def _failures(self, session: object, **where: object) -> int:
        query = (
            select(func.count())
            .select_from(models.IdentityAttempt)
            .where(
                models.IdentityAttempt.succeeded.is_(False),
                models.IdentityAttempt.at >= self.window_start(),
            )
        )
        for column, value in where.items():
            query = query.where(getattr(models.IdentityAttempt, column) == value)
        return session.execute(query).scalar_one()  # type: ignore[attr-defined]

    def lock_of(
        self, conversation_id: str, client: str | None, card: str | None = None
    ) -> str | None:
        """Why no knowledge check may be tried now, or None (one query for the four counts:
        it runs at the start of every goal that needs identity)."""
        attempts = models.IdentityAttempt

        def failures_where(condition: Any) -> Any:
            return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)

        query = select(
            failures_where(attempts.conversation_id == conversation_id),
            func.count(),
            failures_where(attempts.client == client) if client else literal(0),
            failures_where(attempts.card_last4 == card) if card else literal(0),
        ).where(attempts.succeeded.is_(False), attempts.at >= self.window_start())
        with self.store.session() as session:
            in_conversation, everywhere, of_client, of_card = session.execute(query).one()
        limits = self.settings
        # a conversation's tries count over the whole window, not the Rasa session
        if in_conversation >= limits.max_verification_attempts:
            return LOCKED_CONVERSATION
        if everywhere >= limits.identity_failures_global:
            return LOCKED_EVERYWHERE
        if of_client >= limits.identity_failures_per_client:
            return LOCKED_CLIENT
        if of_card >= limits.identity_failures_per_card:
            return LOCKED_CARD
        return None

    def check(
        self,
        conversation_id: str,
        channel: str | None,
        card_last4: str,
        id_last4: str,
        client: str | None = None,
    ) -> CheckResult:
        """``client``: the keyed client address the channel attached (bot.channels)."""
        card = card_last4.strip()
        locked = self.lock_of(conversation_id, client, card)
        if locked:
            return CheckResult(locked)
        digest = id_last4_digest(id_last4, self.settings.identity_pepper)
        with self.store.session() as session, session.begin():
            matches = (
                session.execute(
                    select(models.Account.account_id).where(
                        models.Account.card_last4 == card, models.Account.id_last4_hmac == digest
                    )
                )
                .scalars()
                .all()
            )
            succeeded = len(matches) == 1
            session.add(
                models.IdentityAttempt(
                    conversation_id=conversation_id,
                    card_last4=card,
                    client=client,
                    succeeded=succeeded,
                )
            )
            if len(matches) > 1:
                self.store.audit(
                    session, "identity_ambiguous", conversation_id, channel=channel,
                    card_last4=card, accounts=len(matches),
                )  # fmt: skip
        if succeeded:
            self.sessions.grant(conversation_id, channel, matches[0], KNOWLEDGE_CHECK)
            return CheckResult(VERIFIED, self.store.get_account(matches[0]))
        self._after_failure(conversation_id, channel, card, client)
        if len(matches) > 1:
            return CheckResult(AMBIGUOUS)
        locked = self.lock_of(conversation_id, client, card)
        if locked:
            return CheckResult(locked)
        with self.store.session() as session:
            used = self._failures(session, conversation_id=conversation_id)
        return CheckResult(WRONG, remaining=max(0, self.settings.max_verification_attempts - used))

    def _after_failure(
        self, conversation_id: str, channel: str | None, card: str, client: str | None
    ) -> None:
        """At the moment a card reaches its limit: an audit row naming it and one case."""
        with self.store.session() as session:
            failures = self._failures(session, card_last4=card)
        if failures != self.settings.identity_failures_per_card:
            return
        accounts = [account_id for (account_id,) in self._accounts_with_card(card)]
        with self.store.session() as session, session.begin():
            self.store.audit(
                session, "identity_card_locked", conversation_id, channel=channel,
                card_last4=card, failures=failures, accounts=accounts,
            )  # fmt: skip
        self.store.escalate(
            f"~card-lock:{card}",
            "identity_card_locked",
            PRIORITY_HIGH,
            accounts[0] if len(accounts) == 1 else None,
            channel=channel,
            card_last4=card,
            failures=failures,
        )

    def _accounts_with_card(self, card: str) -> list[tuple[str]]:
        with self.store.session() as session:
            return list(
                session.execute(
                    select(models.Account.account_id).where(models.Account.card_last4 == card)
                ).all()
            )
