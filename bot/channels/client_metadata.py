"""What a channel attaches to a message about its sender, for the actions to read.

Channels set ``client`` in a message's metadata to a keyed hash of the client's address (the
knowledge check counts failures per client), removing any value a client sent itself. Rasa's
internal collector channel (used when a specialist hands a conversation back) is not a channel
a cardholder writes on.
"""

from __future__ import annotations

from typing import Any

from bot.identity.knowledge import client_key
from bot.settings import load_settings

CLIENT_METADATA_KEY = "client"
INTERNAL_CHANNELS = (None, "collector")


def with_client(metadata: Any, address: str | None, pepper: str | None = None) -> dict[str, Any]:
    """The message's metadata with the server's own client key (a client's own is dropped)."""
    result = dict(metadata) if isinstance(metadata, dict) else {}
    result.pop(CLIENT_METADATA_KEY, None)
    key = client_key(address, pepper or load_settings().identity_pepper)
    if key:
        result[CLIENT_METADATA_KEY] = key
    return result
