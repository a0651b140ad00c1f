"""Finding cases among many: search, filters, sort and pages for the 案件查询 page.

The live queue shows what waits now; this finds any case a specialist may see (a supervisor:
all; a specialist: open cases and their own) by reference, account, name or text, with filters
on status, reason, channel, priority, assignee and waiting time. Pages are numbered (a person
jumps to page 3, not to a cursor); the order always ends with the id, so a page is stable.
bench/bench_queue.py measures it at 100,000 cases with and without the indexes of
``models.Escalation`` (figures in its docstring).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import String, cast, func, or_, select, union

from bot.clock import now_utc
from bot.console.casefile import case_dict, case_query
from bot.console.labels import REASON_LABELS, STATUS_LABELS
from bot.console.sessions import Principal
from bot.db import models
from bot.db.store import Store

PER_PAGE = 25
MAX_PER_PAGE = 100
MAX_QUERY_CHARS = 100
STATUSES = ("open", "claimed", "returned", "closed")
SORTS = {
    "priority": (models.Escalation.priority, models.Escalation.created_at, models.Escalation.id),
    "oldest": (models.Escalation.created_at, models.Escalation.id),
    "newest": (models.Escalation.created_at.desc(), models.Escalation.id.desc()),
}
_CASE_ID = re.compile(r"#?([0-9]{1,9})")
_ACCOUNT = re.compile(r"CC-[0-9]{1,12}", re.IGNORECASE)
_REFERENCE = re.compile(r"[A-Z]{2}-[A-Z0-9]{4,16}", re.IGNORECASE)


# what the page's filters offer (the codes the product stores, with their Chinese labels)
CHOICES = {
    "statuses": [{"code": code, "label": STATUS_LABELS[code]} for code in STATUSES],
    "reasons": [{"code": code, "label": label} for code, label in REASON_LABELS.items()],
    "priorities": [
        {"code": 0, "label": "紧急"},
        {"code": 1, "label": "高"},
        {"code": 2, "label": "普通"},
    ],
    "sorts": [
        {"code": "priority", "label": "紧急程度"},
        {"code": "oldest", "label": "最早转人工"},
        {"code": "newest", "label": "最新转人工"},
    ],
}


class SearchError(ValueError):
    """A filter the page cannot have sent; the message is for the specialist (Chinese)."""


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""
    reason: str = ""
    channel: str = ""
    priority: int | None = None
    assignee: str = ""  # a specialist's id, "me" or "none"
    min_wait_minutes: int | None = None
    sort: str = "priority"
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args: dict[str, str]) -> Filters:
        """From a request's query string, every value checked."""

        def number(name: str, low: int, high: int) -> int | None:
            raw = (args.get(name) or "").strip()
            if not raw:
                return None
            if not raw.isdigit() or not low <= int(raw) <= high:
                raise SearchError(f"{name} 须为 {low}–{high} 之间的整数")
            return int(raw)

        status = (args.get("status") or "").strip()
        if status and status not in STATUSES:
            raise SearchError("未知的案件状态")
        sort = (args.get("sort") or "priority").strip()
        if sort not in SORTS:
            raise SearchError("未知的排序方式")
        assignee = (args.get("assignee") or "").strip()
        if assignee and assignee not in ("me", "none") and not assignee.isdigit():
            raise SearchError("未知的专员")
        return cls(
            q=(args.get("q") or "").strip()[:MAX_QUERY_CHARS],
            status=status,
            reason=(args.get("reason") or "").strip()[:64],
            channel=(args.get("channel") or "").strip()[:32],
            priority=number("priority", 0, 2),
            assignee=assignee,
            min_wait_minutes=number("min_wait", 0, 525_600),
            sort=sort,
            page=number("page", 1, 100_000) or 1,
            per_page=number("per_page", 1, MAX_PER_PAGE) or PER_PAGE,
        )


def search_cases(store: Store, user: Principal, filters: Filters) -> dict[str, Any]:
    """One page of the cases matching ``filters`` that ``user`` may see, and how many match."""
    conditions = _conditions(user, filters)
    query = case_query().where(*conditions)
    query = query.order_by(*SORTS[filters.sort])
    query = query.limit(filters.per_page).offset((filters.page - 1) * filters.per_page)
    count = select(func.count()).select_from(models.Escalation).where(*conditions)
    if filters.q and not (_CASE_ID.fullmatch(filters.q) or _ACCOUNT.fullmatch(filters.q)):
        # the name is the account's: the count needs the same join as the page
        count = (
            select(func.count())
            .select_from(models.Escalation)
            .outerjoin(models.Account, models.Account.account_id == models.Escalation.account_id)
            .where(*conditions)
        )
    with store._session() as session:
        total = session.execute(count).scalar_one()
        rows = session.execute(query).all()
    return {
        "cases": [
            case_dict(row, holder, claimer, pending, user) for row, holder, claimer, pending in rows
        ],  # fmt: skip
        "total": total,
        "page": filters.page,
        "per_page": filters.per_page,
        "pages": max(1, -(-total // filters.per_page)),
        "choices": CHOICES,
    }


def _conditions(user: Principal, filters: Filters) -> list[Any]:
    escalation = models.Escalation
    conditions: list[Any] = []
    if not user.is_supervisor:
        conditions.append((escalation.status == "open") | (escalation.claimed_by == user.id))
    if filters.status:
        conditions.append(escalation.status == filters.status)
    if filters.reason:
        conditions.append(escalation.reason == filters.reason)
    if filters.channel:
        conditions.append(escalation.channel == filters.channel)
    if filters.priority is not None:
        conditions.append(escalation.priority == filters.priority)
    if filters.assignee == "none":
        conditions.append(escalation.claimed_by.is_(None))
    elif filters.assignee == "me":
        conditions.append(escalation.claimed_by == user.id)
    elif filters.assignee:
        conditions.append(escalation.claimed_by == int(filters.assignee))
    if filters.min_wait_minutes is not None:
        since = now_utc() - timedelta(minutes=filters.min_wait_minutes)
        conditions.append(escalation.status == "open")
        conditions.append(escalation.created_at <= since)
    if filters.q:
        conditions.append(_matches(filters.q))
    return conditions


def _matches(q: str) -> Any:
    """A case number (#123), an account (CC-0001), a reference of an agreement, promise or
    complaint (its conversation's cases), else the cardholder's name or the case's message."""
    escalation = models.Escalation
    if found := _CASE_ID.fullmatch(q):
        return escalation.id == int(found.group(1))
    if _ACCOUNT.fullmatch(q):
        return escalation.account_id == q.upper()
    if _REFERENCE.fullmatch(q):
        reference = q.upper()
        conversations = union(
            *(
                select(model.conversation_id).where(model.reference == reference)
                for model in (models.Agreement, models.Promise, models.Complaint)
            )
        )
        return escalation.conversation_id.in_(conversations)
    detail = cast(escalation.detail, String)
    return or_(
        models.Account.holder_name.like(_like(q), escape="\\"),
        detail.like(_like(q), escape="\\"),
        # JSON columns keep non-ASCII text as \\uXXXX escapes (json.dumps' default)
        detail.like(_like(json.dumps(q)[1:-1]), escape="\\"),
    )


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def specialist_names(store: Store) -> list[dict[str, Any]]:
    with store._session() as session:
        rows = session.execute(
            select(models.Specialist.id, models.Specialist.display_name).order_by(
                models.Specialist.display_name
            )
        ).all()
    return [{"id": row.id, "name": row.display_name} for row in rows]
