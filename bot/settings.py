"""Configuration from the environment, with embedded defaults for the demo.

Nothing secret lives in the repository: a bank sets ``DATABASE_URL`` (and, later, channel tokens)
in the environment. Without it everything runs on one SQLite file under ``.var/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / ".var"
DEMO_ACCOUNTS_PATH = PROJECT_ROOT / "data" / "demo" / "demo_accounts.yml"


def default_database_url() -> str:
    return f"sqlite:///{VAR_DIR / 'assistant.db'}"


@dataclass(frozen=True)
class Settings:
    database_url: str
    max_verification_attempts: int = 3
    max_message_chars: int = 2000


def load_settings() -> Settings:
    return Settings(
        database_url=os.environ.get("DATABASE_URL") or default_database_url(),
        max_verification_attempts=int(os.environ.get("MAX_VERIFICATION_ATTEMPTS", "3")),
        max_message_chars=int(os.environ.get("MAX_MESSAGE_CHARS", "2000")),
    )
