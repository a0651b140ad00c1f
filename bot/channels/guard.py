"""What every channel checks before a message reaches Rasa, in one place.

A message is refused calmly, and never reaches Rasa (so it has no side effect: a flood of text
opens no crisis case), when it is empty, longer than ``MAX_MESSAGE_CHARS``, or comes faster
than the per-conversation or per-client limit allows. With several Rasa workers the counts are
kept where the workers share their locks (``LOCK_STORE_URL``: Redis, or the demo's SQLite lock
file; fixed one-minute windows), so a client gets the limit in all, not in each worker; a single
worker counts in memory (a sliding minute).
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from functools import lru_cache

from bot.lock_store import LockBackend, backend_for
from bot.settings import Settings, load_settings

logger = logging.getLogger(__name__)

WINDOW_S = 60.0
MAX_TRACKED = 50_000  # conversations and clients remembered; the oldest are forgotten first


class SlidingWindow:
    """At most ``limit`` events a minute per key (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._events: OrderedDict[str, deque[float]] = OrderedDict()

    def allow(self, key: str | None, now: float | None = None) -> bool:
        if self.limit <= 0 or not key:
            return True
        now = time.monotonic() if now is None else now
        events = self._events.get(key)
        if events is None:
            events = self._events[key] = deque()
            while len(self._events) > MAX_TRACKED:
                self._events.popitem(last=False)
        else:
            self._events.move_to_end(key)
        while events and now - events[0] >= WINDOW_S:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        return True


class SharedCounts:
    """Per-minute counts of several limits at once, kept in the lock store's backend (one
    round trip per message for all of them)."""

    def __init__(self, backend: LockBackend) -> None:
        self.backend = backend

    def allow(self, limits: list[tuple[str, str | None, int]], now: float | None = None) -> bool:
        """``limits``: (name, key, limit) triples; a key of None or a limit of 0 is no limit."""
        wanted = [(f"{name}:{key}", limit) for name, key, limit in limits if key and limit > 0]
        if not wanted:
            return True
        now = time.time() if now is None else now
        try:
            counts = self.backend.hit(
                [key for key, _ in wanted], int(now // WINDOW_S), int(WINDOW_S)
            )
        except self.backend.errors:  # a dead counter must not silence the cardholders
            logger.warning("rate counts unavailable; message let through", exc_info=True)
            return True
        return all(count <= limit for count, (_key, limit) in zip(counts, wanted, strict=True))


@lru_cache(maxsize=4)
def shared_counts(url: str) -> LockBackend:
    """One connection to the counts per process, whichever channels use it."""
    return backend_for(url)


@dataclass(frozen=True)
class Refusal:
    response: str  # a response of domain.yml
    status: int  # for HTTP channels
    values: tuple[tuple[str, object], ...] = ()


class InputGuard:
    def __init__(self, settings: Settings | None = None) -> None:
        settings = settings or load_settings()
        self.max_chars = settings.max_message_chars
        self.rate_per_conversation = settings.rate_per_conversation
        self.rate_per_client = settings.rate_per_client
        self.shared = (
            SharedCounts(shared_counts(settings.lock_store_url))
            if settings.lock_store_url
            else None
        )
        self.per_conversation = SlidingWindow(settings.rate_per_conversation)
        self.per_client = SlidingWindow(settings.rate_per_client)

    def within_limits(self, conversation_id: str, client: str | None) -> bool:
        if self.shared is not None:
            return self.shared.allow(
                [("c", conversation_id, self.rate_per_conversation),
                 ("k", client, self.rate_per_client)]
            )  # fmt: skip
        return self.per_conversation.allow(conversation_id) and self.per_client.allow(client)

    def refusal(self, conversation_id: str, client: str | None, text: str) -> Refusal | None:
        """Why this message does not go to Rasa, or None when it does."""
        if not text.strip():
            return Refusal("utter_empty_message", 200)
        if len(text) > self.max_chars:
            return Refusal("utter_message_too_long", 200, (("limit", self.max_chars),))
        if not self.within_limits(conversation_id, client):
            return Refusal("utter_rate_limited", 429)
        return None
