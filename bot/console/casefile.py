"""What a specialist sees of the queue and of one case, as JSON-ready dicts.

Who may see what lives here too: a specialist sees open cases and their own (and, with four
eyes, another's case whose application awaits a second approval); a supervisor sees every case.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import aliased

from bot.clock import as_utc, iso, now_utc, today
from bot.console import approvals, canned
from bot.console.errors import forbidden, not_found
from bot.console.history import account_history
from bot.console.labels import (
    AGREEMENT_LABELS,
    OUTCOME_LABELS,
    RESUME_STEPS,
    STATUS_LABELS,
    reason_label,
)
from bot.console.sessions import Principal
from bot.console.trail import case_trail
from bot.db import models
from bot.db.store import AccountView, Store
from bot.handoff.cases import OUTCOMES
from bot.handoff.sla import current_sla
from bot.handoff.transcript import transcript

QUEUE_STATUSES = ("open", "claimed", "returned")
QUEUE_LIMIT = 500


def aware(moment: datetime | None) -> datetime | None:
    """bot.clock.as_utc, for a column that may be empty."""
    return None if moment is None else as_utc(moment)


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


def case_dict(
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


def case_query():  # noqa: ANN202 - a SQLAlchemy select
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
    query = case_query().where(models.Escalation.status.in_(QUEUE_STATUSES))
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
            case_dict(row, holder, claimer, pending, user)
            for row, holder, claimer, pending in session.execute(query)
        ]


def case_row(
    store: Store, case_id: int, user: Principal, check_access: bool = True, four_eyes: bool = False
) -> dict[str, Any]:
    """The case itself (404 if unknown, 403 if another specialist's and ``check_access``,
    unless they may review its pending application under ``four_eyes``)."""
    with store._session() as session:
        found = session.execute(case_query().where(models.Escalation.id == case_id)).first()
    if found is None:
        raise not_found("案件不存在")
    row, holder, claimer, pending = found
    if (
        check_access
        and not can_view(user, row.status, row.claimed_by)
        and not approvals.may_review(user, row.claimed_by, bool(pending), four_eyes)
    ):
        raise forbidden(f"该案件由{claimer or '其他专员'}处理，您不能查看或操作")
    return case_dict(row, holder, claimer, pending, user)


def _account(view: AccountView | None, on: date) -> dict[str, Any] | None:
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
        "can_note": user.is_supervisor or case["claimed_by"] == user.id,
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
        trail = case_trail(session, case)
        history = account_history(session, case["account_id"], case_id)
        notes = _notes(session, case_id)
    account = store.get_account(case["account_id"]) if case["account_id"] else None
    return {
        "case": case,
        "permissions": permissions,
        "account": _account(account, today()),
        "hardship": hardship,
        "offers": offers,
        "applications": [a for a in agreements if a["pending"]],
        "agreements": agreements,
        "transcript": transcript(store, conversation_id),
        "trail": trail,
        "history": history,
        "notes": notes,
        "canned": canned.rendered(account, user.display_name),
        "outcomes": [{"code": code, "label": OUTCOME_LABELS.get(code, code)} for code in OUTCOMES],
        "resume_steps": [{"step": step, "label": label} for step, label in RESUME_STEPS.items()],
    }


def _notes(session: Any, case_id: int) -> list[dict[str, Any]]:
    """The case's private notes, oldest first, with who wrote them."""
    rows = session.execute(
        select(models.CaseNote, models.Specialist.display_name)
        .join(models.Specialist, models.Specialist.id == models.CaseNote.specialist_id)
        .where(models.CaseNote.escalation_id == case_id)
        .order_by(models.CaseNote.id)
    ).all()
    return [
        {"id": note.id, "text": note.text, "author": name, "at": iso(note.created_at)}
        for note, name in rows
    ]


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
