"""Every read and write the conversation makes, each decision with its audit row.

Callers get plain frozen dataclasses back, never ORM rows, so nothing leaks a session across
an ``await`` and the actions stay testable against a real database without Rasa.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, inspect, literal, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError, MultipleResultsFound
from sqlalchemy.orm import Session

from bot.db import models
from bot.db.engine import create_db_engine

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"

PRIORITY_URGENT = 0
PRIORITY_HIGH = 1
PRIORITY_NORMAL = 2


@dataclass(frozen=True)
class AccountView:
    account_id: str
    holder_name: str
    principal: Decimal
    interest: Decimal
    penalty: Decimal
    minimum_payment: Decimal
    overdue_days_at_as_of: int
    balance_as_of: date
    credit_limit: Decimal
    has_active_installment: bool

    @property
    def total_due(self) -> Decimal:
        return self.principal + self.interest + self.penalty

    def overdue_days(self, on: date) -> int:
        """Overdue days grow day by day from the date the balances were struck."""
        return self.overdue_days_at_as_of + max(0, (on - self.balance_as_of).days)

    def as_case_account(self, on: date) -> dict[str, Any]:
        """The ``account`` part of a plan-engine case."""
        return {
            "principal": float(self.principal),
            "interest": float(self.interest),
            "penalty": float(self.penalty),
            "minimum_payment": float(self.minimum_payment),
            "overdue_days": self.overdue_days(on),
            "has_active_installment": self.has_active_installment,
        }


@dataclass(frozen=True)
class OfferView:
    id: int
    rank: int
    option_id: str
    type: str
    months: int
    monthly_payment: Decimal
    total_payment: Decimal
    total_cost: Decimal
    apr: Decimal
    requires_approval: bool
    detail: dict[str, Any]


ACTIVE_ARRANGEMENTS = ("agreed", "pending_approval", "approved")


@dataclass(frozen=True)
class ArrangementView:
    """An agreement or application that still stands, as the cardholder is told of it."""

    reference: str
    status: str
    monthly_payment: Decimal
    months: int
    first_due_date: str
    detail: dict[str, Any] = field(default_factory=dict)  # the offer's terms and schedule


@dataclass(frozen=True)
class PromiseView:
    """A promise to pay that is still open, for the cardholder's questions about it."""

    reference: str
    amount: Decimal
    due_date: date


@dataclass(frozen=True)
class Recorded:
    """What a write produced: its row id and, where the cardholder gets one, a reference number."""

    id: int
    reference: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class VerifiedRow:
    """A conversation's latest verified session not revoked (bot/identity/sessions.py judges
    whether it still holds)."""

    id: int
    channel: str
    account_id: str
    method: str
    verified_at: datetime
    last_seen_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class ControlsRow:
    """``Store.controls_of``: the session row, its account, and whether the conversation is in
    crisis (see ``in_crisis``)."""

    session: VerifiedRow | None
    account: AccountView | None
    in_crisis: bool


def new_reference(prefix: str) -> str:
    """Short, unambiguous reference a cardholder can read out over the phone."""
    body = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(8))
    return f"{prefix}-{body}"


def _account_view(row: models.Account) -> AccountView:
    return AccountView(
        account_id=row.account_id,
        holder_name=row.holder_name,
        principal=Decimal(row.principal),
        interest=Decimal(row.interest),
        penalty=Decimal(row.penalty),
        minimum_payment=Decimal(row.minimum_payment),
        overdue_days_at_as_of=row.overdue_days,
        balance_as_of=row.balance_as_of,
        credit_limit=Decimal(row.credit_limit),
        has_active_installment=bool(row.has_active_installment),
    )


