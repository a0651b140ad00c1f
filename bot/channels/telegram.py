"""The Telegram channel (python-telegram-bot against the Bot API; not Rasa's aiogram channel).

Webhook: Telegram POSTs updates to /webhooks/telegram/webhook with the secret token header on
every request; anything without the right secret gets 403 and is not read. Polling (no public
URL): ``python -m bot.channels.telegram_polling`` fetches updates and forwards them here with
the same secret. Each update id is taken in once (Telegram retries), and a loop in this process
delivers the outbox's Telegram messages.

Configured in credentials.yml (token, secret from the environment) plus TELEGRAM_BASE_URL,
TELEGRAM_MODE and TELEGRAM_WEBHOOK_URL; see bot/channels/telegram_config.py.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse
from telegram import Bot, Update
from telegram.error import TelegramError

from bot.channels.handoff_bridge import HandoffBridge
from bot.channels.telegram_config import TelegramConfig, TelegramConfigError
from bot.channels.telegram_delivery import TelegramDelivery
from bot.channels.telegram_handler import TelegramConversation
from bot.channels.telegram_output import TelegramSender
from bot.channels.telegram_records import TelegramRecords
from bot.settings import load_settings

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]


def secret_matches(request: Request, secret: str) -> bool:
    given = request.headers.get(SECRET_HEADER) or ""
    return hmac.compare_digest(given.encode(), secret.encode())


class TelegramInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "telegram"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        try:
            return cls(TelegramConfig.load(credentials))
        except TelegramConfigError as error:
            raise ValueError(f"Telegram channel: {error}") from None

    def __init__(self, config: TelegramConfig) -> None:
        self.config = config

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        webhook = Blueprint("telegram_webhook", __name__)
        config = self.config
        bridge = HandoffBridge()
        records = TelegramRecords(bridge.store)
        stop = asyncio.Event()
        state: dict[str, Any] = {}

        def agent_of(app: Sanic) -> Any:
            return getattr(app.ctx, "agent", None)

        @webhook.listener("after_server_start")
        async def start(app: Sanic, _loop: Any) -> None:
            bot = Bot(config.token, base_url=config.base_url)
            try:
                await bot.initialize()
            except TelegramError as error:  # the message may quote the token: name only
                logger.error("Telegram Bot API not reachable at start (%s)", type(error).__name__)
            sender = TelegramSender(bot, records)
            state["bot"] = bot
            state["conversation"] = TelegramConversation(
                on_new_message,
                lambda: agent_of(app),
                sender,
                records,
                bridge,
                load_settings().max_message_chars,
            )
            if config.mode == "webhook" and config.webhook_url:
                try:
                    await bot.set_webhook(
                        config.webhook_url,
                        secret_token=config.secret,
                        allowed_updates=ALLOWED_UPDATES,
                    )
                except TelegramError as error:
                    logger.error("setWebhook failed (%s)", type(error).__name__)
            delivery = TelegramDelivery(bridge.store, sender, bridge)
            app.add_task(delivery.run(lambda: agent_of(app), stop))

        @webhook.listener("before_server_stop")
        async def halt(_app: Sanic, _loop: Any) -> None:
            stop.set()
            bot = state.get("bot")
            if bot is not None:
                try:
                    await bot.shutdown()
                except Exception:  # noqa: BLE001 - shutting down anyway
                    logger.debug("closing the Telegram client failed", exc_info=True)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            if not secret_matches(request, config.secret):
                return response.json({"error": "forbidden"}, status=403)
            try:
                body = request.json
            except Exception:  # noqa: BLE001 - sanic raises its own error type for bad JSON
                body = None
            if not isinstance(body, dict) or not isinstance(body.get("update_id"), int):
                return response.json({"error": "not a Telegram update"}, status=400)
            conversation = state.get("conversation")
            if conversation is None:
                return response.json({"error": "starting"}, status=503)  # Telegram retries
            if not records.claim_update(body["update_id"]):
                return response.json({"status": "duplicate"})
            try:
                update = Update.de_json(body, state["bot"])
                await conversation.handle(update)
            except Exception:  # noqa: BLE001 - a retry would not help: the update is taken
                logger.exception("Telegram update %s failed", body["update_id"])
            return response.json({"status": "ok"})

        return webhook
