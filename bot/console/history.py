"""The customer panel of a case: everything earlier about the account, for the specialist who
is about to talk to the cardholder (earlier cases, agreements, promises and whether they were
kept, payments, complaints). Only for a case whose identity is verified (it has an account)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from bot.clock import as_utc, iso, today
from bot.console.labels import AGREEMENT_LABELS, OUTCOME_LABELS, STATUS_LABELS, reason_label
from bot.db import models

ROWS_PER_KIND = 20  # the newest of each kind; the account's whole file is the bank's own system
COMPLAINT_EXCERPT = 80
PROMISE_LABELS = {"kept": "已兑现", "broken": "未兑现", "due": "待到期"}


def account_history(session: Any, account_id: str | None, case_id: int) -> dict[str, Any] | None:
    if not account_id:
        return None
    return {
        "cases": _cases(session, account_id, case_id),
        "agreements": _agreements(session, account_id),
        "promises": _promises(session, account_id),
        "payments": _payments(session, account_id),
        "complaints": _complaints(session, account_id),
    }


def _cases(session: Any, account_id: str, case_id: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(models.Escalation)
        .where(models.Escalation.account_id == account_id, models.Escalation.id != case_id)
        .order_by(models.Escalation.id.desc())
        .limit(ROWS_PER_KIND)
    ).scalars()
    return [
        {
            "id": row.id,
            "reason_label": reason_label(row.reason),
            "status_label": STATUS_LABELS.get(row.status, row.status),
            "outcome_label": OUTCOME_LABELS.get(row.outcome or "", row.outcome),
            "created_at": iso(row.created_at),
        }
        for row in rows
    ]


def _agreements(session: Any, account_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(models.Agreement, models.Offer)
        .join(models.Offer, models.Offer.id == models.Agreement.offer_id)
        .where(models.Agreement.account_id == account_id)
        .order_by(models.Agreement.id.desc())
        .limit(ROWS_PER_KIND)
    ).all()
    return [
        {
            "reference": agreement.reference,
            "status_label": AGREEMENT_LABELS.get(agreement.status, agreement.status),
            "type": offer.type,
            "months": offer.months,
            "monthly_payment": float(offer.monthly_payment),
            "created_at": iso(agreement.created_at),
        }
        for agreement, offer in rows
    ]


def _promises(session: Any, account_id: str) -> list[dict[str, Any]]:
    """Each promise with whether it was kept: the payments from when it was made to its due
    date add up to its amount (``due`` while that date has not passed)."""
    rows = session.execute(
        select(models.Promise)
        .where(models.Promise.account_id == account_id)
        .order_by(models.Promise.id.desc())
        .limit(ROWS_PER_KIND)
    ).scalars()
    result = []
    for row in rows:
        made = as_utc(row.created_at)
        paid = session.execute(
            select(func.coalesce(func.sum(models.Payment.amount), 0)).where(
                models.Payment.account_id == account_id,
                models.Payment.paid_at >= made,
                models.Payment.paid_at < _day_after(row.due_date),
            )
        ).scalar_one()
        if Decimal(str(paid)) >= row.amount:
            state = "kept"
        else:
            state = "due" if row.due_date >= today() else "broken"
        result.append(
            {
                "reference": row.reference,
                "amount": float(row.amount),
                "due_date": row.due_date.isoformat(),
                "paid": float(paid),
                "state": state,
                "state_label": PROMISE_LABELS[state],
                "created_at": iso(row.created_at),
            }
        )
    return result


def _day_after(due: date) -> datetime:
    """The end of the due date (UTC, as payments are stored)."""
    return datetime.combine(due + timedelta(days=1), time.min, tzinfo=timezone.utc)


def _payments(session: Any, account_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(models.Payment)
        .where(models.Payment.account_id == account_id)
        .order_by(models.Payment.paid_at.desc())
        .limit(ROWS_PER_KIND)
    ).scalars()
    return [
        {"amount": float(row.amount), "paid_at": iso(row.paid_at), "channel": row.channel}
        for row in rows
    ]


def _complaints(session: Any, account_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(models.Complaint)
        .where(models.Complaint.account_id == account_id)
        .order_by(models.Complaint.id.desc())
        .limit(ROWS_PER_KIND)
    ).scalars()
    return [
        {
            "reference": row.reference,
            "status": row.status,
            "excerpt": row.text[:COMPLAINT_EXCERPT],
            "created_at": iso(row.created_at),
        }
        for row in rows
    ]
