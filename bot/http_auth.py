"""What the product's own HTTP endpoints read of a caller: its bearer token and its address.

One place for both, so the REST channel, the widget and the action server check and key their
callers the same way (no Rasa import: the action server uses it too).
"""

from __future__ import annotations

import hmac
from typing import Any


def bearer_matches(authorization: str, token: str) -> bool:
    """``Authorization: Bearer <token>``, compared in constant time."""
    scheme, _, value = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode(), token.encode()
    )


def caller_address(request: Any) -> str | None:
    """The caller's address as sanic sees it (behind a proxy: sanic's PROXIES_COUNT /
    REAL_IP_HEADER settings decide what counts)."""
    return (request.remote_addr or request.ip or None) if request is not None else None
