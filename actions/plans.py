"""Proposing plans through the plan engine, and turning a choice into an agreement."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    CalmAction,
    conversation_id,
    escalate,
    latest_text,
    localised_buttons,
    localised_text,
    money,
    percent,
    policy,
    stays_with_the_person,
    store,
    verified_account,
)
from bot.clock import today
from bot.conversation.plan_choice import Shown, read_choice
from bot.db.store import AccountView, OfferView
from bot.plans import propose
from bot.plans.counter import counter_proposal
from bot.plans.explain import own_terms

HARDSHIP_FIELDS = (
    "hardship_reason",
    "monthly_income",
    "monthly_expenses",
    "other_debt_payments",
    "dependents",
    "recovery_months",
)


def option_title(option: dict[str, Any]) -> str:
    return str(option.get("title") or f"{option['months']}期还款")


class ActionProposePlans(CalmAction):
    def name(self) -> str:
        return "action_propose_plans"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if stays_with_the_person(dispatcher, tracker):
            return []
        account = verified_account(tracker)
        if account is None:
            return []
        if tell_what_stands(dispatcher, account.account_id):
            return [SlotSet("pending_goal", None), SlotSet("negotiating", False)]
        if tracker.get_slot("data_consent") is False:  # asked, and refused: no dead end
            dispatcher.utter_message(response="utter_consent_declined")
            return [
                SlotSet("pending_goal", None),
                SlotSet("data_consent", None),
                SlotSet("negotiating", False),
            ]
        if tracker.get_slot("negotiating") and tracker.get_slot("counter_monthly"):
            return self._negotiate(dispatcher, tracker, account)
        statement = hardship_statement(tracker)
        proposal = propose_for(account, statement)
        sender = conversation_id(tracker)
        hardship = store().save_hardship(sender, account.account_id, statement)
        batch = store().save_offers(sender, account.account_id, hardship.id, proposal)
        if proposal.get("affordable_monthly") is not None:
            dispatcher.utter_message(
                response="utter_hardship_summary",
                income=money(statement["monthly_income"]),
                expenses=money(statement["monthly_expenses"]),
                other_debts=money(statement["other_debt_payments"]),
                affordable=money(proposal["affordable_monthly"]),
            )
        options = proposal["options"]
        if proposal.get("escalate") or not options:
            reason = str(proposal.get("escalation_reason") or "没有合适的自动方案").rstrip("。")
            escalate(
                tracker,
                "no_plan_fits",
                escalation_reason=reason,
                hardship_id=hardship.id,
                offer_batch=batch,
            )
            dispatcher.utter_message(response="utter_plans_escalated", reason=reason)
        if options:
            self._show(dispatcher, tracker, options)
        return [
            SlotSet("offer_batch", batch),
            SlotSet("hardship_id", hardship.id),
            SlotSet("pending_goal", None),
            SlotSet("selected_offer", None),
        ]

    def _negotiate(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, account: AccountView
    ) -> list[dict[str, Any]]:
        """ "都不行，太多了" / "最多只能还500": the plans within what the cardholder can pay, from
        the engine (their figure replaces its estimate); when none fits within policy, their own
        proposal goes to a specialist as an application, said honestly."""
        cap = float(tracker.get_slot("counter_monthly"))
        statement = {**hardship_statement(tracker), "max_monthly_payment": cap}
        proposal = propose_for(account, statement)
        sender = conversation_id(tracker)
        hardship = store().save_hardship(sender, account.account_id, statement)
        fitting = [o for o in proposal["options"] if o.get("affordable")]
        done = [SlotSet("negotiating", False), SlotSet("pending_goal", None)]
        if fitting:
            batch = store().save_offers(
                sender, account.account_id, hardship.id, {**proposal, "options": fitting}
            )
            dispatcher.utter_message(response="utter_counter_plans", cap=money(cap))
            self._show(dispatcher, tracker, fitting, intro=False)
            return [
                *done,
                SlotSet("offer_batch", batch),
                SlotSet("hardship_id", hardship.id),
                SlotSet("selected_offer", None),
            ]
        own = counter_proposal(account.total_due, cap, today())
        batch = store().save_offers(
            sender, account.account_id, hardship.id, {**proposal, "options": [own]}
        )
        offer = store().offers_in_batch(sender, batch)[0]
        recorded = store().create_agreement(sender, account.account_id, offer)
        escalate(
            tracker,
            "no_plan_fits",
            reference=recorded.reference,
            counter_monthly=cap,
            escalation_reason=proposal.get("escalation_reason"),
            hardship_id=hardship.id,
            offer_batch=batch,
        )
        dispatcher.utter_message(
            response="utter_counter_none_fits",
            cap=money(cap),
            months=own["months"],
            reference=recorded.reference,
        )
        return [*done, SlotSet("counter_monthly", None)]

    def _show(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        options: list[dict[str, Any]],
        intro: bool = True,
    ) -> None:
        """One short card per option (about 80 characters, where the engine's explanation has
        300), the full terms one tap away in ``custom.details`` (the widget folds them out;
        REST clients get them beside the text), and the sentences every option shares once."""
        if intro:
            dispatcher.utter_message(response="utter_plans_intro", count=len(options))
        buttons = []
        for n, option in enumerate(options, start=1):
            dispatcher.utter_message(
                response="utter_plan_option",
                n=n,
                title=option_title(option),
                summary=card_summary(option),
                json_message={
                    "plan": n,
                    "details": localised_text(
                        tracker, own_terms(str(option.get("explanation", "")))
                    ),
                },
            )
            buttons.append(
                {
                    "title": button_title(n, option),
                    "payload": f'/choose_plan{{"plan_choice": "{n}"}}',
                }
            )
        dispatcher.utter_message(response="utter_plans_terms_note")
        dispatcher.utter_message(
            response="utter_plans_choose", buttons=localised_buttons(tracker, buttons)
        )


def propose_for(account: AccountView, statement: dict[str, Any]) -> dict[str, Any]:
    """The plan engine's proposal for this account and statement, as of today."""
    day = today()
    case = {
        "account": account.as_case_account(day),
        "hardship": statement,
        "as_of": day.isoformat(),
    }
    return propose(case, policy(), as_of=day)


