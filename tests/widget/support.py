"""Helpers shared by the widget tests: a specialist to claim cases with, and a socket.io client
that speaks to the widget channel the way widget.js does."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import socketio

from bot.db import models
from bot.db.store import Store
from bot.launcher import Servers


def add_specialist(store: Store, username: str, name: str) -> int:
    """A specialist row to claim cases with (the console's login is not under test here)."""
    with store._session() as session, session.begin():
        row = models.Specialist(
            username=username, display_name=name, role="specialist", password_hash="x"
        )
        session.add(row)
        session.flush()
        return row.id


def demo_url(servers: Servers) -> str:
    return f"{servers.rasa_url}/webhooks/widget/demo.html"


class WidgetClient:
    """A cardholder's socket: session request, history, acknowledged messages, bot replies."""

    def __init__(
        self,
        servers: Servers,
        session_id: str | None = None,
        transport: str = "websocket",
        token: str | None = None,
        origin: str | None = None,
    ) -> None:
        # A websocket, as the widget opens (long-polling works too: tests/widget/
        # test_socketio_protocol.py).
        self.client = socketio.Client(reconnection=False)
        self.session_id = session_id
        self.history: list[dict[str, Any]] | None = None
        self.replies: list[dict[str, Any]] = []
        self.changed = threading.Condition()
        self.client.on("session_confirm", self._confirmed)
        self.client.on("history", self._history)
        self.client.on("bot_uttered", self._reply)
        # websocket-client sends the server's own origin (the demo page's) unless told another
        headers = {"Origin": origin} if origin else {}
        self.client.connect(
            servers.rasa_url, socketio_path="/socket.io", transports=[transport], headers=headers
        )
        request = {"session_id": session_id, "client": "widget"}
        if token:
            request["token"] = token
        self.client.emit("session_request", request)
        self.wait_for(lambda: self.history is not None)

    def _confirmed(self, session_id: str) -> None:
        self.session_id = session_id

    def _history(self, data: dict[str, Any]) -> None:
        with self.changed:
            self.history = data["messages"]
            self.changed.notify_all()

    def _reply(self, message: dict[str, Any]) -> None:
        with self.changed:
            self.replies.append(message)
            self.changed.notify_all()

    def wait_for(self, condition: Any, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition():
                left = deadline - time.monotonic()
                assert left > 0, f"timed out; replies so far: {self.replies}"
                self.changed.wait(left)

    def say(self, text: Any, message_id: str | None = None, **extra: Any) -> dict[str, Any]:
        """Send and return the server's acknowledgement (it comes when the turn is done)."""
        data = {"session_id": self.session_id, "message": text, **extra}
        data["message_id"] = message_id or uuid.uuid4().hex
        return self.client.call("user_uttered", data, timeout=90)

    def texts(self) -> str:
        return "\n".join(m.get("text", "") for m in self.replies)

    def close(self) -> None:
        self.client.disconnect()
