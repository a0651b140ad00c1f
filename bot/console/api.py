"""The JSON API under ``/api/``: everything the console pages do goes through here.

Database work runs in worker threads (``asyncio.to_thread``) so one slow query never stalls the
live streams of other specialists, and two claims really do race in the database.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sanic import Blueprint, Request
from sanic.response import HTTPResponse
from sanic.response import json as sanic_json

from bot.console import approvals, casefile, dashboard, events, search, sessions, throttle
from bot.console.auth import (
    clear_session_cookie,
    client_address,
    current_user,
    login_required,
    set_session_cookie,
)
from bot.console.errors import ApiError, bad_request, conflict, forbidden, not_found
from bot.console.labels import RESUME_STEPS
from bot.db.store import Store
from bot.handoff.cases import OUTCOMES, CaseError, CaseForbidden, Cases
from bot.settings import load_settings

api = Blueprint("console_api", url_prefix="/api")
MAX_NOTE_CHARS = 500


def reply(body: Any, status: int = 200) -> HTTPResponse:
    return sanic_json(
        body, status=status, dumps=lambda value: json.dumps(value, ensure_ascii=False)
    )


def _store(request: Request) -> Store:
    return request.app.ctx.store


def _four_eyes(request: Request) -> bool:
    return request.app.ctx.four_eyes


def _body(request: Request) -> dict[str, Any]:
    """The JSON object of a request (form posts are accepted too, for plain HTML forms)."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(request.body or b"{}")
        except ValueError as error:
            raise bad_request("请求内容不是有效的 JSON") from error
        if not isinstance(body, dict):
            raise bad_request("请求内容应为 JSON 对象")
        return body
    if request.body:
        return {key: request.form.get(key) for key in request.form}
    return {}


def me_dict(user: sessions.Principal) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "role": user.role,
        "csrf_token": user.csrf_token,
    }


MAX_NOTE_CHARS = 2000


async def _case_action(
    request: Request, case_id: int, action: Any, *args: Any, visible: bool = True
) -> Any:
    """Run a Cases step on a case (that the caller may see, if ``visible``); Cases' refusals
    become 403s (not theirs to do) or 409s (not possible now)."""
    store = _store(request)
    await asyncio.to_thread(casefile.case_row, store, case_id, current_user(request), visible)
    try:
        return await asyncio.to_thread(action, *args)
    except CaseForbidden as error:
        raise forbidden(str(error)) from error
    except CaseError as error:
        raise conflict(f"操作无法完成：{error}") from error


# --- session ------------------------------------------------------------------------------


def locked_reply(locked: throttle.LoginLocked) -> HTTPResponse:
    response = reply({"error": locked.message}, status=429)
    response.headers["Retry-After"] = str(locked.retry_after)
    return response


