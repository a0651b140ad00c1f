"""The Rasa-process side of a handoff: silence while a person holds the chat, outbox delivery,
and resuming the bot at the step a specialist chose when handing back.

Rasa 3.6 would still run NLU and slot extraction on a paused conversation, so a held
conversation's messages never reach Rasa at all: they are stored for the specialist instead.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.shared.core.constants import REQUESTED_SLOT
from rasa.shared.core.events import ActiveLoop, SlotSet

from bot.channels.background import one_worker_at_a_time
from bot.db.store import Store
from bot.handoff.cases import Cases, CaseSummary
from bot.handoff.outbox import Outbox, OutgoingMessage
from bot.nlg import localise_message
from bot.privacy import mask
from bot.settings import load_settings

logger = logging.getLogger(__name__)

RESUME_INTENTS = {"propose_plans": "request_installment", "verify_identity": "ask_balance"}
RESUME_POLL_SECONDS = 2.0


class HandoffBridge:
    def __init__(self, store: Store | None = None) -> None:
        self.store = store or Store.from_url(load_settings().database_url)
        self.cases = Cases(self.store)
        self.outbox = Outbox(self.store)

    def hold(self, sender: str, text: str) -> bool:
        """True when a specialist holds this conversation; the message is kept for them."""
        try:
            case = self.cases.held_case(sender)
            if case is None:
                return False
            self.cases.record_held_message(case, text)
            return True
        except Exception:  # noqa: BLE001 - a database hiccup must not silence the bot
            logger.exception("could not check the handoff state of %s", mask(sender))
            return False

    async def script_of(self, agent: Agent | None, sender: str) -> str | None:
        if agent is None or agent.tracker_store is None:
            return None
        tracker = await agent.tracker_store.retrieve(sender)
        return tracker.get_slot("script") if tracker else None

    def as_reply(self, message: OutgoingMessage, script: str | None) -> dict[str, Any]:
        payload = dict(message.payload)
        reply = {
            "recipient_id": message.conversation_id,
            "text": message.text,
            "custom": {"author": message.author, **payload},
        }
        if payload.get("buttons"):
            reply["buttons"] = payload["buttons"]
        return localise_message(reply, script)

    async def deliver(self, agent: Agent | None, channel: str, sender: str) -> list[dict[str, Any]]:
        """Take this conversation's undelivered outbox messages, in the cardholder's script."""
        try:
            messages = self.outbox.take(channel, sender)
        except Exception:  # noqa: BLE001 - delivery is retried on the next request
            logger.exception("could not read the outbox for %s", mask(sender))
            return []
        if not messages:
            return []
        script = await self.script_of(agent, sender)
        return [self.as_reply(message, script) for message in messages]

    async def resume(self, agent: Agent, case: CaseSummary, step: str | None) -> None:
        """The bot takes over again: whatever form was open when the person joined is closed,
        and the chosen step runs as if the cardholder had asked; what the bot says is queued."""
        intent = RESUME_INTENTS.get(step or "")
        collector = CollectingOutputChannel()
        try:
            async with agent.lock_store.lock(case.conversation_id):
                tracker = await agent.processor.get_tracker(case.conversation_id)
                if tracker.active_loop_name:
                    tracker.update(ActiveLoop(None))
                    tracker.update(SlotSet(REQUESTED_SLOT, None))
                    await agent.processor.save_tracker(tracker)
                if intent is not None:
                    await agent.trigger_intent(intent, [], collector, tracker)
            for message in collector.messages:
                self.outbox.post(
                    case.conversation_id,
                    case.channel or "rest",
                    "bot",
                    message.get("text") or "",
                    buttons=message.get("buttons") or [],
                )
        finally:
            self.cases.mark_resumed(case.id)  # once only, even if the step failed

    async def resume_loop(self, agent_of: Any, stop: asyncio.Event) -> None:
        """Background task of the Rasa process; ``agent_of()`` returns the loaded agent."""
        while not stop.is_set():
            agent = agent_of()
            if agent is not None and agent.is_ready():
                try:
                    async with one_worker_at_a_time(agent, "resume"):
                        for case, step in self.cases.pending_resumes():
                            await self.resume(agent, case, step)
                except Exception:  # noqa: BLE001 - keep the loop alive; the case stays pending
                    logger.exception("resuming handed-back cases failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=RESUME_POLL_SECONDS)
            except asyncio.TimeoutError:
                pass
