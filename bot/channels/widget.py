"""The web chat widget's channel: Rasa's socket.io channel with the product's promises.

Compared with Rasa's ``SocketIOInput`` it checks input like the REST channel (calm answers to
empty or over-long messages), stays silent while a specialist holds the chat, pushes specialist
and system messages from the outbox to the cardholder's socket room, answers when a turn produced
nothing, sends the conversation's history from the server on every (re)connect, and ignores a
message id it has already accepted so a re-sent message after a reconnect counts once.
It also serves the widget's files (``/webhooks/widget/widget.js``, ``demo.html``).

It speaks Rasa's socket.io protocol to clients that are not the project's widget (rasa-webchat
1.x with its defaults: long-polling first, ``session_request``/``session_confirm``,
``user_uttered`` without acknowledgements): their sockets get bot messages in Rasa's format
(``bot.channels.widget_rasa``), long-polling works with several workers
(``bot.channels.widget_engine``), and a session id the server did not confirm never decides
where a message goes: every message goes to the conversation the server confirmed to that socket
(a socket that sends before asking gets a fresh one, confirmed with ``session_confirm``).
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

from bot.channels.client_metadata import CLIENT_METADATA_KEY, with_client
from bot.channels.guard import InputGuard, shared_counts
from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.widget_engine import WidgetSocketServer, WorkerRelay, server_class
from bot.channels.widget_history import merged, store_entries, tracker_entries
from bot.channels.widget_rasa import rasa_messages
from bot.channels.widget_sessions import SharedSeenIds, read_message, valid_session_id
from bot.http_auth import caller_address
from bot.identity.sessions import WIDGET_TOKEN, VerifiedSessions
from bot.identity.tokens import WidgetLogin, issue_token, read_token
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
# sockets of Rasa-protocol clients join this room of their conversation (the widget's: the id)
RASA_ROOM = "rasa:"
# what the project's widget says in its session request; any other client speaks Rasa's protocol
WIDGET_CLIENT = "widget"
# rasa-webchat opens a conversation with its ``initPayload`` — no message at all when the page
# sets none, ``/get_started`` in its documentation's examples: both are the greeting here
GREETING = "/greet"
OPENING_PAYLOADS = {None, "/get_started"}


def has_participants(sio: AsyncServer, room: str) -> bool:
    return any(True for _ in sio.manager.get_participants(NAMESPACE, room))


async def emit_to_conversation(
    sio: AsyncServer, event: str, session_id: str, message: dict[str, Any]
) -> None:
    """One bot message to every socket of the conversation, each in the format it reads."""
    await sio.emit(event, message, room=session_id, namespace=NAMESPACE)
    if has_participants(sio, RASA_ROOM + session_id):
        for part in rasa_messages(message):
            await sio.emit(event, part, room=RASA_ROOM + session_id, namespace=NAMESPACE)


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
        await emit_to_conversation(self.sio, self.event, recipient_id, out)
        self.sent += 1

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.send_response(recipient_id, {"text": text})


def sanic_workers() -> int:
    return max(1, int(os.environ.get("SANIC_WORKERS") or 1))


def allow_upgrades() -> bool:
    """With several workers a polling socket stays on polling: its upgrade request could meet
    the other worker, and only polling requests are relayed (bot.channels.widget_engine)."""
    return sanic_workers() == 1


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
        settings = load_settings()
        server = server_class()
        relaying = server is WidgetSocketServer
        several = sanic_workers() > 1
        sio = server(
            async_mode="sanic",
            # None: same origin only; a bank lists the pages that embed the widget
            cors_allowed_origins=list(settings.allowed_origins) or None,
            # without the relay, several workers cannot serve long-polling (a request may meet
            # the worker that does not know its session): websockets only, as before it
            transports=["websocket"] if several and not relaying else ["polling", "websocket"],
            allow_upgrades=allow_upgrades(),
            max_http_buffer_size=settings.max_request_bytes,
        )
        relay = WorkerRelay(settings.widget_token_secret) if several and relaying else None
        if relaying:
            sio.eio.relay = relay
        self.sio = sio
        webhook = SocketBlueprint(sio, self.socketio_path, "widget_webhook", __name__)
        channel = WidgetConnections(self, sio, on_new_message)

        @webhook.listener("after_server_start")
        async def start_outbox_loop(app: Sanic, _loop: Any) -> None:
            channel.app = app
            if relay is not None:
                await relay.start(app)
            app.add_task(channel.outbox_loop())

        @webhook.listener("before_server_stop")
        async def stop_outbox_loop(_app: Sanic, _loop: Any) -> None:
            channel.stop.set()
            if relay is not None:
                await relay.stop()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/demo-token", methods=["GET"])
        async def demo_token(request: Request) -> HTTPResponse:
            """The demo's stand-in for a bank's logged-in page (``WIDGET_DEMO_TOKENS=1`` only):
            a short-lived login token for a demo cardholder."""
            if not settings.widget_demo_tokens:
                return response.json({"error": "not found"}, status=404)
            account_id = (request.args.get("account") or "").strip()
            store = channel.bridge.store
            if not account_id or await asyncio.to_thread(store.get_account, account_id) is None:
                return response.json({"error": "没有这个演示持卡人"}, status=404)
            token = issue_token(account_id, settings.widget_token_secret)
            return response.json({"token": token}, headers={"Cache-Control": "no-store"})

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
        self.settings = load_settings()
        self.guard = InputGuard(self.settings)
        self.bridge = HandoffBridge()
        self.verified = VerifiedSessions(self.bridge.store, self.settings)
        self.seen = SharedSeenIds(
            shared_counts(self.settings.lock_store_url) if self.settings.lock_store_url else None
        )
        self.sessions: dict[str, str] = {}  # socket id -> conversation id, while connected
        self.rasa_clients: set[str] = set()  # sockets that speak Rasa's protocol
        self.clients: dict[str, str | None] = {}  # socket id -> keyed client address
        self.logins: dict[str, WidgetLogin] = {}  # socket id -> the bank's login, if any
        self.stop = asyncio.Event()
        self.app: Sanic | None = None

    @property
    def agent(self) -> Any:
        return getattr(self.app.ctx, "agent", None) if self.app is not None else None

    async def emit(self, session_id: str, message: dict[str, Any]) -> None:
        await emit_to_conversation(self.sio, self.channel.bot_message_evt, session_id, message)

    async def connect(self, sid: str, environ: dict, _auth: Any = None) -> bool:
        address = caller_address(environ.get("sanic.request"))
        self.clients[sid] = with_client(None, address).get(CLIENT_METADATA_KEY)
        return True

    async def disconnect(self, sid: str, *_reason: Any) -> None:
        self.sessions.pop(sid, None)
        self.rasa_clients.discard(sid)
        self.clients.pop(sid, None)
        self.logins.pop(sid, None)

    async def login_of(self, data: Any) -> WidgetLogin | None:
        """The bank's login a session request carries (a signed token for a known account)."""
        token = data.get("token") if isinstance(data, dict) else None
        login = read_token(token, self.settings.widget_token_secret) if token else None
        if login is None:
            return None
        account = await asyncio.to_thread(self.bridge.store.get_account, login.account_id)
        return login if account is not None else None

    async def keep_verified(self, sid: str, session_id: str) -> None:
        """A logged-in socket's conversation stays verified while its token is valid (a
        verification ends when idle; the token says the bank still knows the customer)."""
        login = self.logins.get(sid)
        if login is None or login.conversation_id != session_id or not login.valid():
            return
        current = await asyncio.to_thread(self.verified.current, session_id, self.channel.name())
        if current != login.account_id:
            await asyncio.to_thread(
                self.verified.grant, session_id, self.channel.name(), login.account_id,
                WIDGET_TOKEN,
            )  # fmt: skip

    async def session_request(self, sid: str, data: Any) -> str:
        """Join the conversation's room, confirm its id, then send its history and whatever
        the outbox holds for it. An unknown or foreign id gets a fresh conversation; so does a
        client's own id that is not one of ours (it is told the new id in ``session_confirm``
        and its messages go there whatever id they carry)."""
        rasa_client = not (isinstance(data, dict) and data.get("client") == WIDGET_CLIENT)
        login = await self.login_of(data)
        if login is not None:
            # the login names the conversation: the same one on every device of this customer
            requested = login.conversation_id
            self.logins[sid] = login
        else:
            self.logins.pop(sid, None)
            requested = data.get("session_id") if isinstance(data, dict) else None
            requested = requested if valid_session_id(requested) else None
        tracker = await self.tracker_of(requested) if requested else None
        session_id = requested or uuid.uuid4().hex
        if tracker is not None and tracker.events and not self.is_ours(tracker):
            session_id, tracker = uuid.uuid4().hex, None
        await self.leave_rooms(sid)
        self.sessions[sid] = session_id
        await self.keep_verified(sid, session_id)
        room = RASA_ROOM + session_id if rasa_client else session_id
        await self.sio.enter_room(sid, room, namespace=NAMESPACE)
        (self.rasa_clients.add if rasa_client else self.rasa_clients.discard)(sid)
        await self.sio.emit("session_confirm", session_id, to=sid, namespace=NAMESPACE)
        if not rasa_client:  # Rasa's clients keep their own history
            history = await self.history(session_id, tracker)
            history_event = {"session_id": session_id, "messages": history}
            await self.sio.emit("history", history_event, to=sid, namespace=NAMESPACE)
        await self.push_pending(session_id)
        return session_id

    async def leave_rooms(self, sid: str) -> None:
        """A socket asking for a session again leaves the conversation it had."""
        previous = self.sessions.get(sid)
        if previous is not None:
            for room in (previous, RASA_ROOM + previous):
                await self.sio.leave_room(sid, room, namespace=NAMESPACE)

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
        message, problem = read_message(data)
        if message is None:
            return {"ok": False, "error": problem}
        session_id = self.sessions.get(sid)
        if session_id is None:  # Rasa's protocol without a session request: a new conversation
            session_id = await self.session_request(sid, None)
        # the conversation the server confirmed to this socket, never one the message names
        moved = {"session_id": session_id} if message.session_id != session_id else {}
        if not await asyncio.to_thread(self.seen.first_time, session_id, message.message_id):
            return {"ok": True, "duplicate": True, **moved}
        text = message.text
        if sid in self.rasa_clients and isinstance(data, dict):
            text = GREETING if data.get("message") in OPENING_PAYLOADS else text
        refusal = self.guard.refusal(session_id, self.clients.get(sid), text)
        if refusal:
            reply = render(refusal.response, text, **dict(refusal.values))
            await self.emit(session_id, {"text": reply})
            return {"ok": True, "refused": refusal.response, **moved}
        await self.keep_verified(sid, session_id)
        if await asyncio.to_thread(self.bridge.hold, session_id, text):
            await self.push_pending(session_id)
            return {"ok": True, "held": True, **moved}
        output = WidgetOutput(self.sio, self.channel.bot_message_evt)
        metadata = data.get(self.channel.metadata_key) if isinstance(data, dict) else None
        metadata = with_client(metadata, None)
        if self.clients.get(sid):
            metadata[CLIENT_METADATA_KEY] = self.clients[sid]
        try:
            await self.on_new_message(
                UserMessage(
                    text,
                    output,
                    session_id,
                    input_channel=self.channel.name(),
                    message_id=message.message_id,  # lets the history tell the client it arrived
                    metadata=metadata,
                )
            )
        except CancelledError:
            logger.error("message from %s timed out", mask(session_id))
        except Exception:  # noqa: BLE001 - the cardholder gets an answer whatever failed
            logger.exception("message from %s failed", mask(session_id))
        if output.sent == 0:
            await self.emit(session_id, {"text": render("utter_technical_problem", text)})
        await self.push_pending(session_id)
        return {"ok": True, **moved}

    def connected(self, session_id: str) -> bool:
        return has_participants(self.sio, session_id) or has_participants(
            self.sio, RASA_ROOM + session_id
        )

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
