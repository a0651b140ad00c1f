"""The case queue, the outbox and availability against real SQLite and PostgreSQL databases."""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest

from bot.clock import now_utc
from bot.db import models
from bot.db.store import Store
from bot.handoff.availability import availability, describe_next_contact, load_hours
from bot.handoff.cases import CaseError, Cases
from bot.handoff.outbox import Outbox
from bot.handoff.rules import RuleError, load_rules, matching_rules


def add_specialist(store: Store, name: str, seen: datetime | None = None) -> int:
    with store._session() as session, session.begin():
        row = models.Specialist(
            username=name, display_name=name, password_hash="x", last_seen_at=seen
        )
        session.add(row)
        session.flush()
        return row.id


def claim_at_once(
    cases: Cases, case_id: int, specialist: int, barrier: threading.Barrier, results: dict
) -> None:
    barrier.wait()
    results[specialist] = cases.claim(case_id, specialist, f"专员{specialist}")


def test_queue_is_most_urgent_first_then_longest_waiting(store: Store) -> None:
    store.escalate("a", "misunderstood", 2, channel="rest")
    store.escalate("b", "request_human", 1, channel="rest")
    store.escalate("c", "distress", 0, channel="telegram")
    store.escalate("d", "complaint", 1, channel="rest")
    assert [case.conversation_id for case in Cases(store).queue()] == ["c", "b", "d", "a"]


def test_two_specialists_claiming_at_the_same_moment_exactly_one_wins(store: Store) -> None:
    cases = Cases(store)
    first, second = add_specialist(store, "s1"), add_specialist(store, "s2")
    for round_ in range(10):
        case_id = store.escalate(f"race-{round_}", "request_human", 1, channel="rest").id
        barrier = threading.Barrier(2)
        results: dict[int, bool] = {}
        threads = [
            threading.Thread(target=claim_at_once, args=(cases, case_id, s, barrier, results))
            for s in (first, second)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(results.values()) == [False, True], results
        winner = next(s for s, won in results.items() if won)
        assert cases.get(case_id).claimed_by == winner
        joined = Outbox(store).pending("rest", f"race-{round_}")
        assert len(joined) == 1 and joined[0].payload["event"] == "specialist_joined"


def test_a_held_conversation_reply_hand_back_and_close(store: Store) -> None:
    cases, outbox = Cases(store), Outbox(store)
    specialist, other = add_specialist(store, "s1"), add_specialist(store, "s2")
    case_id = store.escalate("held", "request_human", 1, "CC-0001", channel="rest").id
    assert cases.held_case("held") is None
    assert cases.claim(case_id, specialist, "王专员")
    held = cases.held_case("held")
    assert held is not None and held.id == case_id
    cases.record_held_message(held, "我想先还一半")
    assert [text for _, text in cases.held_messages(case_id)] == ["我想先还一半"]

    with pytest.raises(CaseError):
        cases.reply(case_id, other, "not my case")
    with pytest.raises(CaseError):
        cases.reply(case_id, specialist, "   ")
    cases.reply(case_id, specialist, "您好，我来帮您看看")
    taken = outbox.take("rest", "held")
    assert [m.author for m in taken] == ["system", "specialist"]
    assert "王专员" in taken[0].text and taken[1].text == "您好，我来帮您看看"
    assert outbox.take("rest", "held") == []  # delivered exactly once

    returned = cases.hand_back(case_id, specialist, step="propose_plans")
    assert returned.status == "returned" and cases.held_case("held") is None
    assert [(c.id, step) for c, step in cases.pending_resumes()] == [(case_id, "propose_plans")]
    cases.mark_resumed(case_id)
    assert cases.pending_resumes() == []
    other_case = store.escalate("plain", "request_human", 1, channel="rest").id
    assert cases.claim(other_case, specialist, "王专员")
    cases.hand_back(other_case, specialist)
    assert [(c.id, step) for c, step in cases.pending_resumes()] == [(other_case, None)]
    assert "智能助手" in outbox.take("rest", "held")[0].text

    with pytest.raises(CaseError):
        cases.close(case_id, specialist, "made_up_outcome")
    for outcome, missing in (
        ("plan_agreed", "尚无已达成或已批准的还款方案"),
        ("promise_to_pay", "尚未记录还款承诺"),
        ("complaint_logged", "尚未登记投诉"),
        ("dispute_opened", "不是债务异议"),
    ):  # an outcome that says something was recorded needs the record
        with pytest.raises(CaseError, match=missing):
            cases.close(case_id, specialist, outcome)
    store.record_promise("held", "CC-0001", Decimal("500.00"), date(2026, 11, 30))
    cases.close(case_id, specialist, "promise_to_pay")
    closed = cases.get(case_id)
    assert closed.status == "closed" and closed.outcome == "promise_to_pay"
    events = [row.event for row in store.rows(models.AuditEvent, conversation_id="held")]
    for event in ("case_claimed", "specialist_replied", "case_handed_back", "case_closed"):
        assert event in events


def test_an_application_decision_reaches_the_cardholder(store: Store) -> None:
    cases = Cases(store)
    specialist = add_specialist(store, "s1")
    proposal = {
        "options": [
            {"id": "pers-60", "type": "personalized_installment", "months": 60,
             "monthly_payment": 618.93, "total_payment": 37135.5, "total_cost": 0,
             "apr": 0, "requires_approval": True, "affordable": True}
        ]
    }  # fmt: skip
    batch = store.save_offers("app", "CC-0001", None, proposal)
    (offer,) = store.offers_in_batch("app", batch)
    reference = store.create_agreement("app", "CC-0001", offer).reference
    store.escalate("app", "plan_approval", 2, "CC-0001", channel="telegram")
    assert cases.decide_application(reference, specialist, approve=False, note="收入证明不足") == (
        "rejected"
    )
    (message,) = Outbox(store).pending("telegram", "app")
    assert reference in message.text and "收入证明不足" in message.text
    with pytest.raises(CaseError):
        cases.decide_application(reference, specialist, approve=True)


def test_availability_follows_working_hours_and_who_is_online(store: Store) -> None:
    hours = load_hours()
    monday_10 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai
    sunday_10 = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)
    assert not availability(store, hours, monday_10).available  # nobody online
    add_specialist(store, "s1", seen=monday_10)
    assert availability(store, hours, monday_10).available
    closed = availability(store, hours, sunday_10)
    assert not closed.available and not closed.within_hours
    assert describe_next_contact(closed, hours) == "11月23日（周一）09:00 以后"
    assert availability(store, hours, now_utc()).specialists_online in (0, 1)


