"""The widget's login tokens: the bank's logged-in page already knows its customer, and says so
with a short-lived JWT it signs (HS256, key ``WIDGET_TOKEN_SECRET``; ``sub`` = the customer's
account id, ``exp`` required, at most an hour ahead). The conversation id is derived from ``sub``
with the same key, so the customer finds the same conversation on any device, and nobody
without a token for that customer can name it (bot.channels.senders: ``wt-`` ids).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass

import jwt

ALGORITHM = "HS256"
LEEWAY_S = 30
LONGEST_S = 3600  # a token valid for longer is refused: it would outlive a bank session


@dataclass(frozen=True)
class WidgetLogin:
    account_id: str
    expires_at: float  # epoch seconds
    conversation_id: str

    def valid(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) < self.expires_at + LEEWAY_S


def login_conversation_id(account_id: str, secret: str) -> str:
    digest = hmac.new(
        secret.encode(), b"widget-conversation:" + account_id.encode(), hashlib.sha256
    )
    return "wt-" + digest.hexdigest()[:32]


def read_token(token: object, secret: str) -> WidgetLogin | None:
    """The login a token proves, or None for anything unsigned, expired, too long-lived or
    malformed."""
    if not isinstance(token, str) or not token or len(token) > 4096 or not secret:
        return None
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "sub"]},
            leeway=LEEWAY_S,
        )
    except jwt.PyJWTError:
        return None
    subject, expires = claims.get("sub"), float(claims["exp"])
    if not isinstance(subject, str) or not subject or expires - time.time() > LONGEST_S + LEEWAY_S:
        return None
    return WidgetLogin(subject, expires, login_conversation_id(subject, secret))


def issue_token(account_id: str, secret: str, lifetime_s: int = 900) -> str:
    """What a bank's page would sign (the demo page gets one from a demo-only endpoint)."""
    now = int(time.time())
    claims = {"sub": account_id, "iat": now, "exp": now + lifetime_s}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)
