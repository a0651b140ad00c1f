"""What a specialist sees of the queue and of one case, as JSON-ready dicts.

Who may see what lives here too: a specialist sees open cases and their own (and, with four
eyes, another's case whose application awaits a second approval); a supervisor sees every case.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from bot.clock import now_utc, today
from bot.console import approvals
from bot.console.errors import forbidden, not_found
from bot.console.sessions import Principal
from bot.db import models
from bot.db.store import Store
from bot.handoff.cases import OUTCOMES
from bot.handoff.rules import load_rules
from bot.handoff.sla import current_sla
from bot.handoff.transcript import transcript

QUEUE_STATUSES = ("open", "claimed", "returned")
QUEUE_LIMIT = 500
RESUME_STEPS = {None: "从中断处继续", "propose_plans": "重新提出方案"}

REASON_LABELS = {
    "distress": "情绪危机",
    "request_human": "要求人工",
    "complaint": "投诉",
    "dispute": "债务异议",
    "identity_failed": "身份验证失败",
    "misunderstood": "助手未能理解",
    "plan_approval": "方案待审批",
    "no_plan_fits": "无合适方案",
    "technical": "技术问题",
    "payment_not_found": "未找到还款记录",
    "identity_card_locked": "卡片验证已锁定（多次核验失败）",
}
RULE_PREFIX = "rule:"  # a case opened by a rule of policy/handoff.yml: "rule:<name>"


def reason_label(reason: str) -> str:
    """The reason as a specialist reads it: a rule's own description from policy/handoff.yml
    (the bank's words), else the table; an unknown code as it is rather than nothing."""
    if reason.startswith(RULE_PREFIX):
        name = reason[len(RULE_PREFIX) :]
        description = _rule_descriptions().get(name)
        return f"规则：{description}" if description else f"规则：{name}"
    return REASON_LABELS.get(reason, reason)


@lru_cache(maxsize=1)
def _rule_descriptions() -> dict[str, str]:
    try:
        return {rule.name: rule.description for rule in load_rules()}
    except (OSError, ValueError):  # a broken rules file (RuleError too) keeps the queue
        return {}


OUTCOME_LABELS = {
    "promise_to_pay": "承诺还款",
    "plan_agreed": "达成还款方案",
    "dispute_opened": "已受理异议",
    "complaint_logged": "已登记投诉",
    "no_contact": "未能联系",
    "referred": "已转交其他部门",
    "resolved": "已解决",
}
STATUS_LABELS = {
    "open": "待领取",
    "claimed": "处理中",
    "returned": "已交还助手",
    "closed": "已结案",
}
AGREEMENT_LABELS = {
    "agreed": "已达成",
    "pending_approval": "待审批",
    "approved": "已批准",
    "rejected": "已拒绝",
}


def aware(moment: datetime | None) -> datetime | None:
    """SQLite returns naive datetimes; they are UTC."""
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def iso(moment: datetime | None) -> str | None:
    value = aware(moment)
    return value.isoformat() if value else None


def money(value: Decimal | float | None) -> float | None:
    return None if value is None else float(value)


def can_view(user: Principal, status: str, claimed_by: int | None) -> bool:
    return user.is_supervisor or status == "open" or claimed_by == user.id


# Whether the case's conversation has an application waiting for a decision.
_PENDING = (
    exists()
    .where(
        models.Agreement.conversation_id == models.Escalation.conversation_id,
        models.Agreement.status == "pending_approval",
    )
    .correlate(models.Escalation)
)


def _case_dict(
    row: models.Escalation,
    holder: str | None,
    claimer: str | None,
    pending: bool,
    user: Principal,
) -> dict[str, Any]:
    created = aware(row.created_at)
    waited_until = aware(row.claimed_at) or now_utc()
    waiting = max(0, int((waited_until - created).total_seconds()))
    detail = dict(row.detail or {})
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "account_id": row.account_id,
        "holder_name": holder,
        "reason": row.reason,
        "reason_label": reason_label(row.reason),
        "other_reasons": detail.get("other_reasons", []),
        "message": detail.get("message"),
        "resume_step": detail.get("resume_step"),
        "priority": row.priority,
        "urgent": row.priority == 0,
        "status": row.status,
        "status_label": STATUS_LABELS.get(row.status, row.status),
        "channel": row.channel or "rest",
        "created_at": iso(created),
        "waiting_seconds": waiting,
        "sla_seconds": current_sla().target_seconds(row.priority),
        "sla_state": current_sla().state(row.priority, waiting) if row.status == "open" else "ok",
        "claimed_by": row.claimed_by,
        "claimed_by_name": claimer,
        "claimed_at": iso(row.claimed_at),
        "closed_at": iso(row.closed_at),
        "outcome": row.outcome,
        "outcome_label": OUTCOME_LABELS.get(row.outcome or "", row.outcome),
        "mine": row.claimed_by == user.id,
        "pending_application": bool(pending),
    }


