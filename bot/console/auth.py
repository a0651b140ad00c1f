"""Who may call what: session cookie → principal, roles, and the CSRF check on every write.

Handlers declare their needs with ``@login_required(role=…)``; the principal itself is resolved
once per request by the app's middleware (``request.ctx.user``).
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any

from sanic import Request
from sanic.response import HTTPResponse, redirect

from bot.console.errors import ApiError, forbidden
from bot.console.sessions import SESSION_TTL, Principal
from bot.http_auth import caller_address

SESSION_COOKIE = "console_session"
LOGIN_CSRF_COOKIE = "console_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

Handler = Callable[..., Awaitable[HTTPResponse]]


def cookie_secure() -> bool:
    """Cookies get the Secure flag unless ``CONSOLE_COOKIE_SECURE`` is explicitly 0/false/no:
    a forgotten setting must not send session cookies over plain HTTP (the launcher turns it
    off only for the demo on 127.0.0.1)."""
    return os.environ.get("CONSOLE_COOKIE_SECURE", "").strip().lower() not in ("0", "false", "no")


def client_address(request: Request) -> str:
    """The caller's address: the socket peer, or what a proxy reports only when sanic is told
    to trust one (``SANIC_PROXIES_COUNT``, ``SANIC_REAL_IP_HEADER``, ``SANIC_FORWARDED_SECRET``),
    so a client cannot pick its own address with a header."""
    return caller_address(request) or "unknown"


def set_cookie(response: HTTPResponse, name: str, value: str, max_age: int) -> None:
    response.cookies[name] = value
    cookie = response.cookies[name]
    cookie["httponly"] = True
    cookie["samesite"] = "Strict"
    cookie["path"] = "/"
    cookie["max-age"] = max_age
    if cookie_secure():
        cookie["secure"] = True


def set_session_cookie(response: HTTPResponse, token: str) -> None:
    set_cookie(response, SESSION_COOKIE, token, int(SESSION_TTL.total_seconds()))


def clear_session_cookie(response: HTTPResponse) -> None:
    set_cookie(response, SESSION_COOKIE, "", 0)


def is_api(request: Request) -> bool:
    return request.path.startswith("/api/")


def submitted_csrf(request: Request) -> str:
    """The CSRF token sent with a write: the header (JSON API) or the form field (plain forms)."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return request.form.get(CSRF_FIELD) or ""
    return ""


def tokens_match(submitted: str, expected: str) -> bool:
    return (
        bool(submitted)
        and bool(expected)
        and hmac.compare_digest(submitted.encode("utf-8"), expected.encode("utf-8"))
    )


def current_user(request: Request) -> Principal | None:
    return getattr(request.ctx, "user", None)


def login_required(role: str | None = None) -> Callable[[Handler], Handler]:
    """Only logged-in specialists (of ``role``, if given); writes also need the CSRF token."""

    def decorate(handler: Handler) -> Handler:
        @wraps(handler)
        async def wrapper(request: Request, *args: Any, **kwargs: Any) -> HTTPResponse:
            user = current_user(request)
            if user is None:
                if is_api(request):
                    raise ApiError(401, "请先登录")
                return redirect("/login")
            if role == "supervisor" and not user.is_supervisor:
                raise forbidden("仅主管可以查看")
            if request.method not in SAFE_METHODS and not tokens_match(
                submitted_csrf(request), user.csrf_token
            ):
                raise forbidden("CSRF 校验失败，请刷新页面后重试")
            return await handler(request, *args, **kwargs)

        return wrapper

    return decorate
