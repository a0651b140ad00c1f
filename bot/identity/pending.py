"""The card last-4 between the identity form's two questions, kept on the server: a slot would
put the digits into the tracker store, where every later reader of the conversation sees them."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from bot.clock import as_utc, now_utc
from bot.db import models
from bot.db.store import Store

# Longer than anyone takes to find an ID card; after it the card is asked again.
PENDING_FOR = timedelta(minutes=15)


class PendingCards:
    def __init__(self, store: Store) -> None:
        self.store = store

    def keep(self, conversation_id: str, card_last4: str) -> None:
        with self.store.session() as session, session.begin():
            row = session.get(models.PendingCard, conversation_id)
            if row is None:
                session.add(
                    models.PendingCard(conversation_id=conversation_id, card_last4=card_last4)
                )
            else:
                row.card_last4, row.given_at = card_last4, now_utc()

    def take(self, conversation_id: str) -> str | None:
        """The card given recently in this conversation, or None."""
        with self.store.session() as session:
            row = session.get(models.PendingCard, conversation_id)
            if row is None:
                return None
            fresh = now_utc() - as_utc(row.given_at) < PENDING_FOR
            return row.card_last4 if fresh else None

    def forget(self, conversation_id: str) -> None:
        with self.store.session() as session, session.begin():
            session.execute(
                delete(models.PendingCard).where(
                    models.PendingCard.conversation_id == conversation_id
                )
            )
