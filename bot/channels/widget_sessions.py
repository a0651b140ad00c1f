"""What the widget channel checks before a message reaches Rasa, with no Rasa or socket in sight.

A socket reconnects and the browser re-sends what it had not seen acknowledged, so a message can
arrive twice; the client tags each one with an id and ``SeenIds`` lets only the first through.
Session ids double as the key to a conversation's history, so only long random ids are accepted.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from bot.channels.senders import WIDGET_ID

logger = logging.getLogger(__name__)

SESSION_ID = WIDGET_ID
# how long a message id is remembered across the workers: a widget resends within seconds of a
# reconnect, and its queue survives a reload (localStorage) for as long as the page is away
SEEN_TTL_S = 24 * 3600
MESSAGE_ID = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


def valid_session_id(value: Any) -> bool:
    """Only the widget's own random ids (uuid4 hex): a short or guessed id such as a REST
    sender must never open someone else's conversation history."""
    return isinstance(value, str) and bool(SESSION_ID.match(value))


@dataclass(frozen=True)
class IncomingMessage:
    session_id: Any  # what the client says; the channel goes by the socket's own session
    text: str
    message_id: str | None


def read_message(data: Any) -> tuple[IncomingMessage | None, str | None]:
    """(message, problem): problem names what is wrong with an unusable event (a text's
    length is bot.channels.guard's to judge). The session id a message names is reported, not
    judged: the socket's confirmed session decides where it goes (clients of Rasa's protocol
    may keep an id of their own)."""
    if not isinstance(data, dict):
        return None, "message event must be an object"
    session_id = data.get("session_id")
    text = data.get("message")
    if text is None:
        text = ""
    if not isinstance(text, str):
        return None, "message must be text"
    message_id = data.get("message_id")
    if message_id is not None and not (
        isinstance(message_id, str) and MESSAGE_ID.match(message_id)
    ):
        return None, "malformed message_id"
    return IncomingMessage(session_id, text, message_id), None


class SharedSeenIds:
    """``SeenIds`` for all the Rasa workers: a message the widget resends after a reconnect
    may reach the other worker (its socket lands on either), which has not seen its id; the
    lock store's backend (Redis, or the demo's SQLite lock file) remembers ids for all of
    them. The process's own memory answers repeats first (no round trip), and a dead backend
    lets the message through: a rare duplicate is better than a lost message."""

    def __init__(self, backend: Any | None, ttl_s: int = SEEN_TTL_S) -> None:
        self.local = SeenIds()
        self.backend = backend
        self.ttl_s = ttl_s
        self._lock = threading.Lock()  # called from worker threads (asyncio.to_thread)

    def first_time(self, session_id: str, message_id: str | None) -> bool:
        with self._lock:
            if not self.local.first_time(session_id, message_id):
                return False
        if message_id is None or self.backend is None:
            return True
        try:
            return self.backend.first_time(f"{session_id}:{message_id}", self.ttl_s)
        except self.backend.errors:
            logger.warning("shared message ids unavailable; message let through", exc_info=True)
            return True


class SeenIds:
    """Client message ids already accepted, per session, bounded in both directions
    (the oldest sessions and, within a session, the oldest ids are forgotten first)."""

    def __init__(self, max_sessions: int = 5000, per_session: int = 200) -> None:
        self.max_sessions = max_sessions
        self.per_session = per_session
        self._seen: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()

    def first_time(self, session_id: str, message_id: str | None) -> bool:
        """True the first time an id is offered (and always for messages without an id)."""
        if message_id is None:
            return True
        ids = self._seen.get(session_id)
        if ids is None:
            ids = self._seen[session_id] = OrderedDict()
            while len(self._seen) > self.max_sessions:
                self._seen.popitem(last=False)
        else:
            self._seen.move_to_end(session_id)
        if message_id in ids:
            return False
        ids[message_id] = None
        while len(ids) > self.per_session:
            ids.popitem(last=False)
        return True

    def __len__(self) -> int:
        return len(self._seen)
