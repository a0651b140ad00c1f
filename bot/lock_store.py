"""Rasa's Redis lock store on one ``REDIS_URL``, for running several Rasa workers.

Rasa serialises the messages of one conversation with a lock store. The default keeps its locks
in process memory, so Rasa allows only one worker with it; with the locks in Redis, every worker
(and every machine) sees the same locks and ``RASA_WORKERS`` processes can share the load. The
URL form matches ``DATABASE_URL``'s: ``redis://[:password@]host:6379/1`` (``rediss://`` for TLS).

Rasa's Redis store changes a lock by reading it, changing it in Python and writing it back: two
workers taking a ticket at the same moment can both get the same number, and then both process
the conversation at once (and one's events overwrite the other's). Here every change is one
optimistic Redis transaction (WATCH/MULTI/EXEC, retried when another worker got there first),
so tickets stay unique and first come, first served.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import redis
from rasa.core.lock import TicketLock
from rasa.core.lock_store import (
    DEFAULT_SOCKET_TIMEOUT_IN_SECONDS,
    LOCK_LIFETIME,
    LockError,
    RedisLockStore,
)
from rasa.utils.endpoints import EndpointConfig

# What a change returns: the lock to store (None: delete it) and the caller's result.
Change = Callable[[TicketLock | None], tuple[TicketLock | None, Any]]


class RedisUrlLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, url: str | None = None):
        url = url or (endpoint_config.url if endpoint_config else None) or os.environ["REDIS_URL"]
        super().__init__()  # sets Rasa's key prefix; the connection is replaced just below
        self.red = redis.StrictRedis.from_url(url, socket_timeout=DEFAULT_SOCKET_TIMEOUT_IN_SECONDS)

    def _change(self, conversation_id: str, change: Change) -> Any:
        key = self.key_prefix + conversation_id
        with self.red.pipeline() as transaction:
            while True:
                try:
                    transaction.watch(key)
                    stored = transaction.get(key)
                    lock = TicketLock.from_dict(json.loads(stored)) if stored else None
                    changed, result = change(lock)
                    transaction.multi()
                    if changed is None:
                        transaction.delete(key)
                    else:
                        transaction.set(key, changed.dumps())
                    transaction.execute()
                    return result
                except redis.WatchError:
                    continue  # another worker changed the lock in between: read it again

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def take_ticket(lock: TicketLock | None) -> tuple[TicketLock, int]:
            lock = lock or self.create_lock(conversation_id)
            return lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, take_ticket)
        except redis.RedisError as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: str) -> None:
        def forget_expired(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock, None

        self._change(conversation_id, forget_expired)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        def hand_on(lock: TicketLock | None) -> tuple[TicketLock | None, None]:
            if lock is None:
                return None, None
            lock.remove_ticket_for(ticket_number)
            return (lock if lock.is_someone_waiting() else None), None

        self._change(conversation_id, hand_on)