def _offer_view(row: models.Offer) -> OfferView:
    return OfferView(
        id=row.id,
        rank=row.rank,
        option_id=row.option_id,
        type=row.type,
        months=row.months,
        monthly_payment=Decimal(row.monthly_payment),
        total_payment=Decimal(row.total_payment),
        total_cost=Decimal(row.total_cost),
        apr=Decimal(row.apr),
        requires_approval=bool(row.requires_approval),
        detail=dict(row.detail),
    )


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(create_db_engine(url))

    def create_schema(self) -> None:
        """The tables, and the indexes a table made by an earlier version lacks (create_all
        adds indexes only with the tables it creates)."""
        models.Base.metadata.create_all(self.engine)
        for table in models.Base.metadata.sorted_tables:
            present = self._indexes(table) if table.indexes else set()
            missing = [index for index in table.indexes if index.name not in present]
            for index in missing:
                try:
                    index.create(self.engine)
                except DatabaseError:  # another process made it at the same moment
                    if index.name not in self._indexes(table):
                        raise

    def _indexes(self, table: Any) -> set[str]:
        return {entry["name"] for entry in inspect(self.engine).get_indexes(table.name)}

    def session(self) -> Session:
        """A session on the product's engine (for the modules that keep their own tables)."""
        return Session(self.engine, future=True, expire_on_commit=False)

    _session = session

    def audit(
        self,
        session: Session,
        event: str,
        conversation_id: str | None,
        account_id: str | None = None,
        actor: str = "bot",
        **detail: Any,
    ) -> None:
        session.add(
            models.AuditEvent(
                conversation_id=conversation_id,
                account_id=account_id,
                actor=actor,
                event=event,
                detail=_jsonable(detail),
            )
        )

    # accounts -------------------------------------------------------------------------------

    def upsert_account(self, **fields: Any) -> None:
        with self._session() as session, session.begin():
            row = session.get(models.Account, fields["account_id"])
            if row is None:
                session.add(models.Account(**fields))
            else:
                for key, value in fields.items():
                    setattr(row, key, value)

    def get_account(self, account_id: str) -> AccountView | None:
        """One prebuilt Core statement (no ORM session: it runs for most actions)."""
        with self.engine.connect() as connection:
            row = connection.execute(_ACCOUNT, {"account_id": account_id}).first()
            return _account_view(row) if row else None

    def payments_since(self, account_id: str, since: datetime) -> list[tuple[Decimal, datetime]]:
        with self._session() as session:
            rows = session.execute(
                select(models.Payment.amount, models.Payment.paid_at)
                .where(models.Payment.account_id == account_id, models.Payment.paid_at >= since)
                .order_by(models.Payment.paid_at.desc())
            ).all()
            return [(Decimal(amount), paid_at) for amount, paid_at in rows]

    def record_payment(self, account_id: str, amount: Decimal, paid_at: datetime) -> None:
        with self._session() as session, session.begin():
            session.add(models.Payment(account_id=account_id, amount=amount, paid_at=paid_at))

    # hardship and offers --------------------------------------------------------------------

    def save_hardship(
        self, conversation_id: str, account_id: str, statement: dict[str, Any]
    ) -> Recorded:
        with self._session() as session, session.begin():
            row = models.HardshipStatement(
                conversation_id=conversation_id,
                account_id=account_id,
                reason=statement["reason"],
                monthly_income=Decimal(str(statement["monthly_income"])),
                monthly_expenses=Decimal(str(statement["monthly_expenses"])),
                other_debt_payments=Decimal(str(statement["other_debt_payments"])),
                dependents=int(statement["dependents"]),
                expected_recovery_months=int(statement["expected_recovery_months"]),
            )
            session.add(row)
            session.flush()
            self.audit(session, "hardship_recorded", conversation_id, account_id, **statement)
            return Recorded(id=row.id)

    def save_offers(
        self,
        conversation_id: str,
        account_id: str,
        hardship_id: int | None,
        proposal: dict[str, Any],
    ) -> str:
        """Store the options shown, in the order shown, under a new batch id."""
        batch = secrets.token_hex(4)
        with self._session() as session, session.begin():
            for rank, option in enumerate(proposal["options"], start=1):
                session.add(
                    models.Offer(
                        conversation_id=conversation_id,
                        account_id=account_id,
                        hardship_id=hardship_id,
                        batch=batch,
                        rank=rank,
                        option_id=option["id"],
                        type=option["type"],
                        months=int(option["months"]),
                        monthly_payment=Decimal(str(option["monthly_payment"])),
                        total_payment=Decimal(str(option["total_payment"])),
                        total_cost=Decimal(str(option["total_cost"])),
                        apr=Decimal(str(option["apr"])),
                        requires_approval=bool(option["requires_approval"]),
                        affordable=option.get("affordable"),
                        detail=_jsonable(option),
                    )
                )
            self.audit(
                session,
                "offers_made",
                conversation_id,
                account_id,
                batch=batch,
                options=[o["id"] for o in proposal["options"]],
                affordable_monthly=proposal.get("affordable_monthly"),
                escalate=proposal.get("escalate"),
            )
        return batch

    def get_offer(self, conversation_id: str, batch: str, rank: int) -> OfferView | None:
        with self._session() as session:
            row = session.execute(
                select(models.Offer).where(
                    models.Offer.conversation_id == conversation_id,
                    models.Offer.batch == batch,
                    models.Offer.rank == rank,
                )
            ).scalar_one_or_none()
            return _offer_view(row) if row else None

    def offers_in_batch(self, conversation_id: str, batch: str) -> list[OfferView]:
        with self._session() as session:
            rows = session.execute(
                select(models.Offer)
                .where(models.Offer.conversation_id == conversation_id, models.Offer.batch == batch)
                .order_by(models.Offer.rank)
            ).scalars()
            return [_offer_view(row) for row in rows]

    def create_agreement(self, conversation_id: str, account_id: str, offer: OfferView) -> Recorded:
        """An offer needing approval becomes an application (``pending_approval``), never a deal."""
        status = "pending_approval" if offer.requires_approval else "agreed"
        prefix = "AP" if offer.requires_approval else "AG"
        with self._session() as session, session.begin():
            row = models.Agreement(
                reference=new_reference(prefix),
                conversation_id=conversation_id,
                account_id=account_id,
                offer_id=offer.id,
                status=status,
            )
            session.add(row)
            session.flush()
            self.audit(
                session,
                "agreement_created" if status == "agreed" else "application_created",
                conversation_id,
                account_id,
                reference=row.reference,
                option_id=offer.option_id,
                monthly_payment=offer.monthly_payment,
                months=offer.months,
            )
            return Recorded(id=row.id, reference=row.reference, status=status)

    # promises, complaints, contact requests --------------------------------------------------

    def record_promise(
        self, conversation_id: str, account_id: str, amount: Decimal, due: date
    ) -> Recorded:
        with self._session() as session, session.begin():
            row = models.Promise(
                reference=new_reference("PP"),
                conversation_id=conversation_id,
                account_id=account_id,
                amount=amount,
                due_date=due,
            )
            session.add(row)
            session.flush()
            self.audit(
                session,
                "promise_recorded",
                conversation_id,
                account_id,
                reference=row.reference,
                amount=amount,
                due_date=due,
            )
            return Recorded(id=row.id, reference=row.reference)

    def record_complaint(self, conversation_id: str, account_id: str | None, text: str) -> Recorded:
        """One open complaint per conversation: a second "我要投诉" adds to it (status
        ``added``) instead of filing another."""
        with self._session() as session, session.begin():
            open_one = session.execute(
                select(models.Complaint)
                .where(
                    models.Complaint.conversation_id == conversation_id,
                    models.Complaint.status == "open",
                )
                .order_by(models.Complaint.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if open_one is not None:
                if text and text not in open_one.text:
                    open_one.text = (open_one.text + "\n" + text)[:8000]
                open_one.account_id = open_one.account_id or account_id
                self.audit(
                    session, "complaint_added", conversation_id, account_id,
                    reference=open_one.reference,
                )  # fmt: skip
                return Recorded(id=open_one.id, reference=open_one.reference, status="added")
            row = models.Complaint(
                reference=new_reference("CP"),
                conversation_id=conversation_id,
                account_id=account_id,
                text=text,
            )
            session.add(row)
            session.flush()
            self.audit(
                session, "complaint_recorded", conversation_id, account_id, reference=row.reference
            )
            return Recorded(id=row.id, reference=row.reference)

    def record_contact_request(
        self, conversation_id: str, account_id: str | None, preferred_time: str
    ) -> Recorded:
        with self._session() as session, session.begin():
            row = models.ContactRequest(
                conversation_id=conversation_id,
                account_id=account_id,
                preferred_time=preferred_time[:200],
            )
            session.add(row)
            session.flush()
            self.audit(
                session,
                "contact_time_recorded",
                conversation_id,
                account_id,
                preferred_time=preferred_time[:200],
            )
            return Recorded(id=row.id)

    def active_arrangement(self, account_id: str) -> ArrangementView | None:
        """The account's agreement or application that still stands (newest first)."""
        with self.engine.connect() as connection:
            row = connection.execute(_ARRANGEMENT, {"account_id": account_id}).first()
            if row is None:
                return None
            return ArrangementView(
                reference=row.reference,
                status=row.status,
                monthly_payment=Decimal(row.monthly_payment),
                months=row.months,
                first_due_date=str((row.detail or {}).get("first_due_date", "")),
                detail=dict(row.detail or {}),
            )

    # escalations ----------------------------------------------------------------------------

    def escalate(
        self,
        conversation_id: str,
        reason: str,
        priority: int,
        account_id: str | None = None,
        channel: str | None = None,
        **detail: Any,
    ) -> Recorded:
        """Open a case, or add to the one this conversation already has (raising its priority)."""
        with self._session() as session, session.begin():
            row = session.execute(
                select(models.Escalation).where(
                    models.Escalation.conversation_id == conversation_id,
                    models.Escalation.status.in_(("open", "claimed")),
                )
            ).scalar_one_or_none()
            if row is None:
                row = models.Escalation(
                    conversation_id=conversation_id,
                    account_id=account_id,
                    reason=reason,
                    priority=priority,
                    channel=channel,
                    detail=_jsonable(detail),
                )
                session.add(row)
            else:
                reasons = list(row.detail.get("other_reasons", []))
                reasons.append(reason)
                row.detail = {**row.detail, "other_reasons": reasons}
                if priority < row.priority:
                    row.priority, row.reason = priority, reason
                row.account_id = row.account_id or account_id
                row.channel = row.channel or channel
            session.flush()
            self.audit(
                session,
                "escalated",
                conversation_id,
                account_id,
                reason=reason,
                priority=priority,
                escalation_id=row.id,
            )
            return Recorded(id=row.id, status=row.status)

    def in_crisis(self, conversation_id: str) -> bool:
        """Distress was detected and no person has taken the conversation over yet: the bot
        says nothing about money until one has (the case is claimed, handed back or closed)."""
        with self.engine.connect() as connection:
            rows = connection.execute(_OPEN_CASE, {"conversation_id": conversation_id}).all()
        if len(rows) > 1:  # one open case per conversation (escalate() adds to it)
            raise MultipleResultsFound("more than one open case for a conversation")
        return bool(rows) and _distress(rows[0].reason, rows[0].detail)

    def controls_of(self, conversation_id: str) -> ControlsRow:
        """What the trust-boundary controls ask of a conversation for every action, in one
        statement instead of three (the verified-session row, its account, the crisis flag):
        bench/profile_controls.py measured the three at about 1 ms of the action server's CPU
        per message. The session row is not judged here (bot/identity/sessions.py does)."""
        with self.engine.connect() as connection:
            row = connection.execute(_CONTROLS, {"conversation_id": conversation_id}).one()
        session = (
            VerifiedRow(
                row.session_id, row.session_channel, row.session_account_id, row.session_method,
                row.session_verified_at, row.session_last_seen_at, row.session_expires_at,
            )
            if row.session_id is not None
            else None
        )  # fmt: skip
        account = _account_view(row) if row.account_id is not None else None
        return ControlsRow(session, account, _distress(row.case_reason, row.case_detail))

    # inspection (tests, console) -------------------------------------------------------------

    def open_promise(self, account_id: str) -> PromiseView | None:
        """The account's newest promise to pay that is still open."""
        with self._session() as session:
            row = session.execute(
                select(models.Promise)
                .where(models.Promise.account_id == account_id, models.Promise.status == "open")
                .order_by(models.Promise.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if row is None:
                return None
            return PromiseView(row.reference, Decimal(row.amount), row.due_date)

    def rows(self, model: type, **filters: Any) -> list[Any]:
        """Detached rows of one table matching equality filters, oldest first."""
        with self._session() as session:
            query = select(model).filter_by(**filters)
            return list(session.execute(query.order_by(model.id)).scalars())

    def count(self, model: type, **filters: Any) -> int:
        with self._session() as session:
            return session.execute(
                select(func.count()).select_from(model).filter_by(**filters)
            ).scalar_one()


def _distress(reason: str | None, detail: dict[str, Any] | None) -> bool:
    """An open case is a crisis when distress opened it or was added to it."""
    if reason is None:
        return False
    return reason == "distress" or "distress" in (detail or {}).get("other_reasons", [])


# The hot reads, built once so SQLAlchemy reuses their compiled form (an ORM session and query
# per read cost about 0.3 ms of CPU each in the action server).
_accounts = models.Account.__table__
_ACCOUNT_COLUMNS = [
    _accounts.c[name]
    for name in (
        "account_id", "holder_name", "principal", "interest", "penalty", "minimum_payment",
        "overdue_days", "balance_as_of", "credit_limit", "has_active_installment",
    )
]  # fmt: skip
_ACCOUNT = select(*_ACCOUNT_COLUMNS).where(_accounts.c.account_id == bindparam("account_id"))

_agreements, _offers = models.Agreement.__table__, models.Offer.__table__
_ARRANGEMENT = (
    select(
        _agreements.c.reference, _agreements.c.status,
        _offers.c.monthly_payment, _offers.c.months, _offers.c.detail,
    )
    .join_from(_agreements, _offers, _offers.c.id == _agreements.c.offer_id)
    .where(
        _agreements.c.account_id == bindparam("account_id"),
        _agreements.c.status.in_(ACTIVE_ARRANGEMENTS),
    )
    .order_by(_agreements.c.id.desc())
    .limit(1)
)  # fmt: skip

_escalations = models.Escalation.__table__
_OPEN_CASE = select(_escalations.c.reason, _escalations.c.detail).where(
    _escalations.c.conversation_id == bindparam("conversation_id"),
    _escalations.c.status == "open",
)


def _controls_statement() -> Any:
    sessions = models.VerifiedSession.__table__
    conversation = bindparam("conversation_id")
    latest = (
        select(func.max(sessions.c.id))
        .where(sessions.c.conversation_id == conversation, sessions.c.revoked_at.is_(None))
        .scalar_subquery()
    )
    open_case = _escalations.c.conversation_id == conversation, _escalations.c.status == "open"
    # one row whatever exists: the anchor, the latest session (if any) and its account
    anchor = select(literal(1).label("one")).subquery()
    return (
        select(
            sessions.c.id.label("session_id"),
            sessions.c.channel.label("session_channel"),
            sessions.c.account_id.label("session_account_id"),
            sessions.c.method.label("session_method"),
            sessions.c.verified_at.label("session_verified_at"),
            sessions.c.last_seen_at.label("session_last_seen_at"),
            sessions.c.expires_at.label("session_expires_at"),
            *_ACCOUNT_COLUMNS,
            select(_escalations.c.reason).where(*open_case).scalar_subquery().label("case_reason"),
            select(_escalations.c.detail).where(*open_case).scalar_subquery().label("case_detail"),
        )
        .select_from(anchor)
        .outerjoin(sessions, sessions.c.id == latest)
        .outerjoin(_accounts, _accounts.c.account_id == sessions.c.account_id)
    )


_CONTROLS = _controls_statement()


def _jsonable(value: Any) -> Any:
    """Decimals and dates into JSON-friendly values for the JSON columns."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value
