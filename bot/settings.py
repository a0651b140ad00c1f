"""Configuration from the environment, with embedded defaults for the demo.

Nothing secret lives in the repository: a bank sets ``DATABASE_URL``, the tokens and keys below
in the environment, and ``ASSISTANT_ENV=production`` so that a missing secret stops the start
instead of being made up. Without them everything runs on one SQLite file under ``.var/``, with
the demo's own random secrets in ``.var/local-secrets.json`` (bot.local_secrets).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from bot.local_secrets import local_secret

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / ".var"
DEMO_ACCOUNTS_PATH = PROJECT_ROOT / "data" / "demo" / "demo_accounts.yml"

# Secrets every process of a deployment must share; in production each comes from the environment.
SECRET_VARIABLES = ("ACTION_SERVER_TOKEN", "IDENTITY_PEPPER", "WIDGET_TOKEN_SECRET")


class ConfigurationError(RuntimeError):
    pass


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'assistant.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    max_verification_attempts: int = 3
    max_message_chars: int = 2000
    console_login_max_failures: int = 5  # per username, within console_login_window_minutes
    console_login_max_address_failures: int = 20  # per client address, same window
    console_login_window_minutes: int = 15
    console_login_lock_minutes: int = 15
    production: bool = False
    # the trust boundary (docs/security.md)
    action_server_token: str = ""
    action_server_host: str = "127.0.0.1"
    identity_pepper: str = ""
    widget_token_secret: str = ""
    widget_demo_tokens: bool = False
    rest_api_token: str = ""
    rasa_api_token: str = ""
    rasa_jwt_secret: str = ""
    allowed_origins: tuple[str, ...] = ()
    max_request_bytes: int = 16 * 1024
    lock_store_url: str = ""  # where the Rasa workers share locks, and the rate counts
    rate_per_conversation: int = 30  # messages a minute; 0 = no limit
    rate_per_client: int = 120
    verification_idle_minutes: int = 15
    verification_max_minutes: int = 60
    identity_failures_per_card: int = 5  # within identity_window_minutes
    identity_failures_per_client: int = 10
    identity_failures_global: int = 200
    identity_window_minutes: int = 60
    # The bank's official service number (BANK_HOTLINE); unset, replies point to the card's back.
    bank_hotline: str = ""

    @property
    def bank_hotline_text(self) -> str:
        """How replies name the official number: never a made-up one (issue 15)."""
        if self.bank_hotline:
            return f"{self.bank_hotline}（与信用卡背面、银行官方App上的号码一致）"
        return "信用卡背面印着的客服电话（银行官方App里也能查到）"


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    try:
        return int(raw) if raw else default
    except ValueError as error:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from error


def _flag(env: Mapping[str, str], name: str) -> bool:
    return (env.get(name) or "").strip().lower() in ("1", "true", "yes", "on")


def _secret(env: Mapping[str, str], name: str, production: bool) -> str:
    value = (env.get(name) or "").strip()
    if value:
        return value
    if production:
        raise ConfigurationError(f"{name} is not set (ASSISTANT_ENV=production needs it)")
    return local_secret(name, VAR_DIR)


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    production = (env.get("ASSISTANT_ENV") or "").strip().lower() == "production"
    origins = tuple(o.strip() for o in (env.get("ALLOWED_ORIGINS") or "").split(",") if o.strip())
    return Settings(
        database_url=env.get("DATABASE_URL") or default_database_url(),
        max_verification_attempts=_int(env, "MAX_VERIFICATION_ATTEMPTS", 3),
        max_message_chars=_int(env, "MAX_MESSAGE_CHARS", 2000),
        console_login_max_failures=_int(env, "CONSOLE_LOGIN_MAX_FAILURES", 5),
        console_login_max_address_failures=_int(env, "CONSOLE_LOGIN_MAX_ADDRESS_FAILURES", 20),
        console_login_window_minutes=_int(env, "CONSOLE_LOGIN_WINDOW_MINUTES", 15),
        console_login_lock_minutes=_int(env, "CONSOLE_LOGIN_LOCK_MINUTES", 15),
        production=production,
        action_server_token=_secret(env, "ACTION_SERVER_TOKEN", production),
        action_server_host=(env.get("ACTION_SERVER_HOST") or "127.0.0.1").strip(),
        identity_pepper=_secret(env, "IDENTITY_PEPPER", production),
        widget_token_secret=_secret(env, "WIDGET_TOKEN_SECRET", production),
        widget_demo_tokens=_flag(env, "WIDGET_DEMO_TOKENS") and not production,
        rest_api_token=(env.get("REST_API_TOKEN") or "").strip(),
        rasa_api_token=(env.get("RASA_API_TOKEN") or "").strip(),
        rasa_jwt_secret=(env.get("RASA_JWT_SECRET") or "").strip(),
        allowed_origins=origins,
        max_request_bytes=_int(env, "MAX_REQUEST_BYTES", 16 * 1024),
        lock_store_url=(env.get("LOCK_STORE_URL") or "").strip(),
        rate_per_conversation=_int(env, "RATE_LIMIT_PER_CONVERSATION", 30),
        rate_per_client=_int(env, "RATE_LIMIT_PER_CLIENT", 120),
        verification_idle_minutes=_int(env, "VERIFICATION_IDLE_MINUTES", 15),
        verification_max_minutes=_int(env, "VERIFICATION_MAX_MINUTES", 60),
        identity_failures_per_card=_int(env, "IDENTITY_FAILURES_PER_CARD", 5),
        identity_failures_per_client=_int(env, "IDENTITY_FAILURES_PER_CLIENT", 10),
        identity_failures_global=_int(env, "IDENTITY_FAILURES_GLOBAL", 200),
        identity_window_minutes=_int(env, "IDENTITY_WINDOW_MINUTES", 60),
        bank_hotline=(env.get("BANK_HOTLINE") or "").strip(),
    )
