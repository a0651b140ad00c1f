"""Each channel's conversation ids live in a namespace of their own, so a client of one channel
cannot continue a conversation of another by sending its id: Telegram's are chat ids (digits),
the widget's are random (32 hex digits) or derived from a bank's login token (``wt-`` + 32 hex),
and a REST sender is anything else of ``^[A-Za-z0-9_-]{1,128}$``.
"""

from __future__ import annotations

import re

SENDER = re.compile(r"^[A-Za-z0-9_-]{1,128}$")
TELEGRAM_ID = re.compile(r"^-?[0-9]{1,20}$")
WIDGET_ID = re.compile(r"^[0-9a-f]{32}$")
WIDGET_LOGIN_ID = re.compile(r"^wt-[0-9a-f]{32}$")


def channel_of(conversation_id: str) -> str | None:
    """The channel whose namespace holds this id (None: no channel's)."""
    if not isinstance(conversation_id, str) or not SENDER.match(conversation_id):
        return None
    if TELEGRAM_ID.match(conversation_id):
        return "telegram"
    if WIDGET_ID.match(conversation_id) or WIDGET_LOGIN_ID.match(conversation_id):
        return "widget"
    return "rest"


def rest_sender_problem(sender: object) -> str | None:
    """Why a REST sender id is refused (in Chinese, for the caller), or None."""
    if not isinstance(sender, (str, int)) or not str(sender).strip():
        return "缺少 sender（会话编号）"
    if channel_of(str(sender)) != "rest":
        return "sender 只能由 1–128 个字母、数字、下划线或连字符组成，且不能是其他渠道的会话编号"
    return None
