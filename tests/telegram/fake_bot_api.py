"""A small Bot-API-compatible server on 127.0.0.1 for the tests: Telegram's servers cannot be
reached, so the real python-telegram-bot code talks to this instead (``base_url``).

It records every call (method, parameters, the status it answered), keeps a queue of updates for
getUpdates, and can be told to answer 429 with retry_after once, or 403 for a chat.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from bot.launcher import free_port

TOKEN = "123456:TEST-token_for-the-fake-api"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    status: int
    at: float = field(default_factory=time.monotonic)

    @property
    def text(self) -> str:
        return str(self.params.get("text") or "")

    @property
    def keyboard(self) -> list[list[dict[str, Any]]]:
        markup = self.params.get("reply_markup") or {}
        return markup.get("inline_keyboard") or []


def _decode(value: str) -> Any:
    """PTB posts each parameter as a form field; non-strings are JSON-encoded."""
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeBotApi:
    def __init__(self) -> None:
        self.port = free_port()
        self.calls: list[Call] = []
        self.updates: list[dict[str, Any]] = []
        self.flood_once: dict[str, int] = {}  # method -> retry_after seconds, answered once
        self.blocked_chats: set[str] = set()  # 403 Forbidden: the user blocked the bot
        self.broken_chats: set[str] = set()  # 400 Bad Request: chat not found
        self.lock = threading.Lock()
        self.message_ids = 1000
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    # --- what tests use ---------------------------------------------------------------------

    def sent(self, chat_id: str | int, method: str = "sendMessage") -> list[Call]:
        """Successful calls of ``method`` to one chat."""
        with self.lock:
            return [
                c
                for c in self.calls
                if c.method == method
                and c.status == 200
                and str(c.params.get("chat_id")) == str(chat_id)
            ]

    def calls_of(self, method: str) -> list[Call]:
        with self.lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, predicate: Any, seconds: float = 30) -> Any:
        """Bounded wait until ``predicate()`` returns something truthy."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            result = predicate()
            if result:
                return result
            time.sleep(0.2)
        raise AssertionError(f"the fake Bot API did not see what was expected within {seconds} s")

    # --- the Bot API ------------------------------------------------------------------------

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id = str(params.get("chat_id", ""))
        if method in self.flood_once:
            seconds = self.flood_once.pop(method)
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {seconds}",
                "parameters": {"retry_after": seconds},
            }
        if chat_id and chat_id in self.blocked_chats:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        if chat_id and chat_id in self.broken_chats:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }
        if method == "getMe":
            result: Any = {
                "id": 123456,
                "is_bot": True,
                "first_name": "助手",
                "username": "test_bot",
            }
        elif method == "sendMessage":
            self.message_ids += 1
            result = {
                "message_id": self.message_ids,
                "date": int(time.time()),
                "chat": {"id": int(chat_id), "type": "private"},
                "text": params.get("text", ""),
            }
        elif method in ("answerCallbackQuery", "setWebhook", "deleteWebhook"):
            result = True
        elif method == "editMessageReplyMarkup":
            result = True
        elif method == "getUpdates":
            offset = int(params.get("offset") or 0)
            result = [u for u in self.updates if u["update_id"] >= offset]
        else:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return 200, {"ok": True, "result": result}

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = await request.json()
        else:
            params = {key: _decode(value) for key, value in (await request.post()).items()}
        with self.lock:
            status, body = self._answer(method, params)
            self.calls.append(Call(method, params, status))
        if method == "getUpdates" and not body.get("result"):
            await asyncio.sleep(min(0.3, float(params.get("timeout") or 0)))  # a short long poll
        return web.json_response(body, status=status)

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> FakeBotApi:
        ready = threading.Event()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_post("/bot{token}/{method}", self._handle)
            self._runner = web.AppRunner(app)
            self._loop.run_until_complete(self._runner.setup())
            site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            self._loop.run_until_complete(site.start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())
            self._loop.close()

        self._thread = threading.Thread(target=serve, name="fake-bot-api", daemon=True)
        self._thread.start()
        if not ready.wait(10):
            raise RuntimeError("the fake Bot API did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