def _case_query():  # noqa: ANN202 - a SQLAlchemy select
    claimer = aliased(models.Specialist)
    return (
        select(
            models.Escalation,
            models.Account.holder_name,
            claimer.display_name,
            _PENDING.label("pending"),
        )
        .outerjoin(models.Account, models.Account.account_id == models.Escalation.account_id)
        .outerjoin(claimer, claimer.id == models.Escalation.claimed_by)
    )


def queue_for(store: Store, user: Principal, four_eyes: bool = False) -> list[dict[str, Any]]:
    """Most urgent first, then longest waiting; a specialist sees open cases and their own, and
    with ``four_eyes`` also others' cases whose application awaits a second approval."""
    query = _case_query().where(models.Escalation.status.in_(QUEUE_STATUSES))
    if not user.is_supervisor:
        visible = (models.Escalation.status == "open") | (models.Escalation.claimed_by == user.id)
        if four_eyes:
            visible = visible | (models.Escalation.claimed_by.is_not(None) & _PENDING)
        query = query.where(visible)
    query = query.order_by(
        models.Escalation.priority, models.Escalation.created_at, models.Escalation.id
    ).limit(QUEUE_LIMIT)
    with store._session() as session:
        return [
            _case_dict(row, holder, claimer, pending, user)
            for row, holder, claimer, pending in session.execute(query)
        ]


def case_row(
    store: Store, case_id: int, user: Principal, check_access: bool = True, four_eyes: bool = False
) -> dict[str, Any]:
    """The case itself (404 if unknown, 403 if another specialist's and ``check_access``,
    unless they may review its pending application under ``four_eyes``)."""
    with store._session() as session:
        found = session.execute(_case_query().where(models.Escalation.id == case_id)).first()
    if found is None:
        raise not_found("案件不存在")
    row, holder, claimer, pending = found
    if (
        check_access
        and not can_view(user, row.status, row.claimed_by)
        and not approvals.may_review(user, row.claimed_by, bool(pending), four_eyes)
    ):
        raise forbidden(f"该案件由{claimer or '其他专员'}处理，您不能查看或操作")
    return _case_dict(row, holder, claimer, pending, user)


def _account(store: Store, account_id: str | None, on: date) -> dict[str, Any] | None:
    view = store.get_account(account_id) if account_id else None
    if view is None:
        return None
    return {
        "account_id": view.account_id,
        "holder_name": view.holder_name,
        "principal": money(view.principal),
        "interest": money(view.interest),
        "penalty": money(view.penalty),
        "total_due": money(view.total_due),
        "minimum_payment": money(view.minimum_payment),
        "overdue_days": view.overdue_days(on),
        "credit_limit": money(view.credit_limit),
        "has_active_installment": view.has_active_installment,
    }


def _hardship(session: Any, conversation_id: str) -> dict[str, Any] | None:
    row = (
        session.execute(
            select(models.HardshipStatement)
            .where(models.HardshipStatement.conversation_id == conversation_id)
            .order_by(models.HardshipStatement.id.desc())
        )
        .scalars()
        .first()
    )
    if row is None:
        return None
    return {
        "reason": row.reason,
        "monthly_income": money(row.monthly_income),
        "monthly_expenses": money(row.monthly_expenses),
        "other_debt_payments": money(row.other_debt_payments),
        "dependents": row.dependents,
        "expected_recovery_months": row.expected_recovery_months,
        "created_at": iso(row.created_at),
    }


def _offer_dict(row: models.Offer) -> dict[str, Any]:
    return {
        "id": row.id,
        "batch": row.batch,
        "rank": row.rank,
        "option_id": row.option_id,
        "type": row.type,
        "months": row.months,
        "monthly_payment": money(row.monthly_payment),
        "total_payment": money(row.total_payment),
        "total_cost": money(row.total_cost),
        "apr": money(row.apr),
        "requires_approval": bool(row.requires_approval),
        "affordable": row.affordable,
    }


def _offers(session: Any, conversation_id: str) -> list[dict[str, Any]]:
    """The most recent batch of options shown to the cardholder, in the order shown."""
    latest = (
        session.execute(
            select(models.Offer.batch)
            .where(models.Offer.conversation_id == conversation_id)
            .order_by(models.Offer.id.desc())
        )
        .scalars()
        .first()
    )
    if latest is None:
        return []
    rows = session.execute(
        select(models.Offer)
        .where(models.Offer.conversation_id == conversation_id, models.Offer.batch == latest)
        .order_by(models.Offer.rank)
    ).scalars()
    return [_offer_dict(row) for row in rows]


