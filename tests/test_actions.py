"""The custom actions called as the Rasa server calls them, against a real database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa_sdk.executor import CollectingDispatcher

import actions.common
from actions.account import ActionCheckPayment, ActionShowBalance
from actions.hardship import ValidateHardshipForm
from actions.identity import ActionStartGoal, ValidateIdentityForm
from actions.plans import ActionConfirmPlan, ActionProposePlans, ActionSummarizePlan
from actions.promises import ActionRecordPromise, ValidatePromiseForm
from actions.support import (
    ActionAnswer,
    ActionCrisisSupport,
    ActionHandleComplaint,
    ActionMisunderstood,
)
from bot.db import models
from bot.db.store import Store
from bot.identity.sessions import KNOWLEDGE_CHECK, VerifiedSessions
from tests.support import DOMAIN, make_tracker, responses, slot_events

VERIFIED = {"verified": True, "account_id": "CC-0001"}
HARDSHIP = {
    "hardship_reason": "unemployment",
    "monthly_income": 4500.0,
    "monthly_expenses": 3000.0,
    "other_debt_payments": 500.0,
    "dependents": 1,
    "recovery_months": 6,
}


ANONYMOUS = "anonymous-conversation"


@pytest.fixture(autouse=True)
def actions_use(store: Store, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """Point the actions at the test database (the fixture's store is seeded); the default
    conversation is verified for CC-0001 on the server, as the identity form would leave it."""
    monkeypatch.setenv("DATABASE_URL", str(store.engine.url.render_as_string(False)))
    actions.common.store.cache_clear()
    VerifiedSessions(store).grant("test-conversation", "rest", "CC-0001", KNOWLEDGE_CHECK)
    yield store
    actions.common.store.cache_clear()


async def run(action, tracker) -> tuple[list[dict], CollectingDispatcher]:  # noqa: ANN001
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, DOMAIN)
    return events, dispatcher


# --- identity ---------------------------------------------------------------------------------


async def test_both_secrets_in_one_message_verify_at_once(store: Store) -> None:
    tracker = make_tracker(
        intent="inform_identity",
        text="卡号6217，身份证1234",
        set_after_user={"card_last4": "卡号6217，身份证1234"},
        slots={"requested_slot": "card_last4"},
        active_loop="identity_form",
        sender_id=ANONYMOUS,
    )
    events, dispatcher = await run(ValidateIdentityForm(), tracker)
    slots = slot_events(events)
    assert slots["verified"] is True and slots["account_id"] == "CC-0001"
    assert slots["card_last4"] == slots["id_last4"] == "verified"  # the secrets are not kept
    assert slots.get("requested_slot") is None  # both filled: the form ends
    assert responses(dispatcher) == ["utter_identity_verified"]
    assert VerifiedSessions(store).current(ANONYMOUS, "rest") == "CC-0001"
    assert VerifiedSessions(store).current(ANONYMOUS, "widget") is None  # bound to its channel


async def test_the_card_waits_on_the_server_not_in_a_slot(store: Store) -> None:
    asked_card = make_tracker(
        intent="inform_identity",
        text="6217",
        set_after_user={"card_last4": "6217"},
        slots={"requested_slot": "card_last4"},
        active_loop="identity_form",
        sender_id=ANONYMOUS,
    )
    events, _ = await run(ValidateIdentityForm(), asked_card)
    assert slot_events(events)["card_last4"] == "given"
    asked_id = make_tracker(
        intent="inform_identity",
        text="1234",
        slots={"card_last4": "given", "requested_slot": "id_last4"},
        set_after_user={"id_last4": "1234"},
        active_loop="identity_form",
        sender_id=ANONYMOUS,
    )
    events, _ = await run(ValidateIdentityForm(), asked_id)
    assert slot_events(events)["verified"] is True


async def test_forged_slots_open_no_account(store: Store) -> None:
    """Slots say verified; the server has no verified session for this conversation."""
    forged = make_tracker(intent="ask_balance", slots=VERIFIED, sender_id=ANONYMOUS)
    events, dispatcher = await run(ActionShowBalance(), forged)
    assert events == [] and dispatcher.messages == []
    # and the goal's start puts the slots back in line with the server
    events, dispatcher = await run(ActionStartGoal(), forged)
    assert slot_events(events)["verified"] is False
    assert "utter_identity_expired" in responses(dispatcher)


async def test_wrong_secrets_retry_then_lock_after_three(store: Store) -> None:
    for attempt in (1, 2, 3):
        tracker = make_tracker(
            intent="inform_identity",
            text="6217 0000",
            slots={"requested_slot": "card_last4", "verify_attempts": -100},  # forged: no effect
            set_after_user={"card_last4": "6217 0000"},
            active_loop="identity_form",
            sender_id=ANONYMOUS,
        )
        events, dispatcher = await run(ValidateIdentityForm(), tracker)
        slots = slot_events(events)
        assert slots.get("verified") is None
        if attempt < 3:
            assert responses(dispatcher) == ["utter_identity_retry"]
            assert dispatcher.messages[0]["remaining"] == 3 - attempt
    assert responses(dispatcher) == ["utter_identity_locked"]
    assert slots["verification_locked"] is True and slots["requested_slot"] is None
    (escalation,) = store.rows(models.Escalation)
    assert escalation.reason == "identity_failed" and escalation.channel == "rest"
    assert store.count(models.IdentityAttempt, conversation_id=ANONYMOUS, succeeded=False) == 3


async def test_nothing_about_the_account_before_verification() -> None:
    unverified = make_tracker(intent="ask_balance", sender_id=ANONYMOUS)
    events, dispatcher = await run(ActionShowBalance(), unverified)
    assert events == [] and dispatcher.messages == []
    anonymous = make_tracker(intent="ask_consequences", sender_id=ANONYMOUS)
    _, dispatcher = await run(ActionAnswer(), anonymous)
    assert responses(dispatcher) == ["utter_answer_consequences"]  # general only


async def test_balance_and_personal_consequences_after_verification() -> None:
    _, dispatcher = await run(ActionShowBalance(), make_tracker(slots=VERIFIED))
    balance = dispatcher.messages[0]
    assert balance["response"] == "utter_balance"
    assert balance["total_due"] == "37,135.50" and balance["overdue_days"] == 47
    personal = dispatcher.messages[1]
    assert personal["report_code"] == "2"
    assert dispatcher.messages[2]["response"] == "utter_overdraft_not_applicable"  # 35,000 < 50,000


async def test_start_goal_remembers_the_goal_and_says_why_identity_is_needed() -> None:
    tracker = make_tracker(intent="request_waiver", sender_id=ANONYMOUS)
    events, dispatcher = await run(ActionStartGoal(), tracker)
    assert slot_events(events) == {
        "pending_goal": "plans",
        "verified": False,
        "account_id": None,
        "negotiating": False,  # a plain request: plans as the engine ranks them
        "counter_monthly": None,
    }
    assert responses(dispatcher) == ["utter_identity_intro"]


# --- hardship form ------------------------------------------------------------------------------


async def test_hardship_answers_are_read_and_nonsense_is_reasked() -> None:
    form = ValidateHardshipForm()
    good = make_tracker(
        slots={**VERIFIED, "requested_slot": "monthly_income"},
        intent="inform_income",
        text="一个月四千五",
        set_after_user={"monthly_income": "一个月四千五"},
        active_loop="hardship_form",
    )
    events, _ = await run(form, good)
    assert slot_events(events)["monthly_income"] == 4500.0
    bad = make_tracker(
        slots={**VERIFIED, "requested_slot": "monthly_income"},
        intent="inform_income",
        text="不告诉你",
        set_after_user={"monthly_income": "不告诉你"},
        active_loop="hardship_form",
    )
    events, dispatcher = await run(form, bad)
    assert slot_events(events)["monthly_income"] is None
    assert responses(dispatcher) == ["utter_invalid_amount"]


async def test_an_earlier_answer_can_be_corrected() -> None:
    tracker = make_tracker(
        slots={**VERIFIED, "monthly_income": 4500.0, "requested_slot": "monthly_expenses"},
        intent="correct_info",
        text="刚才收入说错了，应该是六千",
        active_loop="hardship_form",
    )
    events, dispatcher = await run(ValidateHardshipForm(), tracker)
    slots = slot_events(events)
    assert slots["monthly_income"] == 6000.0
    assert "monthly_expenses" not in slots or slots["monthly_expenses"] is None
    assert responses(dispatcher) == ["utter_correction_applied"]


# --- plans ---------------------------------------------------------------------------------------


async def test_plans_are_proposed_chosen_and_confirmed_with_a_reference(store: Store) -> None:
    events, dispatcher = await run(
        ActionProposePlans(), make_tracker(slots={**VERIFIED, **HARDSHIP})
    )
    slots = slot_events(events)
    batch = slots["offer_batch"]
    options = [m for m in dispatcher.messages if m.get("response") == "utter_plan_option"]
    assert 2 <= len(options) <= 4
    buttons = dispatcher.messages[-1]["buttons"]
    assert [b["payload"] for b in buttons][0] == '/choose_plan{"plan_choice": "1"}'
    assert store.count(models.Offer, batch=batch) == len(options)
    assert store.count(models.HardshipStatement) == 1

    chosen = {**VERIFIED, "offer_batch": batch, "plan_choice": "1"}
    events, dispatcher = await run(ActionSummarizePlan(), make_tracker(slots=chosen))
    assert responses(dispatcher)[0] == "utter_plan_summary"
    first = store.offers_in_batch("test-conversation", batch)[0]
    _, dispatcher = await run(ActionConfirmPlan(), make_tracker(slots=chosen))
    (agreement,) = store.rows(models.Agreement)
    message = dispatcher.messages[0]
    assert message["reference"] == agreement.reference
    if first.requires_approval:
        assert agreement.status == "pending_approval"
        assert message["response"] == "utter_application_submitted"
        assert store.rows(models.Escalation)[0].reason == "plan_approval"
    else:
        assert agreement.status == "agreed"
        assert message["response"] == "utter_plan_confirmed"


async def test_traditional_cardholders_get_traditional_plan_buttons() -> None:
    slots = {**VERIFIED, **HARDSHIP, "script": "traditional"}
    _, dispatcher = await run(ActionProposePlans(), make_tracker(slots=slots))
    titles = [b["title"] for b in dispatcher.messages[-1]["buttons"]]
    assert all(title.startswith("方案") for title in titles)
    assert all("元" in title and ("期" in title or "一次性" in title) for title in titles)


async def test_income_below_expenses_escalates_instead_of_offering(store: Store) -> None:
    poor = {**HARDSHIP, "monthly_income": 1000.0, "monthly_expenses": 3000.0}
    _, dispatcher = await run(ActionProposePlans(), make_tracker(slots={**VERIFIED, **poor}))
    assert "utter_plans_escalated" in responses(dispatcher)
    assert store.rows(models.Escalation)[0].reason == "no_plan_fits"


# --- promise, payment, emotions ----------------------------------------------------------------


async def test_promise_is_validated_and_recorded(store: Store) -> None:
    form = ValidatePromiseForm()
    tracker = make_tracker(
        slots={**VERIFIED, "requested_slot": "promise_date"},
        intent="promise_to_pay",
        text="下周五",
        set_after_user={"promise_amount": 3000, "promise_date": "下周五"},
        active_loop="promise_form",
    )
    events, _ = await run(form, tracker)
    slots = slot_events(events)
    assert slots["promise_amount"] == 3000.0 and slots["promise_date"] == "2026-11-27"
    past = make_tracker(
        slots={**VERIFIED, "requested_slot": "promise_date"},
        set_after_user={"promise_date": "2020-01-01"},
        active_loop="promise_form",
    )
    events, dispatcher = await run(form, past)
    assert slot_events(events)["promise_date"] is None
    assert responses(dispatcher) == ["utter_invalid_date"]

    done = {**VERIFIED, "promise_amount": 3000.0, "promise_date": "2026-11-27"}
    _, dispatcher = await run(ActionRecordPromise(), make_tracker(slots=done))
    (promise,) = store.rows(models.Promise)
    assert dispatcher.messages[0]["reference"] == promise.reference
    assert str(promise.due_date) == "2026-11-27"


async def test_already_paid_without_a_payment_is_recorded_for_follow_up(store: Store) -> None:
    _, dispatcher = await run(ActionCheckPayment(), make_tracker(slots=VERIFIED))
    assert responses(dispatcher) == ["utter_payment_not_found"]
    assert store.rows(models.Escalation)[0].reason == "payment_not_found"


async def test_distress_gives_the_hotline_and_an_urgent_case(store: Store) -> None:
    events, dispatcher = await run(
        ActionCrisisSupport(), make_tracker(intent="express_distress", active_loop="hardship_form")
    )
    assert responses(dispatcher) == ["utter_crisis_support"]
    assert any(e["event"] == "active_loop" and e["name"] is None for e in events)
    (case,) = store.rows(models.Escalation)
    assert case.reason == "distress" and case.priority == 0


async def test_distress_reply_goes_out_even_with_the_database_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    actions.common.store.cache_clear()
    _, dispatcher = await run(ActionCrisisSupport(), make_tracker(intent="express_distress"))
    assert responses(dispatcher) == ["utter_crisis_support"]
    _, dispatcher = await run(ActionShowBalance(), make_tracker(slots=VERIFIED))
    assert responses(dispatcher) == ["utter_technical_problem"]


async def test_complaint_is_recorded_and_escalated(store: Store) -> None:
    tracker = make_tracker(intent="complain", text="你们催收天天打我单位电话，我要投诉")
    _, dispatcher = await run(ActionHandleComplaint(), tracker)
    assert responses(dispatcher) == ["utter_anger_ack", "utter_complaint_recorded"]
    (complaint,) = store.rows(models.Complaint)
    assert "投诉" in complaint.text
    assert store.rows(models.Escalation)[0].reason == "complaint"


async def test_two_misunderstandings_in_a_row_hand_off(store: Store) -> None:
    fallback = {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}}
    once = make_tracker(intent="nlu_fallback", earlier_events=[])
    once.events[-1]["parse_data"]["intent"]["name"] = "nlu_fallback"
    _, dispatcher = await run(ActionMisunderstood(), once)
    assert responses(dispatcher) == ["utter_misunderstood"]
    twice = make_tracker(intent="nlu_fallback", earlier_events=[fallback])
    events, dispatcher = await run(ActionMisunderstood(), twice)
    # nobody is logged in to the console here: the cardholder is told when to expect contact
    assert responses(dispatcher) == ["utter_handoff_unavailable"]
    assert {"event": "followup", "name": "leave_message_form"} in [
        {k: e.get(k) for k in ("event", "name")} for e in events
    ]
    assert store.rows(models.Escalation)[0].reason == "misunderstood"


# --- the dialogue's fallback: a clarification, never the technical-problem text ----------------


async def test_the_dialogue_fallback_asks_again_where_the_conversation_is(store: Store) -> None:
    from actions.support import ActionDefaultFallback

    in_form = make_tracker(
        intent="affirm",
        text="嗯",
        slots={**VERIFIED, "requested_slot": "monthly_income"},
        active_loop="hardship_form",
    )
    _, dispatcher = await run(ActionDefaultFallback(), in_form)
    assert responses(dispatcher) == ["utter_clarify_step", "utter_ask_monthly_income"]
    at_choice = make_tracker(intent="affirm", text="好的", slots={**VERIFIED, "offer_batch": "b1"})
    _, dispatcher = await run(ActionDefaultFallback(), at_choice)
    assert responses(dispatcher) == ["utter_clarify_plan_choice"]
    confirming = make_tracker(
        intent="affirm", text="嗯嗯", slots={**VERIFIED, "offer_batch": "b1", "selected_offer": 3}
    )
    _, dispatcher = await run(ActionDefaultFallback(), confirming)
    assert responses(dispatcher) == ["utter_clarify_confirm"]
    assert store.count(models.Escalation) == 0


async def test_two_fallbacks_in_a_row_go_to_a_person(store: Store) -> None:
    from actions.support import ActionDefaultFallback

    earlier = [
        {"event": "user", "text": "啊", "parse_data": {"intent": {"name": "affirm"}}},
        {"event": "action", "name": "action_default_fallback"},
        {"event": "bot", "text": "抱歉，我没太理解您的意思。"},
        {"event": "action", "name": "action_listen"},
    ]
    tracker = make_tracker(intent="affirm", text="哦", earlier_events=earlier, slots=VERIFIED)
    _, dispatcher = await run(ActionDefaultFallback(), tracker)
    assert "utter_technical_problem" not in responses(dispatcher)
    (case,) = store.rows(models.Escalation)
    assert case.reason == "misunderstood" and case.channel == "rest"


# --- state awareness, affordability, crisis mode (issue 15) -----------------------------------


async def test_an_old_button_after_the_deal_makes_no_second_one(store: Store) -> None:
    events, _ = await run(ActionProposePlans(), make_tracker(slots={**VERIFIED, **HARDSHIP}))
    chosen = {**VERIFIED, "offer_batch": slot_events(events)["offer_batch"], "plan_choice": "1"}
    await run(ActionConfirmPlan(), make_tracker(slots=chosen))
    (agreement,) = store.rows(models.Agreement)
    for action in (ActionSummarizePlan(), ActionConfirmPlan(), ActionProposePlans()):
        slots = {**chosen, "plan_choice": "2", **HARDSHIP}
        _, dispatcher = await run(action, make_tracker(slots=slots))
        assert responses(dispatcher) == ["utter_existing_arrangement"]
        assert dispatcher.messages[0]["reference"] == agreement.reference
    assert store.count(models.Agreement) == 1 and store.count(models.HardshipStatement) == 1


async def test_a_choice_above_what_one_can_pay_is_named_before_confirming(store: Store) -> None:
    events, dispatcher = await run(
        ActionProposePlans(), make_tracker(slots={**VERIFIED, **HARDSHIP})
    )
    batch = slot_events(events)["offer_batch"]
    offers = store.offers_in_batch("test-conversation", batch)
    too_much = [o for o in offers if o.detail.get("affordable") is False]
    for offer in too_much:
        chosen = {**VERIFIED, "offer_batch": batch, "plan_choice": str(offer.rank)}
        _, dispatcher = await run(ActionSummarizePlan(), make_tracker(slots=chosen))
        assert {"utter_plan_above_affordable", "utter_plan_above_affordable_none"} & set(
            responses(dispatcher)
        )
    fitting = next(o for o in offers if o.detail.get("affordable"))
    chosen = {**VERIFIED, "offer_batch": batch, "plan_choice": str(fitting.rank)}
    _, dispatcher = await run(ActionSummarizePlan(), make_tracker(slots=chosen))
    assert "utter_plan_above_affordable" not in responses(dispatcher)


def test_buttons_show_the_real_number_of_payments() -> None:
    from actions.plans import button_title

    lump = {"monthly_payment": 36698.0, "months": 1, "total_payment": 36698.0, "schedule": [{}]}
    assert button_title(1, lump) == "方案1：一次性还 36,698.00元"
    twelve = {
        "monthly_payment": 1000.0,
        "months": 15,
        "total_payment": 12000,
        "schedule": [{}] * 12,
    }
    assert button_title(2, twelve) == "方案2：1,000.00元 × 12期"


async def test_after_distress_no_money_talk_until_a_person_takes_over(store: Store) -> None:
    await run(ActionCrisisSupport(), make_tracker(intent="express_distress", slots=VERIFIED))
    quiet = [
        (ActionShowBalance(), {}),
        (ActionProposePlans(), HARDSHIP),
        (ActionRecordPromise(), {"promise_amount": 500.0, "promise_date": "2026-12-10"}),
    ]
    for action, extra in quiet:
        _, dispatcher = await run(action, make_tracker(slots={**VERIFIED, **extra}))
        assert responses(dispatcher) == ["utter_crisis_followup"], action.name()
    from actions.support import ActionDefaultFallback

    _, dispatcher = await run(ActionDefaultFallback(), make_tracker(intent="affirm", text="嗯"))
    assert responses(dispatcher) == ["utter_crisis_followup"]
    assert store.count(models.Promise) == 0 and store.count(models.Offer) == 0
    # once a specialist has taken the conversation over, the bot may talk about money again
    (case,) = store.rows(models.Escalation)
    from bot.handoff.cases import Cases

    assert Cases(store).claim(case.id, add_specialist(store), "王专员")
    _, dispatcher = await run(ActionShowBalance(), make_tracker(slots=VERIFIED))
    assert responses(dispatcher)[0] == "utter_balance"


async def test_a_second_complaint_is_added_to_the_first(store: Store) -> None:
    for text in ("我要投诉", "我要投诉你们", "昨晚11点还打电话催我"):
        _, dispatcher = await run(
            ActionHandleComplaint(), make_tracker(intent="complain", text=text)
        )
    (complaint,) = store.rows(models.Complaint)
    assert "昨晚11点" in complaint.text and "utter_complaint_added" in responses(dispatcher)
    assert len([r for r in store.rows(models.Escalation)]) == 1


def add_specialist(store: Store) -> int:
    with store.session() as session, session.begin():
        row = models.Specialist(
            username="wang", display_name="王专员", role="specialist", password_hash="x"
        )
        session.add(row)
        session.flush()
        return row.id


@pytest.mark.parametrize(
    ("text", "amount", "expected", "kept"),
    [
        ("大概10号发工资", 10, "utter_promise_amount_is_a_day", False),
        ("那后天还10万", 100000, "utter_promise_above_balance", False),  # 37,135.50 owed
        ("先还500", 500, "utter_promise_below_minimum", True),  # minimum 4,400.00
        ("还5000", 5000, None, True),
    ],
)
async def test_a_promise_amount_is_checked_back(
    text: str, amount: float, expected: str | None, kept: bool
) -> None:
    tracker = make_tracker(
        slots={**VERIFIED, "requested_slot": "promise_amount"},
        intent="promise_to_pay",
        text=text,
        set_after_user={"promise_amount": amount},
        active_loop="promise_form",
    )
    events, dispatcher = await run(ValidatePromiseForm(), tracker)
    assert (slot_events(events)["promise_amount"] is not None) is kept
    assert responses(dispatcher) == ([expected] if expected else [])
