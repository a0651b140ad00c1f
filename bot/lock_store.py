"""Rasa's Redis lock store on one ``REDIS_URL``, for running several Rasa workers.

Rasa serialises the messages of one conversation with a lock store. The default keeps its locks
in process memory, so Rasa allows only one worker with it; with the locks in Redis, every worker
(and every machine) sees the same locks and ``RASA_WORKERS`` processes can share the load. The
URL form matches ``DATABASE_URL``'s: ``redis://[:password@]host:6379/1`` (``rediss://`` for TLS).
"""

from __future__ import annotations

import os

import redis
from rasa.core.lock_store import DEFAULT_SOCKET_TIMEOUT_IN_SECONDS, RedisLockStore
from rasa.utils.endpoints import EndpointConfig


class RedisUrlLockStore(RedisLockStore):
    def __init__(self, endpoint_config: EndpointConfig | None = None, url: str | None = None):
        url = url or (endpoint_config.url if endpoint_config else None) or os.environ["REDIS_URL"]
        super().__init__()  # sets Rasa's key prefix; the connection is replaced just below
        self.red = redis.StrictRedis.from_url(url, socket_timeout=DEFAULT_SOCKET_TIMEOUT_IN_SECONDS)
