"""Polling mode, for running without a public URL: fetch updates with getUpdates and forward
each to the local Rasa server's Telegram webhook with the secret, so both modes share one path
(secret check, de-duplication, handling).

    TELEGRAM_TOKEN=… TELEGRAM_SECRET=… TELEGRAM_MODE=polling python -m bot.launcher   # Rasa
    TELEGRAM_TOKEN=… TELEGRAM_SECRET=… python -m bot.channels.telegram_polling       # poller

The offset advances only after the webhook accepted an update, so nothing is lost while Rasa
restarts; the webhook's de-duplication makes forwarding an update twice harmless.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time

import httpx
from telegram import Bot
from telegram.error import RetryAfter, TelegramError

from bot.channels.telegram import ALLOWED_UPDATES, SECRET_HEADER
from bot.channels.telegram_config import WEBHOOK_PATH, TelegramConfig, TelegramConfigError
from bot.channels.telegram_format import retry_seconds

logger = logging.getLogger(__name__)

LONG_POLL_S = 25
FORWARD_TIMEOUT_S = 90  # a Rasa turn with a slow action still fits
ERROR_PAUSE_S = 3.0


async def forward(client: httpx.AsyncClient, url: str, secret: str, update: dict) -> bool:
    """POST one update to the webhook; True when it was taken (processed or a duplicate)."""
    try:
        reply = await client.post(url, json=update, headers={SECRET_HEADER: secret})
    except httpx.HTTPError as error:
        logger.warning("Rasa server not reachable (%s)", type(error).__name__)
        return False
    if reply.status_code >= 500 or reply.status_code == 403:
        logger.warning("webhook answered %s", reply.status_code)
        return False
    return True  # 2xx, or 400 for an update the webhook will never accept


async def poll(
    config: TelegramConfig,
    rasa_url: str,
    max_seconds: float | None = None,
    long_poll_s: int = LONG_POLL_S,
    stop: asyncio.Event | None = None,
) -> int:
    """Poll until stopped (or ``max_seconds``); returns the number of updates forwarded."""
    stop = stop or asyncio.Event()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    url = f"{rasa_url.rstrip('/')}{WEBHOOK_PATH}"
    forwarded, offset = 0, None
    async with (
        Bot(config.token, base_url=config.base_url) as bot,
        httpx.AsyncClient(timeout=FORWARD_TIMEOUT_S, trust_env=False) as client,
    ):
        await bot.delete_webhook()  # getUpdates is refused while a webhook is set
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                updates = await bot.get_updates(
                    offset=offset, timeout=long_poll_s, allowed_updates=ALLOWED_UPDATES
                )
            except RetryAfter as error:
                await asyncio.sleep(retry_seconds(error))
                continue
            except TelegramError as error:
                logger.warning("getUpdates failed (%s)", type(error).__name__)
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            for update in updates:
                if not await forward(client, url, config.secret, update.to_dict()):
                    await asyncio.sleep(ERROR_PAUSE_S)
                    break  # the same update again on the next round
                offset = update.update_id + 1
                forwarded += 1
    return forwarded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Forward Telegram updates to the Rasa server.")
    parser.add_argument("--rasa-url", default="http://127.0.0.1:5005")
    parser.add_argument("--max-seconds", type=float, default=None)
    parser.add_argument("--long-poll", type=int, default=LONG_POLL_S)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    try:
        config = TelegramConfig.load()
    except TelegramConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    async def run() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        return await poll(config, args.rasa_url, args.max_seconds, args.long_poll, stop)

    count = asyncio.run(run())
    print(f"forwarded {count} update(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