@api.post("/login")
async def login(request: Request) -> HTTPResponse:
    """JSON login; a cross-site form cannot send ``application/json`` (its CSRF defence)."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise ApiError(415, "请以 JSON 提交登录信息")
    body = _body(request)
    username, password = str(body.get("username") or ""), str(body.get("password") or "")
    if not username or not password:
        raise bad_request("请输入用户名和密码")
    store = _store(request)
    try:
        principal = await asyncio.to_thread(
            throttle.attempt_login, store, username, password, client_address(request),
            request.app.ctx.login_limits,
        )  # fmt: skip
    except throttle.LoginLocked as locked:
        return locked_reply(locked)
    if principal is None:
        raise ApiError(401, "用户名或密码不正确")
    token, principal = await asyncio.to_thread(sessions.open_session, store, principal)
    response = reply(me_dict(principal))
    set_session_cookie(response, token)
    return response


@api.post("/logout")
@login_required()
async def logout(request: Request) -> HTTPResponse:
    await asyncio.to_thread(sessions.close_session, _store(request), current_user(request))
    response = reply({"logged_out": True})
    clear_session_cookie(response)
    return response


@api.get("/me")
@login_required()
async def me(request: Request) -> HTTPResponse:
    return reply(me_dict(current_user(request)))


# --- queue and cases ----------------------------------------------------------------------


@api.get("/queue")
@login_required()
async def queue(request: Request) -> HTTPResponse:
    cases = await asyncio.to_thread(
        casefile.queue_for, _store(request), current_user(request), _four_eyes(request)
    )
    return reply({"cases": cases})


@api.get("/cases")
@login_required()
async def find_cases(request: Request) -> HTTPResponse:
    """The 案件查询 page: ?q=&status=&reason=&channel=&priority=&assignee=&min_wait=&sort=&page="""
    args = {name: request.args.get(name) or "" for name in request.args}
    try:
        filters = search.Filters.from_args(args)
    except search.SearchError as error:
        raise bad_request(str(error)) from error
    found = await asyncio.to_thread(
        search.search_cases, _store(request), current_user(request), filters
    )
    return reply(found)


@api.get("/specialists")
@login_required()
async def specialists(request: Request) -> HTTPResponse:
    """Names for the assignee filter."""
    rows = await asyncio.to_thread(search.specialist_names, _store(request))
    return reply({"specialists": rows})


@api.get("/cases/<case_id:int>")
@login_required()
async def case(request: Request, case_id: int) -> HTTPResponse:
    detail = await asyncio.to_thread(
        casefile.case_detail, _store(request), case_id, current_user(request), _four_eyes(request)
    )
    return reply(detail)


@api.post("/cases/<case_id:int>/claim")
@login_required()
async def claim(request: Request, case_id: int) -> HTTPResponse:
    user = current_user(request)
    cases = Cases(_store(request))
    # No visibility check: losing a claim race is a 409, not a 403.
    won = await _case_action(
        request, case_id, cases.claim, case_id, user.id, user.display_name, visible=False
    )
    if not won:
        raise conflict("该案件已被其他专员领取或已不在队列中")
    case_now = await asyncio.to_thread(casefile.case_row, _store(request), case_id, user)
    return reply({"claimed": True, "case": case_now})


@api.post("/cases/<case_id:int>/reply")
@login_required()
async def reply_to_cardholder(request: Request, case_id: int) -> HTTPResponse:
    text = str(_body(request).get("text") or "").strip()
    if not text:
        raise bad_request("回复内容不能为空")
    if len(text) > load_settings().max_message_chars:
        raise bad_request("回复内容过长")
    user = current_user(request)
    await _case_action(request, case_id, Cases(_store(request)).reply, case_id, user.id, text)
    return reply({"sent": True})


@api.post("/cases/<case_id:int>/notes")
@login_required()
async def add_note(request: Request, case_id: int) -> HTTPResponse:
    text = str(_body(request).get("text") or "").strip()
    if not text:
        raise bad_request("备注不能为空")
    if len(text) > MAX_NOTE_CHARS:
        raise bad_request(f"备注不能超过 {MAX_NOTE_CHARS} 字")
    user = current_user(request)
    await _case_action(request, case_id, Cases(_store(request)).add_note, case_id, user.id, text)
    return reply({"added": True})


@api.post("/cases/<case_id:int>/hand-back")
@login_required()
async def hand_back(request: Request, case_id: int) -> HTTPResponse:
    step = _body(request).get("step") or None
    if step not in RESUME_STEPS:
        raise bad_request("未知的交还步骤")
    user = current_user(request)
    summary = await _case_action(
        request, case_id, Cases(_store(request)).hand_back, case_id, user.id, step
    )
    return reply({"status": summary.status, "resume_step": step})


@api.post("/cases/<case_id:int>/close")
@login_required()
async def close(request: Request, case_id: int) -> HTTPResponse:
    outcome = _body(request).get("outcome")
    if outcome not in OUTCOMES:
        raise bad_request("请选择有效的结案结果")
    user = current_user(request)
    # Visibility is not checked first: anyone but the holder or a supervisor gets the same 403.
    await _case_action(
        request, case_id, Cases(_store(request)).close, case_id, user.id, outcome, visible=False
    )
    return reply({"status": "closed", "outcome": outcome})


@api.post("/applications/<reference:str>/decision")
@login_required()
async def decide(request: Request, reference: str) -> HTTPResponse:
    """Who may approve or reject: ``bot.console.approvals`` (four eyes per policy/plans.yml)."""
    body = _body(request)
    approve = body.get("approve")
    if not isinstance(approve, bool):
        approve = {"true": True, "false": False}.get(str(approve).lower())
        if approve is None:
            raise bad_request("请说明批准或拒绝")
    note = str(body.get("note") or "").strip()[:MAX_NOTE_CHARS]
    user = current_user(request)
    store = _store(request)
    owner = await asyncio.to_thread(casefile.application_case, store, reference)
    if owner is None:
        raise not_found("申请不存在")
    _conversation, negotiator, status = owner
    refusal = approvals.decision_refusal(user, negotiator, status, approve, _four_eyes(request))
    if refusal is not None:
        raise forbidden(refusal)
    try:
        decided = await asyncio.to_thread(
            Cases(store).decide_application, reference, user.id, approve, note
        )
    except CaseError as error:
        raise conflict("该申请已处理过") from error
    return reply({"reference": reference, "status": decided})


# --- supervisors and live updates ---------------------------------------------------------


@api.get("/dashboard")
@login_required(role="supervisor")
async def dashboard_numbers(request: Request) -> HTTPResponse:
    return reply(await asyncio.to_thread(dashboard.statistics, _store(request)))


@api.get("/events")
@login_required()
async def live(request: Request) -> HTTPResponse | None:
    case_id = request.args.get("case")
    if case_id is not None and not case_id.isdigit():
        raise bad_request("case 参数无效")
    return await events.stream(
        request,
        _store(request),
        current_user(request),
        case_id and int(case_id),
        _four_eyes(request),
    )