def _agreements(session: Any, conversation_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(models.Agreement, models.Offer)
        .join(models.Offer, models.Offer.id == models.Agreement.offer_id)
        .where(models.Agreement.conversation_id == conversation_id)
        .order_by(models.Agreement.id)
    ).all()
    return [
        {
            "reference": agreement.reference,
            "status": agreement.status,
            "status_label": AGREEMENT_LABELS.get(agreement.status, agreement.status),
            "pending": agreement.status == "pending_approval",
            "created_at": iso(agreement.created_at),
            "decided_at": iso(agreement.decided_at),
            "decided_by": agreement.decided_by,
            "offer": _offer_dict(offer),
        }
        for agreement, offer in rows
    ]


def _permissions(
    user: Principal, case: dict[str, Any], negotiator: models.Escalation | None, four_eyes: bool
) -> dict[str, bool]:
    """What the page offers this user; the API checks the same rules (bot.console.approvals)."""
    claimed_by = negotiator.claimed_by if negotiator else None
    status = negotiator.status if negotiator else None
    return {
        "four_eyes": four_eyes,
        "can_close": approvals.may_close(user, case["status"], case["claimed_by"]),
        "can_approve": approvals.decision_refusal(user, claimed_by, status, True, four_eyes)
        is None,
        "can_reject": approvals.decision_refusal(user, claimed_by, status, False, four_eyes)
        is None,
    }


def case_detail(
    store: Store, case_id: int, user: Principal, four_eyes: bool = False
) -> dict[str, Any]:
    """Everything the case page shows: case, account, hardship, offers, applications, transcript,
    and what this user may do there."""
    case = case_row(store, case_id, user, four_eyes=four_eyes)
    conversation_id = case["conversation_id"]
    with store._session() as session:
        hardship = _hardship(session, conversation_id)
        offers = _offers(session, conversation_id)
        agreements = _agreements(session, conversation_id)
        negotiator = latest_case(session, conversation_id)
        permissions = _permissions(user, case, negotiator, four_eyes)
        case["left_message"] = _left_message(session, case_id)
        trail = _trail(session, case)
    return {
        "case": case,
        "permissions": permissions,
        "account": _account(store, case["account_id"], today()),
        "hardship": hardship,
        "offers": offers,
        "applications": [a for a in agreements if a["pending"]],
        "agreements": agreements,
        "transcript": transcript(store, conversation_id),
        "trail": trail,
        "outcomes": [{"code": code, "label": OUTCOME_LABELS.get(code, code)} for code in OUTCOMES],
        "resume_steps": [{"step": step, "label": label} for step, label in RESUME_STEPS.items()],
    }


AUDIT_LABELS = {
    "escalated": "转人工",
    "case_claimed": "专员领取案件",
    "specialist_replied": "专员回复客户",
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


def _trail(session: Any, case: dict[str, Any]) -> list[dict[str, Any]]:
    """Every audited step of the case's conversation since shortly before it opened, oldest
    first, as a specialist reads it: what, when, who (a specialist by name, else the assistant
    or the system), and the detail that matters (outcome, step, reference)."""
    since = aware(datetime.fromisoformat(case["created_at"])) - TRAIL_FROM_BEFORE_OPENING
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
                "at": aware(row.at).isoformat(),
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


def _left_message(session: Any, case_id: int) -> str | None:
    """What the cardholder wrote for the specialist while the case waited (the leave-a-message
    step, or messages while it was held): the newest, for the summary; all are in the
    transcript. The case's own ``message`` is what they said when it opened ("转人工")."""
    return session.execute(
        select(models.HeldMessage.text)
        .where(models.HeldMessage.escalation_id == case_id)
        .order_by(models.HeldMessage.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def latest_case(session: Any, conversation_id: str) -> models.Escalation | None:
    """The conversation's latest case: whoever claimed it negotiated its applications."""
    return (
        session.execute(
            select(models.Escalation)
            .where(models.Escalation.conversation_id == conversation_id)
            .order_by(models.Escalation.id.desc())
        )
        .scalars()
        .first()
    )


def application_case(store: Store, reference: str) -> tuple[str, int | None, str | None] | None:
    """(conversation, holder of its latest case, that case's status) for an application."""
    with store._session() as session:
        agreement = session.execute(
            select(models.Agreement).where(models.Agreement.reference == reference)
        ).scalar_one_or_none()
        if agreement is None:
            return None
        case = latest_case(session, agreement.conversation_id)
        return (
            agreement.conversation_id,
            case.claimed_by if case else None,
            case.status if case else None,
        )
