"""The REST channel with the product's promises: every message gets a calm answer.

Rasa's own channel answers an empty body with a server error and a crashed action server with
silence. This one checks the request first, trims over-long texts (saying so), and when a turn
produced no reply at all (action server down, an internal error) answers with the technical-problem
message, so the cardholder is never left waiting without a word.
"""

from __future__ import annotations

import asyncio
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.handoff_bridge import HandoffBridge
from bot.privacy import mask
from bot.responses import render
from bot.settings import load_settings

logger = logging.getLogger(__name__)
MAX_SENDER_CHARS = 128


def read_request(body: Any) -> tuple[str | None, str | None, str | None]:
    """(sender, text, problem): problem is a message for the caller when the body is unusable."""
    if not isinstance(body, dict):
        return None, None, '请求体必须是 JSON 对象，例如 {"sender": "u1", "message": "您好"}'
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, (str, int)) or not str(sender).strip():
        return None, None, "缺少 sender（会话编号）"
    if len(str(sender)) > MAX_SENDER_CHARS:
        return None, None, f"sender 不能超过 {MAX_SENDER_CHARS} 个字符"
    if text is not None and not isinstance(text, str):
        return None, None, "message 必须是文本"
    return str(sender), text or "", None


class CalmRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("calm_rest_webhook", __name__)
        limit = load_settings().max_message_chars
        bridge = HandoffBridge()
        stop = asyncio.Event()

        def agent_of(app: Sanic) -> Any:
            return getattr(app.ctx, "agent", None)

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
            sender = (request.args.get("sender") or "").strip()
            if not sender or len(sender) > MAX_SENDER_CHARS:
                return response.json({"error": "缺少 sender（会话编号）"}, status=400)
            return response.json(await bridge.deliver(agent_of(request.app), self.name(), sender))

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - sanic raises its own error type for bad JSON
                body = None
            sender, text, problem = read_request(body)
            if problem:
                return response.json({"error": problem}, status=400)
            if not text.strip():
                reply = render("utter_empty_message")
                return response.json([{"recipient_id": sender, "text": reply}])
            trimmed = len(text) > limit
            if bridge.hold(sender, text[:limit]):
                # a specialist holds the chat: the bot stays silent, the message waits for them
                pending = await bridge.deliver(agent_of(request.app), self.name(), sender)
                return response.json(pending)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(
                        text[:limit],
                        collector,
                        sender,
                        input_channel=self.name(),
                        metadata=self.get_metadata(request),
                    )
                )
            except CancelledError:
                logger.error("message from %s timed out", mask(sender))
            except Exception:  # noqa: BLE001 - the cardholder gets an answer whatever failed
                logger.exception("message from %s failed", mask(sender))
            messages = list(collector.messages)
            if not messages:
                messages.append(
                    {"recipient_id": sender, "text": render("utter_technical_problem", text)}
                )
            if trimmed:
                note = render("utter_message_trimmed", text, limit=limit)
                messages.append({"recipient_id": sender, "text": note})
            messages.extend(await bridge.deliver(agent_of(request.app), self.name(), sender))
            return response.json(messages)

        return webhook
