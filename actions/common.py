"""What every action shares: the store, the policy, the cardholder's script, and failing calmly."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict
from sqlalchemy.exc import SQLAlchemyError

from bot.channels.client_metadata import CLIENT_METADATA_KEY, INTERNAL_CHANNELS
from bot.conversation.escalation import priority_of
from bot.db.store import AccountView, Store
from bot.identity.sessions import Controls, VerifiedSessions, changes
from bot.nlg import localise_message, reader_variant
from bot.plans import PlanError, PolicyError, load_policy
from bot.plans.money import fmt_yuan, to_cents
from bot.privacy import install_log_masking
from bot.settings import load_settings

logger = logging.getLogger(__name__)
install_log_masking()


@lru_cache(maxsize=1)
def store() -> Store:
    instance = Store.from_url(load_settings().database_url)
    instance.create_schema()
    return instance


@lru_cache(maxsize=1)
def policy() -> Any:
    return load_policy()


def conversation_id(tracker: Tracker) -> str:
    return tracker.sender_id


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def latest_text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def verified_sessions() -> VerifiedSessions:
    return _verified_sessions_of(store())


@lru_cache(maxsize=1)
def _verified_sessions_of(database: Store) -> VerifiedSessions:
    return VerifiedSessions(database)


def _latest_user_event(tracker: Tracker) -> dict[str, Any]:
    """The cardholder's latest message as a channel delivered it (a specialist's hand-back
    replays an intent through Rasa's internal collector channel, which is not the channel)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("input_channel") not in INTERNAL_CHANNELS:
            return event
    return {}


def conversation_channel(tracker: Tracker) -> str | None:
    return _latest_user_event(tracker).get("input_channel")


def client_of(tracker: Tracker) -> str | None:
    """The keyed client address the channel attached to the message (never the address)."""
    metadata = _latest_user_event(tracker).get("metadata") or {}
    client = metadata.get(CLIENT_METADATA_KEY) if isinstance(metadata, dict) else None
    return client if isinstance(client, str) else None


def session_started(tracker: Tracker) -> datetime | None:
    """When the tracker's Rasa session started (its latest ``session_started`` event)."""
    for event in reversed(tracker.events):
        if event.get("event") == "session_started" and event.get("timestamp"):
            return datetime.fromtimestamp(float(event["timestamp"]), tz=timezone.utc)
    return None


# Where a tracker keeps its controls' reading (the tracker is one action-server request's own).
_CONTROLS = "_bot_controls"


def controls(tracker: Tracker) -> Controls:
    """The verified account, its data and the crisis flag, read in one statement once per
    request (the tracker is the request's own): an action asks up to four times (a form's
    validation before and after validating), and the separate ORM reads cost about 0.8 ms of
    the action server's CPU per action against 0.12 ms for this one. Read again when this
    process granted or ended a verification since, or the channel or Rasa session the reading
    was for changed; escalate() forgets it (a case may put the conversation in crisis)."""
    channel, started = conversation_channel(tracker), session_started(tracker)
    key = (channel, started, changes())
    cached = tracker.__dict__.get(_CONTROLS)
    if cached is not None and cached[0] == key:
        return cached[1]
    reading = verified_sessions().controls(conversation_id(tracker), channel, started)
    tracker.__dict__[_CONTROLS] = (key, reading)
    return reading


def verified_account_id(tracker: Tracker) -> str | None:
    """The account this conversation is verified for, from the server's verified sessions,
    never from slots (whoever can write a tracker can write slots); a knowledge check of an
    earlier Rasa session does not count."""
    return controls(tracker).account_id


def escalate(tracker: Tracker, reason: str, **detail: Any) -> None:
    """The one way an action opens (or adds to) a case: with the priority the reason has, the
    verified account if any, and the conversation's channel, so the specialist's replies and
    decisions reach the cardholder where they wrote."""
    store().escalate(
        conversation_id(tracker),
        reason,
        priority_of(reason),
        verified_account_id(tracker),
        channel=conversation_channel(tracker),
        **detail,
    )
    tracker.__dict__.pop(_CONTROLS, None)  # the case may have put the conversation in crisis


def stays_with_the_person(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """True (having replied) while the conversation is in crisis: after distress, no money
    talk, no plan, promise or agreement until a person has taken over; the reply stays
    supportive and repeats the hotline."""
    if not controls(tracker).in_crisis:
        return False
    dispatcher.utter_message(response="utter_crisis_followup")
    return True


def verified_account(tracker: Tracker) -> AccountView | None:
    """The account, only once identity is verified in this conversation."""
    return controls(tracker).account


def localised_buttons(tracker: Tracker, buttons: list[dict[str, str]]) -> list[dict[str, str]]:
    """Buttons built by an action, in the cardholder's script (responses are handled by the NLG)."""
    return localise_message(
        {"buttons": buttons}, tracker.get_slot("script"), reader_variant(tracker)
    )["buttons"]


def localised_text(tracker: Tracker, text: str) -> str:
    """Text built by an action (a plan's terms), in the cardholder's script and variant."""
    return localise_message({"text": text}, tracker.get_slot("script"), reader_variant(tracker))[
        "text"
    ]


def money(value: Any) -> str:
    """Yuan as the cardholder reads them everywhere (bot.plans.money.fmt_yuan)."""
    return fmt_yuan(to_cents(value))


def percent(rate: Any) -> str:
    return f"{float(rate) * 100:.2f}%"


class CalmAction(Action, ABC):
    """An action whose failures (dead database, broken policy) get a calm reply, not silence."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return await answer_calmly(dispatcher, lambda: self.act(dispatcher, tracker, domain))

    @abstractmethod
    async def act(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]: ...


class CalmFormValidation(FormValidationAction, ABC):
    """Form validation that fails calmly and, by default, asks nothing before identity is
    verified (the form then ends at once and the flow falls through quietly)."""

    needs_verified_identity = True

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        parent = super()
        return await answer_calmly(dispatcher, lambda: parent.run(dispatcher, tracker, domain))

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        if self.needs_verified_identity and verified_account_id(tracker) is None:
            return []
        return domain_slots


async def answer_calmly(
    dispatcher: CollectingDispatcher, work: Callable[[], Awaitable[list[dict[str, Any]]]]
) -> list[dict[str, Any]]:
    """Run an action's work; a dead database or a broken policy gets a calm reply, not silence."""
    try:
        return await work()
    except (SQLAlchemyError, PlanError, PolicyError, OSError) as error:
        logger.error("action failed: %s: %s", type(error).__name__, error)
        dispatcher.utter_message(response="utter_technical_problem")
        return []