def test_money_and_outbox_survive_round_trips(store: Store) -> None:
    outbox = Outbox(store)
    sent = outbox.post("x", "rest", "system", "提醒：明天是还款日", amount=Decimal("1.5").__str__())
    assert outbox.mark_delivered([sent.id]) == 1
    assert outbox.mark_delivered([sent.id]) == 0


def test_bank_rules_escalate_matching_accounts(store: Store, tmp_path) -> None:  # noqa: ANN001
    on = date(2026, 11, 22)
    rules = load_rules()  # the shipped policy/handoff.yml
    assert {rule.name for rule in rules} == {"long_overdue", "large_balance"}
    old = store.get_account("CC-0003")  # 202 days overdue, 144,600 due
    recent = store.get_account("CC-0004")  # 4 days overdue, 2,503.75 due
    assert {r.name for r in matching_rules(old, on, rules)} == {"long_overdue", "large_balance"}
    assert matching_rules(recent, on, rules) == []

    bad = tmp_path / "handoff.yml"
    bad.write_text("escalation_rules:\n  - name: x\n    when: {min_age: 3}\n", encoding="utf-8")
    with pytest.raises(RuleError, match="unknown condition 'min_age'"):
        load_rules(bad)


async def test_verification_opens_the_cases_the_bank_rules_ask_for(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasa_sdk.executor import CollectingDispatcher

    import actions.common
    from actions.identity import ValidateIdentityForm
    from tests.support import DOMAIN, make_tracker

    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string(False))
    actions.common.store.cache_clear()
    tracker = make_tracker(
        intent="inform_identity",
        text="4410 9021",
        set_after_user={"card_last4": "4410 9021"},
        slots={"requested_slot": "card_last4"},
        active_loop="identity_form",
    )
    await ValidateIdentityForm().run(CollectingDispatcher(), tracker, DOMAIN)
    actions.common.store.cache_clear()
    (case,) = store.rows(models.Escalation, conversation_id="test-conversation")
    assert case.reason in {"rule:long_overdue", "rule:large_balance"} and case.priority == 1
    assert case.account_id == "CC-0003"
