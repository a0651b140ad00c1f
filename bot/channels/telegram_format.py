"""Turning a Rasa reply into what Telegram accepts, with no Telegram I/O.

Replies go out as plain text (no parse mode): Rasa responses contain newlines and may contain
``<``, ``>`` and ``&``, which plain text shows exactly as written, with nothing to escape.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from telegram.error import RetryAfter

# Telegram accepts 4096 characters per message; stay below it with a margin.
MAX_TEXT_CHARS = 4000
# Telegram's limit for callback_data, in bytes.
MAX_CALLBACK_BYTES = 64


def reply_text(message: dict[str, Any]) -> str:
    """The visible text of a Rasa reply; an image becomes its link on a line of its own."""
    parts = [str(message.get("text") or "").strip()]
    if message.get("image"):
        parts.append(str(message["image"]))
    return "\n".join(part for part in parts if part)


def chunk_text(text: str, limit: int = MAX_TEXT_CHARS) -> list[str]:
    """Split a long text into messages Telegram accepts, at line breaks where possible."""
    chunks: list[str] = []
    rest = text
    while len(rest) > limit:
        cut = rest.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        chunks.append(rest[:cut])
        rest = rest[cut:].lstrip("\n")
    if rest:
        chunks.append(rest)
    return chunks


def retry_seconds(error: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (``retry_after`` is an int or a timedelta in PTB 22)."""
    value = error.retry_after
    if isinstance(value, timedelta):
        return max(0.0, value.total_seconds())
    return max(0.0, float(value))


def command_of(text: str) -> str | None:
    """``/start``, ``/help@MyBot payload`` → ``start``, ``help``; None for ordinary text."""
    if not text.startswith("/"):
        return None
    word = text[1:].split(maxsplit=1)[0] if len(text) > 1 else ""
    return word.split("@", 1)[0].lower() or None


def command_argument(text: str) -> str:
    """What follows the command word: ``/link 12345678`` → ``12345678`` (deep links
    ``t.me/<bot>?start=<code>`` arrive as ``/start <code>``)."""
    parts = text.split(maxsplit=1)
    return parts[1].strip() if len(parts) > 1 and text.startswith("/") else ""
