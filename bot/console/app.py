"""Assemble the console: routes, the per-request principal, security headers, JSON errors."""

from __future__ import annotations

import asyncio
import itertools
import logging
from html import escape
from pathlib import Path

from sanic import Request, Sanic
from sanic.exceptions import SanicException
from sanic.response import HTTPResponse
from sanic.response import html as html_response

from bot.console import approvals, sessions
from bot.console.api import api, reply
from bot.console.auth import SESSION_COOKIE, is_api
from bot.console.errors import ApiError
from bot.console.pages import pages
from bot.console.throttle import Limits
from bot.db.store import Store
from bot.plans import Policy

STATIC_DIR = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
logger = logging.getLogger(__name__)
_app_numbers = itertools.count(1)


def _error_response(request: Request, status: int, message: str) -> HTTPResponse:
    if is_api(request) or status not in (403, 404):
        return reply({"error": message}, status=status)
    body = f'<!doctype html><meta charset="utf-8"><title>{status}</title><p>{escape(message)}</p>'
    body += '<p><a href="/">返回案件队列</a></p>'
    return html_response(body, status=status)


def create_app(store: Store, name: str | None = None, policy: Policy | None = None) -> Sanic:
    """The console on ``store``; ``name`` must be unique per process (sanic keeps a registry).

    The plan policy (policy/plans.yml unless ``policy``) and the login limits are read once
    here, so a broken policy stops the start instead of the first approval.
    """
    app = Sanic(name or f"specialist_console_{next(_app_numbers)}")
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 2  # open event streams must not hold a restart
    app.config.KEEP_ALIVE_TIMEOUT = 10
    app.config.REQUEST_MAX_SIZE = 1_000_000
    app.ctx.store = store
    app.ctx.four_eyes = approvals.four_eyes(policy)
    app.ctx.login_limits = Limits.from_settings()
    app.blueprint(api)
    app.blueprint(pages)
    app.static("/static", str(STATIC_DIR), name="console_static")

    @app.on_request
    async def identify(request: Request) -> None:
        request.ctx.user = None
        if request.path.startswith("/static/"):
            return
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            request.ctx.user = await asyncio.to_thread(sessions.resolve, store, token)

    @app.on_response
    async def secure_headers(request: Request, response: HTTPResponse) -> None:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if is_api(request):
            response.headers.setdefault("Cache-Control", "no-store")

    @app.exception(ApiError)
    async def refused(request: Request, error: ApiError) -> HTTPResponse:
        return _error_response(request, error.status, error.message)

    @app.exception(SanicException)
    async def sanic_error(request: Request, error: SanicException) -> HTTPResponse:
        status = getattr(error, "status_code", 500) or 500
        messages = {404: "找不到该页面", 405: "不支持该请求方法", 413: "请求内容过大"}
        return _error_response(request, status, messages.get(status, "请求无效"))

    @app.exception(Exception)
    async def crashed(request: Request, error: Exception) -> HTTPResponse:
        logger.exception("console request failed: %s %s", request.method, request.path)
        return _error_response(request, 500, "服务器内部错误，请稍后重试")

    return app
