"""The Telegram channel's settings: from credentials.yml (token, secret) and the environment.

Nothing here has a default that reaches a real bot: the token and the webhook secret must be
given, ``TELEGRAM_BASE_URL`` points tests at a local Bot-API-compatible server.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
MODES = ("webhook", "polling")
# Telegram's rule for secret_token: 1-256 characters A-Z, a-z, 0-9, _ and -.
SECRET_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
WEBHOOK_PATH = "/webhooks/telegram/webhook"


class TelegramConfigError(ValueError):
    pass


@dataclass(frozen=True)
class TelegramConfig:
    token: str
    secret: str
    base_url: str = DEFAULT_BASE_URL
    mode: str = "webhook"
    webhook_url: str | None = None  # public https URL; setWebhook is called with it at start

    def __repr__(self) -> str:  # never print the token or the secret
        return f"TelegramConfig(base_url={self.base_url!r}, mode={self.mode!r})"

    @classmethod
    def load(
        cls, credentials: Mapping[str, Any] | None = None, env: Mapping[str, str] | None = None
    ) -> TelegramConfig:
        """credentials.yml values first, then TELEGRAM_* environment variables."""
        given = dict(credentials or {})
        env = os.environ if env is None else env

        def value(key: str, variable: str) -> str:
            return str(given.get(key) or env.get(variable) or "").strip()

        token, secret = value("token", "TELEGRAM_TOKEN"), value("secret", "TELEGRAM_SECRET")
        mode = value("mode", "TELEGRAM_MODE") or "webhook"
        if not token:
            raise TelegramConfigError("TELEGRAM_TOKEN is not set")
        if not SECRET_PATTERN.match(secret):
            raise TelegramConfigError(
                "TELEGRAM_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and -"
            )
        if mode not in MODES:
            raise TelegramConfigError(f"TELEGRAM_MODE must be one of {', '.join(MODES)}")
        return cls(
            token=token,
            secret=secret,
            base_url=value("base_url", "TELEGRAM_BASE_URL") or DEFAULT_BASE_URL,
            mode=mode,
            webhook_url=value("webhook_url", "TELEGRAM_WEBHOOK_URL") or None,
        )
