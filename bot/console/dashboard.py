"""The numbers supervisors watch: cases by reason and outcome, waiting times, plans and money.

Grouping by day happens in Python over a bounded window, so the same code runs on SQLite and
PostgreSQL without dialect-specific date functions.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from statistics import median
from typing import Any

from sqlalchemy import func, select

from bot.clock import now_utc
from bot.console.casefile import aware
from bot.console.labels import OUTCOME_LABELS, reason_label
from bot.db import models
from bot.db.store import Store
from bot.handoff.availability import availability

WINDOW_DAYS = 30
MAX_ROWS = 20000


def _days(start: date, end: date) -> list[date]:
    return [start + timedelta(days=offset) for offset in range((end - start).days + 1)]


def statistics(store: Store) -> dict[str, Any]:
    now = now_utc()
    since = now - timedelta(days=WINDOW_DAYS)
    with store._session() as session:
        by_reason = dict(
            session.execute(
                select(models.Escalation.reason, func.count()).group_by(models.Escalation.reason)
            ).all()
        )
        by_outcome = dict(
            session.execute(
                select(models.Escalation.outcome, func.count())
                .where(models.Escalation.status == "closed")
                .group_by(models.Escalation.outcome)
            ).all()
        )
        by_status = dict(
            session.execute(
                select(models.Escalation.status, func.count()).group_by(models.Escalation.status)
            ).all()
        )
        claimed = session.execute(
            select(models.Escalation.created_at, models.Escalation.claimed_at)
            .where(models.Escalation.claimed_at.is_not(None), models.Escalation.created_at >= since)
            .limit(MAX_ROWS)
        ).all()
        waiting_now = session.execute(
            select(models.Escalation.created_at)
            .where(models.Escalation.status == "open")
            .limit(MAX_ROWS)
        ).scalars()
        waiting_now = [(now - aware(at)).total_seconds() / 60 for at in waiting_now]
        plans = session.execute(
            select(models.Agreement.created_at, models.Offer.total_payment)
            .join(models.Offer, models.Offer.id == models.Agreement.offer_id)
            .where(
                models.Agreement.status.in_(("agreed", "approved")),
                models.Agreement.created_at >= since,
            )
            .limit(MAX_ROWS)
        ).all()
        promises = session.execute(
            select(models.Promise.created_at, models.Promise.amount)
            .where(models.Promise.created_at >= since)
            .limit(MAX_ROWS)
        ).all()
        pending = session.execute(
            select(func.count())
            .select_from(models.Agreement)
            .where(models.Agreement.status == "pending_approval")
        ).scalar_one()

    waits = [
        (aware(claimed_at) - aware(created)).total_seconds() / 60 for created, claimed_at in claimed
    ]
    days = _days(since.date(), now.date())
    plans_per_day: Counter[date] = Counter()
    plan_amount: defaultdict[date, float] = defaultdict(float)
    for created, total in plans:
        plans_per_day[aware(created).date()] += 1
        plan_amount[aware(created).date()] += float(total)
    promised: defaultdict[date, float] = defaultdict(float)
    for created, amount in promises:
        promised[aware(created).date()] += float(amount)
    online = availability(store, at=now)
    return {
        "generated_at": now.isoformat(),
        "window_days": WINDOW_DAYS,
        "by_status": by_status,
        "by_reason": [
            {"reason": reason, "label": reason_label(reason), "count": count}
            for reason, count in sorted(by_reason.items(), key=lambda item: -item[1])
        ],
        "by_outcome": [
            {"outcome": outcome, "label": OUTCOME_LABELS.get(outcome or "", outcome), "count": n}
            for outcome, n in sorted(by_outcome.items(), key=lambda item: -item[1])
        ],
        "waiting": {
            "claimed_minutes": [round(w, 1) for w in waits],
            "median_minutes_to_claim": round(median(waits), 1) if waits else None,
            "open_now": len(waiting_now),
            "longest_open_minutes": round(max(waiting_now), 1) if waiting_now else None,
        },
        "pending_applications": pending,
        "specialists_online": online.specialists_online,
        "daily": [
            {
                "day": day.isoformat(),
                "plans": plans_per_day.get(day, 0),
                "plan_amount": round(plan_amount.get(day, 0.0), 2),
                "promised_amount": round(promised.get(day, 0.0), 2),
            }
            for day in days
        ],
    }
