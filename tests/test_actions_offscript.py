"""Cardholders off the script (issue 15), at the level of the actions, against a real database:
plans chosen in words, a "好的" that names no plan, negotiation down to what one can pay,
corrections after the plans, consent, questions about the arrangement, myths."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from actions.arrangement import ActionAnswerArrangement
from actions.followups import ActionApplyCorrection, ActionRespondAffirm
from actions.hardship import ValidateHardshipForm
from actions.identity import ActionStartGoal
from actions.plans import ActionConfirmPlan, ActionProposePlans, ActionSummarizePlan
from actions.support import ActionAnswer, ActionRespondRefusal
from bot.db import models
from bot.db.store import Store
from tests.support import DOMAIN, make_tracker, responses, slot_events
from tests.test_actions import HARDSHIP, VERIFIED, actions_use, run

__all__ = ["actions_use"]  # the autouse fixture: the actions use the test database

CONSENTED = {**VERIFIED, **HARDSHIP, "data_consent": True}


async def propose(store: Store, **slots: object) -> tuple[str, list]:
    events, dispatcher = await run(ActionProposePlans(), make_tracker(slots={**CONSENTED, **slots}))
    batch = slot_events(events)["offer_batch"]
    return batch, store.offers_in_batch("test-conversation", batch)


async def test_a_plan_is_chosen_by_its_term_or_a_property(store: Store) -> None:
    batch, offers = await propose(store)
    by_payments = {len(o.detail["schedule"]): o for o in offers}
    term, wanted = max(by_payments.items())
    for text, expected in (
        (f"选那个{term}期的", wanted),
        ("月供最低的那个", min(offers, key=lambda o: (o.monthly_payment, o.total_payment))),
        ("等下，我改主意了，换成第二个", offers[1]),
    ):
        tracker = make_tracker(
            slots={**VERIFIED, "offer_batch": batch}, intent="choose_plan", text=text
        )
        events, dispatcher = await run(ActionSummarizePlan(), tracker)
        assert responses(dispatcher)[0] == "utter_plan_summary", text
        assert slot_events(events)["selected_offer"] == expected.id, text


async def test_a_yes_that_names_no_plan_asks_which_with_the_plans_as_buttons(
    store: Store,
) -> None:
    batch, offers = await propose(store)
    for text in ("好的", "确认", "嗯"):
        tracker = make_tracker(slots={**VERIFIED, "offer_batch": batch}, intent="affirm", text=text)
        events, dispatcher = await run(ActionRespondAffirm(), tracker)
        assert responses(dispatcher) == ["utter_ask_which_plan"]
        payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
        assert payloads == [f'/choose_plan{{"plan_choice": "{o.rank}"}}' for o in offers]
    assert store.count(models.Agreement) == 0


async def test_a_yes_to_an_offered_specialist_escalates(store: Store) -> None:
    earlier = [{"event": "bot", "text": "…", "data": {"buttons": [{"payload": "/request_human"}]}}]
    tracker = make_tracker(intent="affirm", text="好", earlier_events=earlier)
    _, dispatcher = await run(ActionRespondAffirm(), tracker)
    assert {"utter_handoff", "utter_handoff_unavailable"} & set(responses(dispatcher))
    assert store.rows(models.Escalation)[0].reason == "request_human"


async def test_none_of_these_asks_what_one_can_pay_then_plans_within_it(store: Store) -> None:
    start = make_tracker(slots={**CONSENTED, "offer_batch": "x"}, intent="reject_offers")
    events, _ = await run(ActionStartGoal(), start)
    slots = slot_events(events)
    assert slots["pending_goal"] == "plans" and slots["negotiating"] is True
    form = ValidateHardshipForm()
    asked = await form.required_slots(
        DOMAIN["forms"]["hardship_form"]["required_slots"],
        None,  # type: ignore[arg-type]
        make_tracker(slots={**CONSENTED, "negotiating": True}),
        DOMAIN,
    )
    assert asked[-1] == "counter_monthly" and "data_consent" not in asked
    batch, offers = await propose(store, negotiating=True, counter_monthly=1300.0)
    assert offers and all(o.monthly_payment <= Decimal("1300") for o in offers)
    assert store.count(models.Agreement) == 0


async def test_a_counter_offer_nothing_fits_becomes_an_application(store: Store) -> None:
    tracker = make_tracker(slots={**CONSENTED, "negotiating": True, "counter_monthly": 100.0})
    events, dispatcher = await run(ActionProposePlans(), tracker)
    assert responses(dispatcher) == ["utter_counter_none_fits"]
    (application,) = store.rows(models.Agreement)
    assert application.status == "pending_approval"
    assert dispatcher.messages[0]["reference"] == application.reference.__str__()
    offer = store.rows(models.Offer, id=application.offer_id)[0]
    assert offer.type == "counter_proposal" and offer.monthly_payment == Decimal("100")
    (case,) = store.rows(models.Escalation)
    assert case.reason == "no_plan_fits" and case.detail["counter_monthly"] == 100.0
    assert slot_events(events)["negotiating"] is False


async def test_consent_is_asked_first_and_a_refusal_is_no_dead_end(store: Store) -> None:
    form = ValidateHardshipForm()
    required = DOMAIN["forms"]["hardship_form"]["required_slots"]
    asked = await form.required_slots(required, None, make_tracker(slots=VERIFIED), DOMAIN)  # type: ignore[arg-type]
    assert asked[0] == "data_consent" and "counter_monthly" not in asked
    refused = make_tracker(slots={**VERIFIED, "data_consent": False})
    assert await form.required_slots(required, None, refused, DOMAIN) == []  # type: ignore[arg-type]
    events, dispatcher = await run(ActionProposePlans(), refused)
    assert responses(dispatcher) == ["utter_consent_declined"]
    offered = DOMAIN["responses"]["utter_consent_declined"][0]["buttons"]
    assert "/request_human" in [b["payload"] for b in offered]  # a person, not a dead end
    assert store.count(models.HardshipStatement) == 0 and store.count(models.Offer) == 0
    assert slot_events(events)["data_consent"] is None  # asked again next time


async def test_a_correction_after_the_plans_recomputes_and_says_what_changed(
    store: Store,
) -> None:
    batch, _ = await propose(store)
    tracker = make_tracker(
        slots={**CONSENTED, "offer_batch": batch},
        intent="correct_info",
        text="刚才收入说错了，应该是六千",
    )
    events, dispatcher = await run(ActionApplyCorrection(), tracker)
    assert responses(dispatcher)[:2] == ["utter_correction_changed", "utter_recompute_plans"]
    said = dispatcher.messages[0]
    assert said["old"] == "4,500.00 元" and said["new"] == "6,000.00 元"
    slots = slot_events(events)
    assert slots["monthly_income"] == 6000.0
    assert slots["offer_batch"] != batch  # the plans again, from the corrected income
    assert "utter_hardship_summary" in responses(dispatcher)
    assert store.count(models.HardshipStatement, monthly_income=6000) == 1


async def test_a_range_is_taken_as_its_middle_and_said_so() -> None:
    tracker = make_tracker(
        slots={**VERIFIED, "requested_slot": "monthly_income"},
        intent="inform_income",
        text="一个月四五千吧",
        set_after_user={"monthly_income": "一个月四五千吧"},
        active_loop="hardship_form",
    )
    events, dispatcher = await run(ValidateHardshipForm(), tracker)
    assert slot_events(events)["monthly_income"] == 4500.0
    assert responses(dispatcher) == ["utter_range_taken"]
    assert dispatcher.messages[0]["value"] == "4,500.00"


async def test_questions_about_the_arrangement_are_answered_from_it(store: Store) -> None:
    tracker = make_tracker(slots=VERIFIED, intent="ask_agreement", text="第一期什么时候还")
    _, dispatcher = await run(ActionAnswerArrangement(), tracker)
    assert responses(dispatcher) == ["utter_no_arrangement"]
    batch, offers = await propose(store)
    chosen = {**VERIFIED, "offer_batch": batch, "plan_choice": "1"}
    await run(ActionConfirmPlan(), make_tracker(slots=chosen))
    (agreement,) = store.rows(models.Agreement)
    asked = make_tracker(slots=VERIFIED, intent="ask_agreement", text="漏还一期会怎样，能提前还吗")
    _, dispatcher = await run(ActionAnswerArrangement(), asked)
    said = responses(dispatcher)
    assert said[0] == "utter_arrangement_overview"
    assert {"utter_arrangement_early", "utter_arrangement_missed"} <= set(said)
    overview = dispatcher.messages[0]
    assert overview["reference"] == agreement.reference
    assert overview["first_due_date"] == offers[0].detail["schedule"][0]["due_date"]
    assert overview["payments"] == len(offers[0].detail["schedule"])


async def test_an_open_promise_is_what_a_question_is_answered_with(store: Store) -> None:
    store.record_promise("test-conversation", "CC-0001", Decimal("3000"), date(2026, 12, 5))
    tracker = make_tracker(slots=VERIFIED, intent="ask_agreement", text="我答应哪天还来着")
    _, dispatcher = await run(ActionAnswerArrangement(), tracker)
    assert responses(dispatcher) == ["utter_promise_overview"]
    assert dispatcher.messages[0]["amount"] == "3,000.00"
    assert dispatcher.messages[0]["due_date"] == "2026-12-05"


async def test_myths_get_their_own_answer_and_night_calls_a_complaint(store: Store) -> None:
    refusal = make_tracker(intent="refuse_to_pay", text="过了三年是不是就不用还了")
    _, dispatcher = await run(ActionRespondRefusal(), refusal)
    assert responses(dispatcher) == ["utter_topic_limitation"]
    night = make_tracker(
        intent="ask_collection_practice", text="昨晚11点还有人打电话催我，这合法吗"
    )
    _, dispatcher = await run(ActionAnswer(), night)
    assert responses(dispatcher)[0] == "utter_topic_night_calls"
    assert store.count(models.Complaint) == 1
    assert store.rows(models.Escalation)[0].reason == "complaint"


async def test_the_account_block_is_said_once_a_session() -> None:
    said = {
        "event": "bot",
        "text": "…",
        "metadata": {"utter_action": "utter_personal_consequences"},
    }
    first = make_tracker(slots=VERIFIED, intent="ask_consequences", text="逾期会怎样")
    _, dispatcher = await run(ActionAnswer(), first)
    assert "utter_personal_consequences" in responses(dispatcher)
    again = make_tracker(
        slots=VERIFIED, intent="ask_credit_report", text="征信呢", earlier_events=[said]
    )
    _, dispatcher = await run(ActionAnswer(), again)
    assert responses(dispatcher) == ["utter_answer_credit_report"]


async def test_inside_a_form_other_requests_wait_for_its_end() -> None:
    tracker = make_tracker(
        slots={**VERIFIED, "requested_slot": "dependents"},
        intent="choose_plan",
        text="选那个36期的",
        active_loop="hardship_form",
    )
    _, dispatcher = await run(ActionAnswer(), tracker)
    assert responses(dispatcher) == ["utter_form_first_finish"]


async def test_a_reason_with_the_income_keeps_both() -> None:
    tracker = make_tracker(
        slots={**VERIFIED, "requested_slot": "hardship_reason"},
        intent="inform_hardship",
        text="被裁员了，现在工资就三千",
        set_after_user={"hardship_reason": "unemployment"},
        active_loop="hardship_form",
    )
    events, dispatcher = await run(ValidateHardshipForm(), tracker)
    slots = slot_events(events)
    assert slots["hardship_reason"] == "unemployment" and slots["monthly_income"] == 3000.0
    assert responses(dispatcher) == ["utter_answer_noted"]


async def test_a_long_story_at_the_reason_question_is_heard() -> None:
    story = "说来话长，这两年事情特别多，一件接一件的，我也不知道从哪说起"
    tracker = make_tracker(
        slots={**VERIFIED, "requested_slot": "hardship_reason"},
        intent="inform_hardship",
        text=story,
        set_after_user={"hardship_reason": story},
        active_loop="hardship_form",
    )
    events, dispatcher = await run(ValidateHardshipForm(), tracker)
    assert slot_events(events)["hardship_reason"] is None  # asked again, with the buttons
    assert responses(dispatcher) == ["utter_hardship_story_heard"]


async def test_answers_are_read_by_their_words_not_by_a_stray_intent() -> None:
    """ "选那个36期的" at the dependents question is no answer; "6个月" at the recovery question
    is one, whatever intent the NLU gave it; "最多只能还500" at the income question is kept as
    what the cardholder can pay."""
    form = ValidateHardshipForm()

    def asked(slot: str, text: str, intent: str):  # noqa: ANN202
        return make_tracker(
            slots={**VERIFIED, "requested_slot": slot},
            intent=intent,
            text=text,
            set_after_user={slot: text},
            active_loop="hardship_form",
        )

    events, dispatcher = await run(form, asked("dependents", "选那个36期的", "choose_plan"))
    assert slot_events(events)["dependents"] is None
    assert responses(dispatcher) == ["utter_form_first_finish"]
    events, _ = await run(form, asked("recovery_months", "6个月", "counter_offer"))
    assert slot_events(events)["recovery_months"] == 6
    events, dispatcher = await run(
        form, asked("monthly_income", "我每个月最多只能还500", "counter_offer")
    )
    slots = slot_events(events)
    assert slots["monthly_income"] is None
    assert slots["counter_monthly"] == 500.0 and slots["negotiating"] is True
    assert responses(dispatcher) == ["utter_counter_noted"]


async def test_answers_given_earlier_are_not_announced_as_corrections() -> None:
    """A second request for plans starts the form again and Rasa validates every answer given;
    none is a correction, so none is announced as one."""
    tracker = make_tracker(
        slots={**CONSENTED, "requested_slot": None},
        intent="reject_offers",
        text="都不行，太多了",
        set_after_user={"monthly_income": 4500.0, "dependents": 1},
        active_loop="hardship_form",
    )
    events, dispatcher = await run(ValidateHardshipForm(), tracker)
    assert slot_events(events)["monthly_income"] == 4500.0
    assert "utter_correction_applied" not in responses(dispatcher)


async def test_an_account_whose_arrangement_stands_is_asked_no_hardship_questions(
    store: Store,
) -> None:
    batch, _ = await propose(store)
    chosen = {**VERIFIED, "offer_batch": batch, "plan_choice": "1"}
    await run(ActionConfirmPlan(), make_tracker(slots=chosen))
    required = DOMAIN["forms"]["hardship_form"]["required_slots"]
    starting = make_tracker(slots=VERIFIED)  # a new request for plans: the form starts
    asked = await ValidateHardshipForm().required_slots(required, None, starting, DOMAIN)  # type: ignore[arg-type]
    assert asked == []
