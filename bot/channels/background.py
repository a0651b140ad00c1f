"""Background rounds that every Rasa worker runs, taken one worker at a time.

With several Rasa workers (RASA_WORKERS, a shared lock store) each worker starts the same
background loops: Telegram outbox delivery and reminders, resuming handed-back conversations.
Run at once, two workers could send one Telegram message twice or resume one conversation twice.
Each round therefore holds a lock of Rasa's own lock store, which all workers share; the second
worker's round starts after the first one's and finds the work already done.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

# Telegram chat ids and widget session ids never look like this; a REST caller who chose it as
# its sender id would at most wait for one background round.
LOCK_PREFIX = "~background:"


@asynccontextmanager
async def one_worker_at_a_time(agent: Any, name: str) -> AsyncIterator[None]:
    lock_store = getattr(agent, "lock_store", None)
    if lock_store is None:  # no agent (yet): nothing runs on a conversation, no lock needed
        yield
        return
    async with lock_store.lock(LOCK_PREFIX + name):
        yield
