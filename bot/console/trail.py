"""A case's audit trail as the case page shows it: what, when, who, in Chinese."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.clock import as_utc
from bot.console.labels import AGREEMENT_LABELS, OUTCOME_LABELS, RESUME_STEPS, reason_label
from bot.db import models

AUDIT_LABELS = {
    "escalated": "转人工",
    "case_claimed": "专员领取案件",
    "specialist_replied": "专员回复客户",
    "case_note_added": "添加内部备注",
    "case_handed_back": "交还智能助手",
    "case_closed": "结案",
    "application_decided": "审批还款方案申请",
    "identity_verified": "身份核实通过",
    "identity_ended": "身份核实失效",
    "identity_ambiguous": "身份核实：匹配到多个账户",
    "identity_card_locked": "卡片核验已锁定",
    "hardship_recorded": "记录困难说明",
    "offers_made": "提出还款方案",
    "agreement_created": "达成还款方案",
    "application_created": "提交还款方案申请",
    "promise_recorded": "记录还款承诺",
    "complaint_recorded": "登记投诉",
    "complaint_added": "补充投诉",
    "contact_time_recorded": "记录联系时间",
    "telegram_linked": "Telegram 账户绑定",
    "telegram_unlinked": "Telegram 账户解绑",
}
# the conversation's trail from a little before the case opened (what led to it)
TRAIL_FROM_BEFORE_OPENING = timedelta(hours=2)
TRAIL_LIMIT = 200


def case_trail(session: Any, case: dict[str, Any]) -> list[dict[str, Any]]:
    """Every audited step of the case's conversation since shortly before it opened, oldest
    first, as a specialist reads it: what, when, who (a specialist by name, else the assistant
    or the system), and the detail that matters (outcome, step, reference)."""
    since = as_utc(datetime.fromisoformat(case["created_at"])) - TRAIL_FROM_BEFORE_OPENING
    rows = session.execute(
        select(models.AuditEvent)
        .where(
            models.AuditEvent.conversation_id == case["conversation_id"],
            models.AuditEvent.at >= since,
        )
        .order_by(models.AuditEvent.id)
        .limit(TRAIL_LIMIT)
    ).scalars()
    specialists = select(models.Specialist.id, models.Specialist.display_name)
    names = dict(session.execute(specialists).all())
    trail = []
    for row in rows:
        trail.append(
            {
                "at": as_utc(row.at).isoformat(),
                "event": row.event,
                "label": AUDIT_LABELS.get(row.event, row.event),
                "actor": _actor_name(row.actor, names),
                "detail": _trail_detail(row.detail or {}),
            }
        )
    return trail


def _actor_name(actor: str, names: dict[int, str]) -> str:
    kind, _, number = (actor or "").partition(":")
    if kind == "specialist" and number.isdigit():
        return names.get(int(number), "专员")
    return {"bot": "智能助手", "system": "系统"}.get(kind, "系统")


def _trail_detail(detail: dict[str, Any]) -> str:
    parts = []
    if detail.get("outcome"):
        parts.append("结果：" + OUTCOME_LABELS.get(detail["outcome"], detail["outcome"]))
    if "resume_step" in detail or "step" in detail:
        step = detail.get("resume_step", detail.get("step"))
        parts.append(RESUME_STEPS.get(step, str(step)))
    if detail.get("reference"):
        parts.append("编号 " + str(detail["reference"]))
    if detail.get("status") in AGREEMENT_LABELS:
        parts.append(AGREEMENT_LABELS[detail["status"]])
    if detail.get("reason"):
        parts.append(reason_label(str(detail["reason"])))
    return "，".join(parts)
