"""The case queue specialists work: claim, reply, decide, hand back, close.

Every step is audited, and everything the cardholder should hear goes through the outbox on the
channel they used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bot.clock import as_utc, now_utc
from bot.db import models
from bot.db.store import Store
from bot.handoff.outbox import Outbox
from bot.responses import render

OUTCOMES = (
    "promise_to_pay",
    "plan_agreed",
    "dispute_opened",
    "complaint_logged",
    "no_contact",
    "referred",
    "resolved",
)
ACTIVE = ("open", "claimed")
# Asked before every message reaches Rasa, and almost always answered "no" (see Outbox).
_ANY_HELD = (
    select(models.Escalation.id)
    .where(
        models.Escalation.conversation_id == bindparam("conversation"),
        models.Escalation.status == "claimed",
    )
    .limit(1)
)


# A case's own conversation: what was recorded from a little before it opened (the promise or
# complaint that the bot recorded just before it escalated) counts for its outcome.
EVIDENCE_FROM_BEFORE_OPENING = timedelta(minutes=30)
_EVIDENCE = {
    "promise_to_pay": (models.Promise, None, "尚未记录还款承诺，不能以“承诺还款”结案"),
    "plan_agreed": (
        models.Agreement,
        ("agreed", "approved"),
        "尚无已达成或已批准的还款方案，不能以“达成还款方案”结案",
    ),
    "complaint_logged": (models.Complaint, None, "尚未登记投诉，不能以“已登记投诉”结案"),
}


def missing_evidence(session: Session, case: models.Escalation, outcome: str) -> str | None:
    """Why ``outcome`` cannot close ``case`` (Chinese, for the specialist), or None. An outcome
    that says something was recorded needs the record in the case's conversation: a promise,
    an agreed or approved plan, a complaint; a dispute is one only in a dispute case."""
    if outcome == "dispute_opened":
        return None if case.reason == "dispute" else "该案件不是债务异议，不能以“已受理异议”结案"
    if outcome not in _EVIDENCE:
        return None
    model, statuses, message = _EVIDENCE[outcome]
    since = as_utc(case.created_at) - EVIDENCE_FROM_BEFORE_OPENING
    query = select(model.id).where(
        model.conversation_id == case.conversation_id, model.created_at >= since
    )
    if statuses:
        query = query.where(model.status.in_(statuses))
    return None if session.execute(query.limit(1)).first() else message


class CaseError(Exception):
    """A case action that cannot be done (not yours, already closed, unknown outcome…)."""


class CaseForbidden(CaseError):
    """A case action this specialist may never do; the message is shown to them (Chinese)."""


CLOSE_FORBIDDEN = "只有处理该案件的专员或主管可以结案"
NOTE_FORBIDDEN = "只有处理该案件的专员或主管可以添加备注"


@dataclass(frozen=True)
class CaseSummary:
    id: int
    conversation_id: str
    account_id: str | None
    reason: str
    priority: int
    status: str
    channel: str | None
    created_at: datetime
    claimed_by: int | None
    outcome: str | None


def _summary(row: models.Escalation) -> CaseSummary:
    return CaseSummary(
        id=row.id,
        conversation_id=row.conversation_id,
        account_id=row.account_id,
        reason=row.reason,
        priority=row.priority,
        status=row.status,
        channel=row.channel,
        created_at=row.created_at,
        claimed_by=row.claimed_by,
        outcome=row.outcome,
    )


class Cases:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.outbox = Outbox(store)

    # --- reading ---------------------------------------------------------------------------

    def queue(self, statuses: tuple[str, ...] = ACTIVE) -> list[CaseSummary]:
        """Most urgent first, then the longest waiting."""
        with self.store._session() as session:
            rows = session.execute(
                select(models.Escalation)
                .where(models.Escalation.status.in_(statuses))
                .order_by(models.Escalation.priority, models.Escalation.created_at)
            ).scalars()
            return [_summary(row) for row in rows]

    def get(self, case_id: int) -> CaseSummary:
        with self.store._session() as session:
            row = session.get(models.Escalation, case_id)
            if row is None:
                raise CaseError(f"case {case_id} does not exist")
            return _summary(row)

    def held_case(self, conversation_id: str) -> CaseSummary | None:
        """The case whose specialist currently holds this conversation, if any."""
        with self.store.engine.connect() as connection:
            if connection.execute(_ANY_HELD, {"conversation": conversation_id}).first() is None:
                return None
        with self.store._session() as session:
            row = session.execute(
                select(models.Escalation).where(
                    models.Escalation.conversation_id == conversation_id,
                    models.Escalation.status == "claimed",
                )
            ).scalar_one_or_none()
            return _summary(row) if row else None

    # --- working a case ---------------------------------------------------------------------

    def claim(self, case_id: int, specialist_id: int, specialist_name: str) -> bool:
        """One atomic UPDATE: of two specialists claiming at the same moment exactly one wins."""
        with self.store._session() as session, session.begin():
            result = session.execute(
                update(models.Escalation)
                .where(models.Escalation.id == case_id, models.Escalation.status == "open")
                .values(status="claimed", claimed_by=specialist_id, claimed_at=now_utc())
            )
            if result.rowcount != 1:
                return False
            row = session.get(models.Escalation, case_id)
            self.store.audit(
                session, "case_claimed", row.conversation_id, row.account_id,
                actor=f"specialist:{specialist_id}", case_id=case_id,
            )  # fmt: skip
            conversation_id, channel = row.conversation_id, row.channel or "rest"
        self.outbox.post(
            conversation_id, channel, "system",
            render("utter_specialist_joined", script="simplified", name=specialist_name),
            event="specialist_joined", specialist=specialist_name,
        )  # fmt: skip
        return True

    def _owned(self, session: Any, case_id: int, specialist_id: int) -> models.Escalation:
        row = session.get(models.Escalation, case_id)
        if row is None:
            raise CaseError(f"case {case_id} does not exist")
        if row.status != "claimed" or row.claimed_by != specialist_id:
            raise CaseError(f"case {case_id} is not held by this specialist")
        return row

    def reply(self, case_id: int, specialist_id: int, text: str) -> None:
        text = text.strip()
        if not text:
            raise CaseError("an empty reply is not sent")
        with self.store._session() as session, session.begin():
            row = self._owned(session, case_id, specialist_id)
            self.store.audit(
                session, "specialist_replied", row.conversation_id, row.account_id,
                actor=f"specialist:{specialist_id}", case_id=case_id,
            )  # fmt: skip
            conversation_id, channel = row.conversation_id, row.channel or "rest"
        self.outbox.post(conversation_id, channel, "specialist", text, specialist_id=specialist_id)

    def record_held_message(self, case: CaseSummary, text: str) -> None:
        with self.store._session() as session, session.begin():
            session.add(
                models.HeldMessage(
                    escalation_id=case.id, conversation_id=case.conversation_id, text=text
                )
            )

    def held_messages(self, case_id: int) -> list[tuple[datetime, str]]:
        with self.store._session() as session:
            rows = session.execute(
                select(models.HeldMessage.created_at, models.HeldMessage.text)
                .where(models.HeldMessage.escalation_id == case_id)
                .order_by(models.HeldMessage.id)
            ).all()
            return [(at, text) for at, text in rows]

    def hand_back(self, case_id: int, specialist_id: int, step: str | None = None) -> CaseSummary:
        """The bot takes the conversation again; the case stays open for its outcome.

        ``step`` (e.g. ``propose_plans``) is kept in ``detail["resume_step"]`` for the bot to
        resume at; ``None`` resumes wherever the conversation was.
        """
        with self.store._session() as session, session.begin():
            row = self._owned(session, case_id, specialist_id)
            row.status = "returned"
            row.detail = {**(row.detail or {}), "resume_step": step}
            self.store.audit(
                session, "case_handed_back", row.conversation_id, row.account_id,
                actor=f"specialist:{specialist_id}", case_id=case_id, resume_step=step,
            )  # fmt: skip
            summary = _summary(row)
        self.outbox.post(
            summary.conversation_id, summary.channel or "rest", "system",
            render("utter_specialist_left", script="simplified"),
            event="specialist_left",
        )  # fmt: skip
        return summary

    def pending_resumes(self) -> list[tuple[CaseSummary, str | None]]:
        """Cases handed back to the bot and not yet resumed, with the step to resume at."""
        with self.store._session() as session:
            rows = session.execute(
                select(models.Escalation).where(models.Escalation.status == "returned")
            ).scalars()
            return [
                (_summary(row), row.detail.get("resume_step"))
                for row in rows
                if not row.detail.get("resumed")
            ]

    def mark_resumed(self, case_id: int) -> None:
        with self.store._session() as session, session.begin():
            row = session.get(models.Escalation, case_id)
            row.detail = {**row.detail, "resumed": True}

    def add_note(self, case_id: int, specialist_id: int, text: str) -> None:
        """A private note (never sent to the cardholder) by whoever may work the case: its
        holder, or a supervisor."""
        text = text.strip()
        if not text:
            raise CaseError("备注不能为空")
        with self.store._session() as session, session.begin():
            row = session.get(models.Escalation, case_id)
            if row is None:
                raise CaseError(f"case {case_id} does not exist")
            writer = session.get(models.Specialist, specialist_id)
            if row.claimed_by != specialist_id and not (writer and writer.role == "supervisor"):
                raise CaseForbidden(NOTE_FORBIDDEN)
            session.add(
                models.CaseNote(escalation_id=case_id, specialist_id=specialist_id, text=text)
            )
            self.store.audit(
                session, "case_note_added", row.conversation_id, row.account_id,
                actor=f"specialist:{specialist_id}", case_id=case_id,
            )  # fmt: skip

    def close(self, case_id: int, specialist_id: int, outcome: str) -> None:
        """Only the specialist who claimed the case (holding it or having handed it back) or a
        supervisor closes it: an unclaimed case is nobody's to close but a supervisor's. A case
        someone else holds right now is not closed under them, not even by a supervisor."""
        if outcome not in OUTCOMES:
            raise CaseError(f"unknown outcome {outcome!r}; one of {', '.join(OUTCOMES)}")
        with self.store._session() as session, session.begin():
            row = session.get(models.Escalation, case_id)
            if row is None:
                raise CaseError(f"case {case_id} does not exist")
            closer = session.get(models.Specialist, specialist_id)
            supervisor = closer is not None and closer.role == "supervisor"
            if row.claimed_by != specialist_id and not supervisor:
                raise CaseForbidden(CLOSE_FORBIDDEN)
            if row.status == "closed":
                raise CaseError(f"case {case_id} is not open")
            if row.status == "claimed" and row.claimed_by != specialist_id:
                raise CaseError(f"case {case_id} is held by another specialist")
            missing = missing_evidence(session, row, outcome)
            if missing:
                raise CaseError(missing)
            row.status, row.outcome, row.closed_at = "closed", outcome, now_utc()
            self.store.audit(
                session, "case_closed", row.conversation_id, row.account_id,
                actor=f"specialist:{specialist_id}", case_id=case_id, outcome=outcome,
            )  # fmt: skip

    def decide_application(
        self, reference: str, specialist_id: int, approve: bool, note: str = ""
    ) -> str:
        """Approve or reject a pending plan application; the cardholder is told the outcome."""
        with self.store._session() as session, session.begin():
            agreement = session.execute(
                select(models.Agreement).where(models.Agreement.reference == reference)
            ).scalar_one_or_none()
            if agreement is None or agreement.status != "pending_approval":
                raise CaseError(f"no pending application {reference}")
            agreement.status = "approved" if approve else "rejected"
            agreement.decided_at, agreement.decided_by = now_utc(), f"specialist:{specialist_id}"
            self.store.audit(
                session, "application_decided", agreement.conversation_id, agreement.account_id,
                actor=f"specialist:{specialist_id}", reference=reference,
                status=agreement.status, note=note[:500],
            )  # fmt: skip
            case = (
                session.execute(
                    select(models.Escalation)
                    .where(models.Escalation.conversation_id == agreement.conversation_id)
                    .order_by(models.Escalation.id.desc())
                )
                .scalars()
                .first()
            )
            conversation_id, status = agreement.conversation_id, agreement.status
            channel = (case.channel if case else None) or "rest"
        text = (
            render("utter_application_approved", script="simplified", reference=reference)
            if approve
            else render(
                "utter_application_rejected",
                script="simplified",
                reference=reference,
                note=note or "未说明",
            )
        )
        self.outbox.post(
            conversation_id, channel, "system", text, event="application_decided",
            reference=reference, status=status,
        )  # fmt: skip
        return status
