"""The persistence layer against real SQLite and PostgreSQL databases."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from bot.db import models
from bot.db.seed import seed
from bot.db.store import Store


def test_seed_is_idempotent_and_matches_the_demo_file(store: Store) -> None:
    seed(store)
    assert store.count(models.Account) == 5
    account = store.get_account("CC-0001")
    assert account is not None
    assert account.holder_name == "张伟"
    assert account.total_due == Decimal("37135.50")
    assert account.overdue_days(date(2026, 11, 20)) == 45
    assert account.overdue_days(date(2026, 11, 22)) == 47


def test_offers_agreements_and_applications(store: Store) -> None:
    proposal = {
        "affordable_monthly": 700.0,
        "escalate": False,
        "options": [
            {
                "id": "inst-12",
                "type": "installment",
                "months": 12,
                "monthly_payment": 3317.44,
                "total_payment": 39809.28,
                "total_cost": 2673.78,
                "apr": 0.1303,
                "requires_approval": False,
                "affordable": False,
                "first_due_date": "2026-12-22",
            },
            {
                "id": "pers-60",
                "type": "personalized_installment",
                "months": 60,
                "monthly_payment": 618.93,
                "total_payment": 37135.5,
                "total_cost": 0.0,
                "apr": 0.0,
                "requires_approval": True,
                "affordable": True,
                "first_due_date": "2026-12-22",
            },
        ],
    }
    batch = store.save_offers("c2", "CC-0001", None, proposal)
    offers = store.offers_in_batch("c2", batch)
    assert [o.rank for o in offers] == [1, 2]
    assert offers[0].monthly_payment == Decimal("3317.44")
    agreed = store.create_agreement("c2", "CC-0001", offers[0])
    applied = store.create_agreement("c2", "CC-0001", offers[1])
    assert agreed.status == "agreed" and agreed.reference.startswith("AG-")
    assert applied.status == "pending_approval" and applied.reference.startswith("AP-")
    assert agreed.reference != applied.reference
    rows = store.rows(models.Agreement, conversation_id="c2")
    assert {row.status for row in rows} == {"agreed", "pending_approval"}


def test_escalations_merge_and_keep_the_most_urgent_reason(store: Store) -> None:
    first = store.escalate("c3", "misunderstood", 2)
    second = store.escalate("c3", "distress", 0, "CC-0003")
    assert first.id == second.id
    (row,) = store.rows(models.Escalation, conversation_id="c3")
    assert row.priority == 0 and row.reason == "distress"
    assert row.account_id == "CC-0003"
    assert row.detail["other_reasons"] == ["distress"]


def test_promises_complaints_contact_requests_and_payments(store: Store) -> None:
    promise = store.record_promise("c4", "CC-0004", Decimal("250.00"), date(2026, 11, 27))
    complaint = store.record_complaint("c4", None, "催收电话太多了")
    store.record_contact_request("c4", "CC-0004", "周六上午")
    assert promise.reference.startswith("PP-") and complaint.reference.startswith("CP-")
    (saved,) = store.rows(models.Promise, conversation_id="c4")
    assert saved.amount == Decimal("250.00") and saved.due_date == date(2026, 11, 27)
    paid_at = datetime(2026, 11, 21, 9, 30, tzinfo=timezone.utc)
    store.record_payment("CC-0004", Decimal("250"), paid_at)
    found = store.payments_since("CC-0004", datetime(2026, 11, 1, tzinfo=timezone.utc))
    assert [amount for amount, _ in found] == [Decimal("250.00")]
    events = {row.event for row in store.rows(models.AuditEvent, conversation_id="c4")}
    assert {"promise_recorded", "complaint_recorded", "contact_time_recorded"} <= events
