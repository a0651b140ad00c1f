"""The REST channel with the product's promises: every message gets a calm answer.

Rasa's own channel answers an empty body with a server error and a crashed action server with
silence. This one checks the request first (the caller's bearer token when ``REST_API_TOKEN`` is
set, the body's size, the sender id's namespace, bot.channels.guard's limits), and when a turn
produced no reply at all (action server down, an internal error) answers with the technical-problem
message, so the cardholder is never left waiting without a word.

With ``?stream=true`` (what Rasa's own REST client, e.g. ``rasa shell``, asks for) the replies come
as Rasa's RestInput sends them: one JSON message per line, each as soon as the bot utters it.

The channel is meant for the bank's own app backend, which knows its customer; in production it
requires the bearer token (docs/security.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import QueueOutputChannel, RestInput
from rasa.utils.endpoints import bool_arg
from sanic import Blueprint, Sanic, response
from sanic.exceptions import PayloadTooLarge
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.client_metadata import CLIENT_METADATA_KEY, with_client
from bot.channels.guard import InputGuard
from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.senders import rest_sender_problem
from bot.http_auth import bearer_matches, caller_address
from bot.privacy import mask
from bot.responses import render
from bot.settings import load_settings

logger = logging.getLogger(__name__)

# Rasa's RestInput streams with this content type (one JSON message per line).
STREAM_CONTENT_TYPE = "text/event-stream"
_TURN_DONE = object()


def bearer_ok(request: Request, token: str) -> bool:
    """No token configured: open (the localhost demo); else the request must carry it."""
    return not token or bearer_matches(request.headers.get("authorization", ""), token)


def as_lines(messages: list[dict[str, Any]]) -> str:
    """Messages the way Rasa's RestInput streams them: one JSON object per line."""
    return "".join(json.dumps(message, ensure_ascii=False) + "\n" for message in messages)


def read_request(body: Any) -> tuple[str | None, str | None, str | None]:
    """(sender, text, problem): problem is a message for the caller when the body is unusable."""
    if not isinstance(body, dict):
        return None, None, '请求体必须是 JSON 对象，例如 {"sender": "u1", "message": "您好"}'
    sender, text = body.get("sender"), body.get("message")
    problem = rest_sender_problem(sender)
    if problem:
        return None, None, problem
    if text is not None and not isinstance(text, str):
        return None, None, "message 必须是文本"
    return str(sender), text or "", None


class CalmRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("calm_rest_webhook", __name__)
        settings = load_settings()
        guard = InputGuard(settings)
        bridge = HandoffBridge()
        unauthorised = {"error": "需要有效的访问令牌（Authorization: Bearer …）"}
        stop = asyncio.Event()

        def agent_of(app: Sanic) -> Any:
            return getattr(app.ctx, "agent", None)

        @webhook.listener("before_server_start")
        async def calm_size_limit(app: Sanic, _loop: Any) -> None:
            """Sanic refuses a body over REQUEST_MAX_SIZE before any route runs; say so in
            the same words as every other refusal, on every route of the server."""

            async def too_large(_request: Request, _error: Exception) -> HTTPResponse:
                return response.json({"error": "请求体过大"}, status=413)

            app.error_handler.add(PayloadTooLarge, too_large)

        @webhook.listener("after_server_start")
        async def start_resume_loop(app: Sanic, _loop: Any) -> None:
            app.add_task(bridge.resume_loop(lambda: agent_of(app), stop))

        @webhook.listener("before_server_stop")
        async def stop_resume_loop(_app: Sanic, _loop: Any) -> None:
            stop.set()

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/outbox", methods=["GET"])
        async def outbox(request: Request) -> HTTPResponse:
            """Messages no request was waiting for (a specialist's reply, a decision)."""
            if not bearer_ok(request, settings.rest_api_token):
                return response.json(unauthorised, status=401)
            sender = (request.args.get("sender") or "").strip()
            problem = rest_sender_problem(sender)
            if problem:
                return response.json({"error": problem}, status=400)
            return response.json(await bridge.deliver(agent_of(request.app), self.name(), sender))

        def answer(messages: list[dict[str, Any]], stream: bool, status: int = 200) -> HTTPResponse:
            if stream:
                return response.text(
                    as_lines(messages), status=status, content_type=STREAM_CONTENT_TYPE
                )
            return response.json(messages, status=status)

        async def run_turn(message: UserMessage) -> None:
            try:
                await on_new_message(message)
            except CancelledError:
                logger.error("message from %s timed out", mask(message.sender_id))
            except Exception:  # noqa: BLE001 - the cardholder gets an answer whatever failed
                logger.exception("message from %s failed", mask(message.sender_id))

        async def after_turn(
            request: Request, sender: str, text: str, replied: bool
        ) -> list[dict[str, Any]]:
            """The technical-problem message when the turn said nothing, then the outbox."""
            messages = []
            if not replied:
                messages.append(
                    {"recipient_id": sender, "text": render("utter_technical_problem", text)}
                )
            messages.extend(await bridge.deliver(agent_of(request.app), self.name(), sender))
            return messages

        def streamed(request: Request, sender: str, text: str, metadata: dict[str, Any]) -> Any:
            """Each reply written as a line as soon as the bot utters it (Rasa's stream mode)."""

            async def write_replies(out: Any) -> None:
                queue: asyncio.Queue = asyncio.Queue()
                message = UserMessage(
                    text, QueueOutputChannel(queue), sender, input_channel=self.name(),
                    metadata=metadata,
                )  # fmt: skip

                async def turn() -> None:
                    try:
                        await run_turn(message)
                    finally:
                        await queue.put(_TURN_DONE)

                task = asyncio.ensure_future(turn())
                replied = False
                while (reply := await queue.get()) is not _TURN_DONE:
                    replied = True
                    await out.write(as_lines([reply]))
                await task
                rest = await after_turn(request, sender, text, replied)
                if rest:
                    await out.write(as_lines(rest))

            return response.stream(write_replies, content_type=STREAM_CONTENT_TYPE)

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Any:
            if not bearer_ok(request, settings.rest_api_token):
                return response.json(unauthorised, status=401)
            if len(request.body or b"") > settings.max_request_bytes:
                too_big = {"error": f"请求体不能超过 {settings.max_request_bytes} 字节"}
                return response.json(too_big, status=413)
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - sanic raises its own error type for bad JSON
                body = None
            sender, text, problem = read_request(body)
            if problem:
                return response.json({"error": problem}, status=400)
            stream = bool_arg(request, "stream", default=False)
            address = caller_address(request)
            metadata = with_client(self.get_metadata(request), address)
            refusal = guard.refusal(sender, metadata.get(CLIENT_METADATA_KEY), text)
            if refusal:
                reply = render(refusal.response, text, **dict(refusal.values))
                return answer([{"recipient_id": sender, "text": reply}], stream, refusal.status)
            if await asyncio.to_thread(bridge.hold, sender, text):  # off the event loop
                # a specialist holds the chat: the bot stays silent, the message waits for them
                pending = await bridge.deliver(agent_of(request.app), self.name(), sender)
                return answer(pending, stream)
            if stream:
                return streamed(request, sender, text, metadata)
            collector = CollectingOutputChannel()
            await run_turn(
                UserMessage(text, collector, sender, input_channel=self.name(), metadata=metadata)
            )
            messages = list(collector.messages)
            messages.extend(await after_turn(request, sender, text, bool(messages)))
            return response.json(messages)

        return webhook
