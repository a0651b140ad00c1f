"""The HTML pages: thin shells filled in by ``static/*.js`` through the JSON API.

Templates are files under ``templates/`` with ``$name`` placeholders (``string.Template``);
every value is HTML-escaped. The login form also works without JavaScript; it is guarded by a
double-submit cookie since there is no session yet to hold a CSRF token.
"""

from __future__ import annotations

import asyncio
import html
import secrets
from functools import lru_cache
from pathlib import Path
from string import Template

from sanic import Blueprint, Request
from sanic.response import HTTPResponse, raw, redirect
from sanic.response import html as html_response

from bot.console import charts, dashboard, sessions, throttle
from bot.console.auth import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    clear_session_cookie,
    client_address,
    current_user,
    login_required,
    set_cookie,
    set_session_cookie,
    tokens_match,
)
from bot.console.errors import not_found
from bot.console.sessions import Principal

TEMPLATES = Path(__file__).parent / "templates"
ROLE_LABELS = {"specialist": "专员", "supervisor": "主管"}

pages = Blueprint("console_pages")


@lru_cache(maxsize=16)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    return _template(name).substitute({k: html.escape(str(v)) for k, v in values.items()})


def page(user: Principal, title: str, content: str, script: str, **values: object) -> HTTPResponse:
    """A logged-in page: the shared layout around one content template."""
    nav = '<a href="/">案件队列</a><a href="/search">案件查询</a>' + (
        '<a href="/dashboard">主管看板</a>' if user.is_supervisor else ""
    )
    body = render(content, **values)
    layout = _template("layout.html").substitute(
        title=html.escape(title),
        user_name=html.escape(user.display_name),
        role_label=html.escape(ROLE_LABELS.get(user.role, user.role)),
        role=html.escape(user.role),
        user_id=user.id,
        csrf=html.escape(user.csrf_token),
        nav=nav,
        content=body,
        script=html.escape(script),
    )
    return html_response(layout)


def _login_page(error: str = "", status: int = 200) -> HTTPResponse:
    token = secrets.token_urlsafe(24)
    response = html_response(render("login.html", csrf=token, error=error), status=status)
    set_cookie(response, LOGIN_CSRF_COOKIE, token, 3600)
    return response


@pages.get("/login")
async def login_form(request: Request) -> HTTPResponse:
    if current_user(request) is not None:
        return redirect("/")
    return _login_page()


@pages.post("/login")
async def login_submit(request: Request) -> HTTPResponse:
    if not tokens_match(
        request.form.get(CSRF_FIELD) or "", request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    ):
        return _login_page("页面已过期，请重新登录。", status=403)
    username = request.form.get("username") or ""
    password = request.form.get("password") or ""
    store = request.app.ctx.store
    try:
        principal = await asyncio.to_thread(
            throttle.attempt_login, store, username, password, client_address(request),
            request.app.ctx.login_limits,
        )  # fmt: skip
    except throttle.LoginLocked as locked:
        response = _login_page(f"{locked.message}。", status=429)
        response.headers["Retry-After"] = str(locked.retry_after)
        return response
    if principal is None:
        return _login_page("用户名或密码不正确。", status=401)
    token, _principal = await asyncio.to_thread(sessions.open_session, store, principal)
    response = redirect("/", status=303)
    set_session_cookie(response, token)
    set_cookie(response, LOGIN_CSRF_COOKIE, "", 0)
    return response


@pages.post("/logout")
@login_required()
async def logout_submit(request: Request) -> HTTPResponse:
    await asyncio.to_thread(sessions.close_session, request.app.ctx.store, current_user(request))
    response = redirect("/login", status=303)
    clear_session_cookie(response)
    return response


@pages.get("/")
@login_required()
async def queue_page(request: Request) -> HTTPResponse:
    return page(current_user(request), "案件队列", "queue.html", "/static/queue.js")


@pages.get("/search")
@login_required()
async def search_page(request: Request) -> HTTPResponse:
    return page(current_user(request), "案件查询", "search.html", "/static/search.js")


@pages.get("/cases/<case_id:int>")
@login_required()
async def case_page(request: Request, case_id: int) -> HTTPResponse:
    return page(
        current_user(request), f"案件 #{case_id}", "case.html", "/static/case.js", case_id=case_id
    )


@pages.get("/dashboard")
@login_required(role="supervisor")
async def dashboard_page(request: Request) -> HTTPResponse:
    return page(current_user(request), "主管看板", "dashboard.html", "/static/dashboard.js")


@pages.get("/dashboard/charts/<name:str>")
@login_required(role="supervisor")
async def chart(request: Request, name: str) -> HTTPResponse:
    chart_name = name.removesuffix(".png")
    if not name.endswith(".png") or chart_name not in charts.CHARTS:
        raise not_found("没有这张图表")
    store = request.app.ctx.store
    stats = await asyncio.to_thread(dashboard.statistics, store)
    png = await asyncio.to_thread(charts.render_png, chart_name, stats)
    return raw(png, content_type="image/png", headers={"Cache-Control": "no-store"})
