"""The web chat widget's channel: Rasa's socket.io channel with the product's promises.

Compared with Rasa's ``SocketIOInput`` it checks input like the REST channel (calm answers to
empty or over-long messages), stays silent while a specialist holds the chat, pushes specialist
and system messages from the outbox to the cardholder's socket room, answers when a turn produced
nothing, sends the conversation's history from the server on every (re)connect, and ignores a
message id it has already accepted so a re-sent message after a reconnect counts once.
It also serves the widget's files (``/webhooks/widget/widget.js``, ``demo.html``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.widget_history import merged, store_entries, tracker_entries
from bot.channels.widget_sessions import SeenIds, read_message, valid_session_id
from bot.privacy import mask
from bot.responses import render
from bot.settings import PROJECT_ROOT, load_settings

logger = logging.getLogger(__name__)

WIDGET_DIR = PROJECT_ROOT / "bot" / "widget"
STATIC_FILES: dict[str, tuple[Path, str]] = {
    "widget.js": (WIDGET_DIR / "static" / "widget.js", "application/javascript; charset=utf-8"),
    "widget.css": (WIDGET_DIR / "static" / "widget.css", "text/css; charset=utf-8"),
    "demo.html": (WIDGET_DIR / "static" / "demo.html", "text/html; charset=utf-8"),
    "socket.io.min.js": (
        WIDGET_DIR / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js",
        "application/javascript; charset=utf-8",
    ),
}
OUTBOX_POLL_SECONDS = 1.0
OUTBOX_BATCH = 100
NAMESPACE = "/"


class WidgetOutput(OutputChannel):
    """One socket.io event per bot message (text, buttons and custom data together), counted so
    the channel knows whether a turn said anything."""

    @classmethod
    def name(cls) -> str:
        return "widget"

    def __init__(self, sio: AsyncServer, event: str) -> None:
        self.sio = sio
        self.event = event
        self.sent = 0

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        keys = ("text", "buttons", "quick_replies", "image", "custom", "attachment")
        out = {key: message[key] for key in keys if message.get(key)}
        if "quick_replies" in out:  # the widget draws both the same way
            out["buttons"] = out.pop("quick_replies")
        if not out:
            return
        await self.sio.emit(self.event, out, room=recipient_id, namespace=NAMESPACE)
        self.sent += 1

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


def socket_transports() -> list[str]:
    """Long-polling sends each request of one socket anew, and with several Rasa workers the
    next request may reach a worker that does not know the socket; a websocket stays with the
    worker that accepted it. The widget asks for a websocket first either way."""
    workers = int(os.environ.get("SANIC_WORKERS") or 1)
    return ["websocket"] if workers > 1 else ["polling", "websocket"]


class WidgetInput(SocketIOInput):
    @classmethod
    def name(cls) -> str:
        return "widget"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_persistence = True  # rooms per conversation carry outbox messages

    def get_output_channel(self) -> OutputChannel | None:
        return WidgetOutput(self.sio, self.bot_message_evt) if self.sio else None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(
            async_mode="sanic", cors_allowed_origins=[], transports=socket_transports()
        )
        self.sio = sio
        webhook = SocketBlueprint(sio, self.socketio_path, "widget_webhook", __name__)
        channel = WidgetConnections(self, sio, on_new_message)

        @webhook.listener("after_server_start")
        async def start_outbox_loop(app: Sanic, _loop: Any) -> None:
            channel.app = app
            app.add_task(channel.outbox_loop())

        @webhook.listener("before_server_stop")
        async def stop_outbox_loop(_app: Sanic, _loop: Any) -> None:
            channel.stop.set()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/<name:str>", methods=["GET"])
        async def static(_: Request, name: str) -> HTTPResponse:
            if name not in STATIC_FILES:
                return response.json({"error": "not found"}, status=404)
            path, content_type = STATIC_FILES[name]
            if not path.exists():
                hint = "socket.io client missing: run `npm ci --prefix bot/widget`"
                return response.json({"error": hint}, status=404)
            return await response.file(
                path, mime_type=content_type, headers={"Cache-Control": "no-cache"}
            )

        sio.on("connect", channel.connect, namespace=NAMESPACE)
        sio.on("disconnect", channel.disconnect, namespace=NAMESPACE)
        sio.on("session_request", channel.session_request, namespace=NAMESPACE)
        sio.on(self.user_message_evt, channel.user_message, namespace=NAMESPACE)
        return webhook


class WidgetConnections:
    """The socket.io event handlers and the outbox push loop of one Rasa process."""

    def __init__(
        self,
        channel: WidgetInput,
        sio: AsyncServer,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> None:
        self.channel = channel
        self.sio = sio
        self.on_new_message = on_new_message
        self.limit = load_settings().max_message_chars
        self.bridge = HandoffBridge()
        self.seen = SeenIds()
        self.sessions: dict[str, str] = {}  # socket id -> conversation id, while connected
        self.stop = asyncio.Event()
        self.app: Sanic | None = None

    @property
    def agent(self) -> Any:
        return getattr(self.app.ctx, "agent", None) if self.app is not None else None

    async def emit(self, session_id: str, message: dict[str, Any]) -> None:
        event = self.channel.bot_message_evt
        await self.sio.emit(event, message, room=session_id, namespace=NAMESPACE)

    async def connect(self, sid: str, _environ: dict, _auth: Any = None) -> bool:
        return True

    async def disconnect(self, sid: str, *_reason: Any) -> None:
        self.sessions.pop(sid, None)

    async def session_request(self, sid: str, data: Any) -> None:
        """Join the conversation's room, confirm its id, then send its history and whatever
        the outbox holds for it. An unknown or foreign id gets a fresh conversation."""
        requested = data.get("session_id") if isinstance(data, dict) else None
        tracker = await self.tracker_of(requested) if valid_session_id(requested) else None
        session_id = requested if valid_session_id(requested) else uuid.uuid4().hex
        if tracker is not None and tracker.events and not self.is_ours(tracker):
            session_id, tracker = uuid.uuid4().hex, None
        self.sessions[sid] = session_id
        await self.sio.enter_room(sid, session_id, namespace=NAMESPACE)
        await self.sio.emit("session_confirm", session_id, to=sid, namespace=NAMESPACE)
        history = await self.history(session_id, tracker)
        await self.sio.emit(
            "history", {"session_id": session_id, "messages": history}, to=sid, namespace=NAMESPACE
        )
        await self.push_pending(session_id)

    def is_ours(self, tracker: Any) -> bool:
        latest = tracker.get_latest_input_channel()
        return latest is None or latest == self.channel.name()

    async def tracker_of(self, session_id: str) -> Any:
        agent = self.agent
        if agent is None or agent.tracker_store is None:
            return None
        try:
            return await agent.tracker_store.retrieve(session_id)
        except Exception:  # noqa: BLE001 - no history is better than no conversation
            logger.exception("could not read the tracker of %s", mask(session_id))
            return None

    async def history(self, session_id: str, tracker: Any) -> list[dict[str, Any]]:
        from_tracker = tracker_entries(tracker) if tracker is not None else []
        script = tracker.get_slot("script") if tracker is not None else None
        try:
            stored = store_entries(self.bridge.store, session_id, self.channel.name(), script)
        except Exception:  # noqa: BLE001 - the tracker part is still worth showing
            logger.exception("could not read stored messages of %s", mask(session_id))
            stored = []
        return merged(from_tracker, stored)

    async def user_message(self, sid: str, data: Any) -> dict[str, Any]:
        """Handle one message; the return value is the client's acknowledgement, which lets it
        drop the message from its resend queue."""
        message, problem = read_message(data, self.limit)
        if message is None:
            return {"ok": False, "error": problem}
        if self.sessions.get(sid) != message.session_id:
            return {"ok": False, "error": "session_request first"}
        if not self.seen.first_time(message.session_id, message.message_id):
            return {"ok": True, "duplicate": True}
        session_id, text = message.session_id, message.text
        if not text.strip():
            await self.emit(session_id, {"text": render("utter_empty_message")})
            return {"ok": True}
        if self.bridge.hold(session_id, text):
            await self.push_pending(session_id)
            return {"ok": True, "held": True}
        output = WidgetOutput(self.sio, self.channel.bot_message_evt)
        metadata = data.get(self.channel.metadata_key) if isinstance(data, dict) else None
        try:
            await self.on_new_message(
                UserMessage(
                    text,
                    output,
                    session_id,
                    input_channel=self.channel.name(),
                    message_id=message.message_id,  # lets the history tell the client it arrived
                    metadata=metadata if isinstance(metadata, dict) else None,
                )
            )
        except CancelledError:
            logger.error("message from %s timed out", mask(session_id))
        except Exception:  # noqa: BLE001 - the cardholder gets an answer whatever failed
            logger.exception("message from %s failed", mask(session_id))
        if output.sent == 0:
            await self.emit(session_id, {"text": render("utter_technical_problem", text)})
        if message.trimmed:
            note = render("utter_message_trimmed", text, limit=self.limit)
            await self.emit(session_id, {"text": note})
        await self.push_pending(session_id)
        return {"ok": True}

    def connected(self, session_id: str) -> bool:
        return any(True for _ in self.sio.manager.get_participants(NAMESPACE, session_id))

    async def push_pending(self, session_id: str) -> int:
        """Send this conversation's undelivered outbox messages to its room, each once."""
        if not self.connected(session_id):
            return 0  # they stay pending until the cardholder is back
        replies = await self.bridge.deliver(self.agent, self.channel.name(), session_id)
        for reply in replies:
            reply.pop("recipient_id", None)
            await self.emit(session_id, reply)
        return len(replies)

    async def outbox_loop(self) -> None:
        """Background task: push outbox messages of connected widget conversations."""
        while not self.stop.is_set():
            try:
                pending = self.bridge.outbox.pending(self.channel.name(), limit=OUTBOX_BATCH)
                for session_id in dict.fromkeys(m.conversation_id for m in pending):
                    await self.push_pending(session_id)
            except Exception:  # noqa: BLE001 - keep the loop alive; rows stay pending
                logger.exception("pushing widget outbox messages failed")
            try:
                await asyncio.wait_for(self.stop.wait(), timeout=OUTBOX_POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
