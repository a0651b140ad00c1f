"""Messages to cardholders that no request is waiting for.

A specialist's reply, the outcome of an application or a notice that a person joined are
written here once; each channel delivers the rows for its own conversations (the REST channel
with the next response or on polling, the widget over its socket, Telegram through the Bot API)
and marks them delivered, so nothing is lost when a channel is briefly down.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update

from bot.clock import now_utc
from bot.db import models
from bot.db.store import Store

# Asked on every message of request/response channels, and almost always answered "no": a
# prebuilt Core statement (compiled once) instead of an ORM query.
_ANY_PENDING = (
    select(models.OutboxMessage.id)
    .where(
        models.OutboxMessage.channel == bindparam("channel"),
        models.OutboxMessage.conversation_id == bindparam("conversation"),
        models.OutboxMessage.delivered_at.is_(None),
    )
    .limit(1)
)


@dataclass(frozen=True)
class OutgoingMessage:
    id: int
    conversation_id: str
    channel: str
    author: str
    text: str
    payload: dict[str, Any]
    created_at: datetime


def _view(row: models.OutboxMessage) -> OutgoingMessage:
    return OutgoingMessage(
        id=row.id,
        conversation_id=row.conversation_id,
        channel=row.channel,
        author=row.author,
        text=row.text,
        payload=dict(row.payload or {}),
        created_at=row.created_at,
    )


class Outbox:
    def __init__(self, store: Store) -> None:
        self.store = store

    def post(
        self,
        conversation_id: str,
        channel: str,
        author: str,
        text: str,
        specialist_id: int | None = None,
        **payload: Any,
    ) -> OutgoingMessage:
        with self.store._session() as session, session.begin():
            row = models.OutboxMessage(
                conversation_id=conversation_id,
                channel=channel or "rest",
                author=author,
                specialist_id=specialist_id,
                text=text,
                payload=payload,
            )
            session.add(row)
            session.flush()
            return _view(row)

    def pending(
        self, channel: str, conversation_id: str | None = None, limit: int = 100
    ) -> list[OutgoingMessage]:
        """Undelivered messages of a channel (optionally one conversation), oldest first."""
        query = select(models.OutboxMessage).where(
            models.OutboxMessage.channel == channel,
            models.OutboxMessage.delivered_at.is_(None),
        )
        if conversation_id is not None:
            query = query.where(models.OutboxMessage.conversation_id == conversation_id)
        with self.store._session() as session:
            rows = session.execute(query.order_by(models.OutboxMessage.id).limit(limit)).scalars()
            return [_view(row) for row in rows]

    def mark_delivered(self, ids: list[int]) -> int:
        """Mark rows delivered once; returns how many this call marked (0 if another did)."""
        if not ids:
            return 0
        with self.store._session() as session, session.begin():
            result = session.execute(
                update(models.OutboxMessage)
                .where(
                    models.OutboxMessage.id.in_(ids),
                    models.OutboxMessage.delivered_at.is_(None),
                )
                .values(delivered_at=now_utc())
            )
            return result.rowcount

    def has_pending(self, channel: str, conversation_id: str) -> bool:
        with self.store.engine.connect() as connection:
            found = connection.execute(
                _ANY_PENDING, {"channel": channel, "conversation": conversation_id}
            ).first()
        return found is not None

    def take(self, channel: str, conversation_id: str) -> list[OutgoingMessage]:
        """Pending messages of one conversation, each handed to exactly one caller even when
        two requests of the same cardholder race (request/response channels)."""
        if not self.has_pending(channel, conversation_id):
            return []
        return [
            message
            for message in self.pending(channel, conversation_id)
            if self.mark_delivered([message.id]) == 1
        ]