def hardship_statement(tracker: Tracker) -> dict[str, Any]:
    """The hardship form's answers in the plan engine's shape."""
    return {
        "reason": tracker.get_slot("hardship_reason"),
        "monthly_income": float(tracker.get_slot("monthly_income")),
        "monthly_expenses": float(tracker.get_slot("monthly_expenses")),
        "other_debt_payments": float(tracker.get_slot("other_debt_payments")),
        "dependents": int(tracker.get_slot("dependents")),
        "expected_recovery_months": int(tracker.get_slot("recovery_months")),
    }


def card_summary(option: dict[str, Any]) -> str:
    """What a card says of an option: how much, how often, in all, what it costs, whether it
    fits what the cardholder can pay, and whether a person must approve it."""
    payments = payments_of(option)
    total, cost = money(option["total_payment"]), money(option["total_cost"])
    first, later = first_and_later(option)
    if payments == 1:
        how = f"一次性还 {total} 元（{option.get('first_due_date', '')} 前）"
    elif later is not None:  # the minimum payment: a first amount, then much less
        how = f"首期 {money(first)} 元，之后每月约 {money(later)} 元，共 {payments} 期"
    else:
        how = f"每月 {money(option['monthly_payment'])} 元 × {payments} 期，共还 {total} 元"
    cost_value = float(option["total_cost"])
    if cost_value > 0:
        extra = f"利息和费用 {cost} 元"
    elif cost_value < 0:
        extra = f"减免 {money(-cost_value)} 元"
    else:
        extra = "不另收利息和费用"
    fit = {True: "在您每月可承担的范围内", False: "超出您每月可承担的金额"}.get(
        option.get("affordable")
    )
    approval = "需专员审批" if option.get("requires_approval") else "确认即可办理"
    return "\n".join(
        part for part in (how, "；".join(filter(None, (extra, fit, approval)))) if part
    )


ARRANGEMENT_STATUS = {
    "agreed": "已生效",
    "approved": "已审批通过",
    "pending_approval": "正在等待专员审批",
}


