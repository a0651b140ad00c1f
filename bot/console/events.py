"""Server-sent events: the queue and an open case, live.

Each stream polls the database about once a second (the database is the only thing the bot,
the channels and other console processes share) and sends only what changed:

* ``queue``       — the caller's whole queue, whenever it changes;
* ``case``        — the open case's state (status, applications), whenever it changes;
* ``transcript``  — transcript items the page has not had yet.

A stream is bounded (``MAX_STREAM_SECONDS``; the browser's EventSource reconnects by itself)
and ends as soon as the client goes away (sanic cancels the handler) or the session ends.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sanic import Request

from bot.console import casefile, sessions
from bot.console.errors import ApiError
from bot.console.sessions import Principal
from bot.db.store import Store

POLL_SECONDS = 1.0
MAX_STREAM_SECONDS = 300
KEEPALIVE_EVERY = 15  # polls between keep-alive comments (and session re-checks)
RETRY_MS = 2000


def frame(event: str, data: Any) -> str:
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n"


def _queue_signature(cases: list[dict[str, Any]]) -> list[tuple]:
    # waiting_seconds changes every second; the page counts it up itself.
    return [
        (
            c["id"],
            c["status"],
            c["priority"],
            c["claimed_by"],
            c["reason"],
            c["account_id"],
            c["pending_application"],
        )
        for c in cases
    ]


def _case_state(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        key: detail[key]
        for key in (
            "case",
            "permissions",
            "applications",
            "agreements",
            "hardship",
            "offers",
            "trail",
            "history",
            "notes",
        )
    }


def _case_signature(state: dict[str, Any]) -> str:
    case = dict(state["case"], waiting_seconds=None)
    return json.dumps({**state, "case": case}, sort_keys=True, default=str)


def poll(
    store: Store, user: Principal, case_id: int | None, four_eyes: bool = False
) -> dict[str, Any]:
    """One look at the database: the queue and, if asked for, the case."""
    snapshot: dict[str, Any] = {"queue": casefile.queue_for(store, user, four_eyes), "case": None}
    if case_id is not None:
        try:
            snapshot["case"] = casefile.case_detail(store, case_id, user, four_eyes)
        except ApiError:
            snapshot["case"] = None  # gone, or now someone else's: nothing more to show
    return snapshot


async def stream(
    request: Request, store: Store, user: Principal, case_id: int | None, four_eyes: bool = False
) -> None:
    if case_id is not None:  # 404/403 up front
        await asyncio.to_thread(casefile.case_row, store, case_id, user, True, four_eyes)
    response = await request.respond(
        content_type="text/event-stream; charset=utf-8",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
    await response.send(f"retry: {RETRY_MS}\n\n")
    last_queue: list[tuple] | None = None
    last_case: str | None = None
    sent_keys: set[str] = set()
    token = request.cookies.get("console_session")
    polls = int(MAX_STREAM_SECONDS / POLL_SECONDS)
    for tick in range(polls):
        if request.transport is None or request.transport.is_closing():
            break
        if tick and tick % KEEPALIVE_EVERY == 0:
            if await asyncio.to_thread(sessions.resolve, store, token) is None:
                await response.send(frame("logout", {}))
                break
            await response.send(": keep-alive\n\n")
        snapshot = await asyncio.to_thread(poll, store, user, case_id, four_eyes)
        signature = _queue_signature(snapshot["queue"])
        if signature != last_queue:
            last_queue = signature
            await response.send(frame("queue", {"cases": snapshot["queue"]}))
        detail = snapshot["case"]
        if detail is not None:
            state = _case_state(detail)
            case_signature = _case_signature(state)
            if case_signature != last_case:
                last_case = case_signature
                await response.send(frame("case", state))
            fresh = [item for item in detail["transcript"] if item["key"] not in sent_keys]
            if fresh:
                sent_keys.update(item["key"] for item in fresh)
                await response.send(frame("transcript", {"items": fresh}))
        await asyncio.sleep(POLL_SECONDS)
    else:
        await response.send(frame("bye", {"reconnect": True}))
    if request.transport is not None and not request.transport.is_closing():
        await response.eof()