def tell_what_stands(dispatcher: CollectingDispatcher, account_id: str) -> bool:
    """True (having said so) when the account already has an agreement or an application that
    stands: the cardholder hears its reference and status, and changes go through a person."""
    standing = store().active_arrangement(account_id)
    if standing is None:
        return False
    dispatcher.utter_message(
        response="utter_existing_arrangement",
        reference=standing.reference,
        status=ARRANGEMENT_STATUS.get(standing.status, standing.status),
        monthly_payment=money(standing.monthly_payment),
        months=standing.months,
        first_due_date=standing.first_due_date,
    )
    return True


def name_what_is_affordable(
    dispatcher: CollectingDispatcher, tracker: Tracker, offer: OfferView
) -> None:
    """A choice above what the cardholder said they can pay is named as such before they
    confirm, with the affordable alternative when there is one."""
    offers = store().offers_in_batch(conversation_id(tracker), tracker.get_slot("offer_batch"))
    fits = [o for o in offers if o.detail.get("affordable") and o.id != offer.id]
    if fits:
        better = min(fits, key=lambda o: o.rank)
        dispatcher.utter_message(
            response="utter_plan_above_affordable",
            monthly_payment=money(offer.monthly_payment),
            rank=better.rank,
            alternative_monthly=money(better.monthly_payment),
        )
    else:
        dispatcher.utter_message(
            response="utter_plan_above_affordable_none",
            monthly_payment=money(offer.monthly_payment),
        )


def payments_of(option: dict[str, Any]) -> int:
    """How many payments the cardholder makes (the schedule's length where there is one)."""
    schedule = option.get("schedule")
    return len(schedule) if isinstance(schedule, list) and schedule else int(option["months"])


def first_and_later(option: dict[str, Any]) -> tuple[Any, Any | None]:
    """The first payment, and what follows when that is not the same each month (the minimum
    payment's card once said "每月 36,600.00 元 × 57 期" where only the first was 36,600)."""
    amounts = [s.get("amount") for s in option.get("schedule") or [] if isinstance(s, dict)]
    if len(amounts) < 2 or len(set(amounts[:-1])) == 1:  # equal payments, maybe a last remainder
        return option["monthly_payment"], None
    return amounts[0], amounts[1]


def button_title(n: int, option: dict[str, Any]) -> str:
    monthly, payments = money(option["monthly_payment"]), payments_of(option)
    if payments == 1:
        return f"方案{n}：一次性还 {money(option['total_payment'])}元"
    first, later = first_and_later(option)
    if later is not None:
        return f"方案{n}：首期{money(first)}元，共{payments}期"
    return f"方案{n}：{monthly}元 × {payments}期"


def shown(offers: list[OfferView]) -> list[Shown]:
    return [
        Shown(o.rank, payments_of(o.detail), o.monthly_payment, o.total_payment, o.total_cost)
        for o in offers
    ]


def chosen_offer(tracker: Tracker) -> tuple[OfferView | None, list[OfferView]]:
    """The offer the cardholder picked (by button, number or words: "36期的", "最便宜的"), and
    the offers on the table."""
    batch = tracker.get_slot("offer_batch")
    if not batch:
        return None, []
    offers = store().offers_in_batch(conversation_id(tracker), batch)
    # the words first: "我选一次性还清的" names the lump sum, where the NLU reads "选一" as plan 1
    rank = read_choice(latest_text(tracker), shown(offers))
    if rank is None:
        rank = named_rank(tracker)
    if rank is None:
        rank = slot_rank(tracker)
    if rank is None and tracker.get_slot("selected_offer"):
        return next((o for o in offers if o.id == tracker.get_slot("selected_offer")), None), offers
    return next((offer for offer in offers if offer.rank == rank), None), offers


def named_rank(tracker: Tracker) -> int | None:
    """The plan number this very message names (a button, "第二个"), never an earlier one."""
    value = next(tracker.get_latest_entity_values("plan_choice"), None)
    try:
        return int(float(value)) if value is not None else None
    except (TypeError, ValueError):
        return None


def slot_rank(tracker: Tracker) -> int | None:
    """The plan number last chosen in this conversation (reset once it is settled)."""
    try:
        return int(float(tracker.get_slot("plan_choice")))
    except (TypeError, ValueError):
        return None


def plan_buttons(tracker: Tracker, offers: list[OfferView]) -> list[dict[str, str]]:
    """The plans on the table as buttons again (asking which one is meant)."""
    return localised_buttons(
        tracker,
        [
            {
                "title": button_title(o.rank, o.detail),
                "payload": f'/choose_plan{{"plan_choice": "{o.rank}"}}',
            }
            for o in offers
        ],
    )


def ask_which_plan(
    dispatcher: CollectingDispatcher, tracker: Tracker, offers: list[OfferView]
) -> list[dict[str, Any]]:
    dispatcher.utter_message(response="utter_ask_which_plan", buttons=plan_buttons(tracker, offers))
    return [SlotSet("plan_choice", None), SlotSet("selected_offer", None)]


class ActionSummarizePlan(CalmAction):
    def name(self) -> str:
        return "action_summarize_plan"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if stays_with_the_person(dispatcher, tracker):
            return [SlotSet("plan_choice", None)]
        account = verified_account(tracker)
        if account is None or not tracker.get_slot("offer_batch"):
            dispatcher.utter_message(response="utter_no_offers_yet")
            return []
        if tell_what_stands(dispatcher, account.account_id):  # a button from before the deal
            return [SlotSet("plan_choice", None)]
        offer, offers = chosen_offer(tracker)
        if offer is None and (named_rank(tracker) or slot_rank(tracker)) is not None:
            dispatcher.utter_message(response="utter_plan_unknown_choice", count=len(offers))
            return [SlotSet("plan_choice", None)]
        if offer is None:  # "好的", "嗯", "那个吧": which one is meant?
            return ask_which_plan(dispatcher, tracker, offers)
        dispatcher.utter_message(
            response="utter_plan_summary",
            title=option_title(offer.detail),
            monthly_payment=money(offer.monthly_payment),
            months=payments_of(offer.detail),
            first_due_date=offer.detail.get("first_due_date", ""),
            total_payment=money(offer.total_payment),
            total_cost=money(offer.total_cost),
            apr=percent(offer.apr),
        )
        if offer.detail.get("affordable") is False:
            name_what_is_affordable(dispatcher, tracker, offer)
        dispatcher.utter_message(
            response="utter_confirm_plan_needs_approval"
            if offer.requires_approval
            else "utter_confirm_plan"
        )
        return [SlotSet("selected_offer", offer.id), SlotSet("plan_choice", str(offer.rank))]


class ActionConfirmPlan(CalmAction):
    """A confirmed offer becomes an agreement, or an application a specialist must approve."""

    def name(self) -> str:
        return "action_confirm_plan"

    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if stays_with_the_person(dispatcher, tracker):
            return [SlotSet("selected_offer", None), SlotSet("plan_choice", None)]
        account = verified_account(tracker)
        offer, _offers = chosen_offer(tracker)
        if account is None or offer is None:
            dispatcher.utter_message(response="utter_no_offers_yet")
            return []
        if tell_what_stands(dispatcher, account.account_id):  # never a second deal
            return [SlotSet("selected_offer", None), SlotSet("plan_choice", None)]
        sender = conversation_id(tracker)
        recorded = store().create_agreement(sender, account.account_id, offer)
        if recorded.status == "pending_approval":
            escalate(
                tracker,
                "plan_approval",
                reference=recorded.reference,
                offer_id=offer.id,
            )
            dispatcher.utter_message(
                response="utter_application_submitted", reference=recorded.reference
            )
        else:
            dispatcher.utter_message(
                response="utter_plan_confirmed",
                reference=recorded.reference,
                monthly_payment=money(offer.monthly_payment),
                first_due_date=offer.detail.get("first_due_date", ""),
            )
        return [SlotSet("selected_offer", None), SlotSet("plan_choice", None)]


class ActionPlanDeclined(Action):
    def name(self) -> str:
        return "action_plan_declined"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_plan_declined")
        return [SlotSet("selected_offer", None), SlotSet("plan_choice", None)]
