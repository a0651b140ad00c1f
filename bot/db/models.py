"""The product's one schema: accounts and everything a conversation decides about them.

Money is stored as ``Numeric(12, 2)`` so yuan amounts survive round trips exactly on SQLite and
PostgreSQL alike. Every row that records a decision also has an ``audit_events`` row.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
)
from sqlalchemy.orm import declarative_base

from bot.clock import now_utc

Base = declarative_base()

MONEY = Numeric(12, 2)


class Account(Base):
    __tablename__ = "accounts"

    account_id = Column(String(32), primary_key=True)
    holder_name = Column(String(64), nullable=False)
    card_last4 = Column(String(4), nullable=False, index=True)
    # HMAC-SHA256 of the ID's last four with the bank's secret pepper (bot.identity.knowledge):
    # a copy of the table reveals no ID digits, and the pepper is not in the database.
    id_last4_hmac = Column(String(64), nullable=False)
    principal = Column(MONEY, nullable=False)
    interest = Column(MONEY, nullable=False)
    penalty = Column(MONEY, nullable=False)
    minimum_payment = Column(MONEY, nullable=False)
    overdue_days = Column(Integer, nullable=False)
    balance_as_of = Column(Date, nullable=False)
    credit_limit = Column(MONEY, nullable=False)
    has_active_installment = Column(Boolean, nullable=False, default=False)


class Payment(Base):
    __tablename__ = "payments"

    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.account_id"), nullable=False, index=True)
    amount = Column(MONEY, nullable=False)
    paid_at = Column(DateTime(timezone=True), nullable=False)
    channel = Column(String(32), nullable=False, default="bank_transfer")


class VerifiedSession(Base):
    """Who this conversation is, as the server decided it: the only source of access to an
    account. Bound to the conversation and its channel, it ends after ``idle_until`` passes
    without use, at ``expires_at`` whatever happens, or when revoked (a new Rasa session)."""

    __tablename__ = "identity_sessions"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    account_id = Column(ForeignKey("accounts.account_id"), nullable=False)
    method = Column(String(32), nullable=False)  # knowledge_check | widget_token | telegram_link
    verified_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    last_seen_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    revoked_at = Column(DateTime(timezone=True))


class IdentityAttempt(Base):
    """One knowledge check (card last-4 + ID last-4), kept so failures are counted across
    conversations: per card, per client and in all, whichever Rasa worker or action server saw
    them."""

    __tablename__ = "identity_attempts"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, default=now_utc, index=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    card_last4 = Column(String(4), nullable=False, index=True)
    client = Column(String(64), index=True)  # a keyed hash of the client's address, never the IP
    succeeded = Column(Boolean, nullable=False)


class PendingCard(Base):
    """The card last-4 a cardholder gave, until the ID last-4 follows: kept here and not in a
    slot, so no identity digit reaches the tracker store."""

    __tablename__ = "identity_pending_cards"

    conversation_id = Column(String(128), primary_key=True)
    card_last4 = Column(String(4), nullable=False)
    given_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class HardshipStatement(Base):
    __tablename__ = "hardship_statements"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    account_id = Column(ForeignKey("accounts.account_id"), nullable=False)
    reason = Column(String(32), nullable=False)
    monthly_income = Column(MONEY, nullable=False)
    monthly_expenses = Column(MONEY, nullable=False)
    other_debt_payments = Column(MONEY, nullable=False)
    dependents = Column(Integer, nullable=False)
    expected_recovery_months = Column(Integer, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class Offer(Base):
    __tablename__ = "offers"
    __table_args__ = (Index("ix_offers_batch", "conversation_id", "batch"),)

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False)
    account_id = Column(ForeignKey("accounts.account_id"), nullable=False)
    hardship_id = Column(ForeignKey("hardship_statements.id"))
    batch = Column(String(16), nullable=False)
    rank = Column(Integer, nullable=False)
    option_id = Column(String(32), nullable=False)
    type = Column(String(32), nullable=False)
    months = Column(Integer, nullable=False)
    monthly_payment = Column(MONEY, nullable=False)
    total_payment = Column(MONEY, nullable=False)
    total_cost = Column(MONEY, nullable=False)
    apr = Column(Numeric(8, 6), nullable=False)
    requires_approval = Column(Boolean, nullable=False)
    affordable = Column(Boolean)
    detail = Column(JSON, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class Agreement(Base):
    """A chosen offer: ``agreed`` at once, or ``pending_approval`` until a specialist decides."""

    __tablename__ = "agreements"

    id = Column(Integer, primary_key=True)
    reference = Column(String(32), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    # read for every plan step (the arrangement that stands): indexed
    account_id = Column(ForeignKey("accounts.account_id"), nullable=False, index=True)
    offer_id = Column(ForeignKey("offers.id"), nullable=False)
    status = Column(String(24), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    decided_at = Column(DateTime(timezone=True))
    decided_by = Column(String(64))


class Promise(Base):
    __tablename__ = "promises"

    id = Column(Integer, primary_key=True)
    reference = Column(String(32), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    account_id = Column(ForeignKey("accounts.account_id"), nullable=False)
    amount = Column(MONEY, nullable=False)
    due_date = Column(Date, nullable=False)
    status = Column(String(16), nullable=False, default="open")
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class Complaint(Base):
    __tablename__ = "complaints"

    id = Column(Integer, primary_key=True)
    reference = Column(String(32), nullable=False, unique=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    account_id = Column(ForeignKey("accounts.account_id"))
    text = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default="open")
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class Escalation(Base):
    """A case for a person: priority 0 is the most urgent (distress).

    status: ``open`` (waiting in the queue) → ``claimed`` (a specialist holds the conversation and
    the bot is silent) → ``closed`` (with an outcome code). ``claimed_by`` is set by one atomic
    UPDATE, so two specialists can never hold the same case.
    """

    __tablename__ = "escalations"
    # The queue and the case search (bot/console/search.py) order by priority and age within a
    # status, and look cases up by account and by holder; bench/bench_queue.py measures them.
    __table_args__ = (
        Index("ix_escalations_status_priority_created", "status", "priority", "created_at", "id"),
        Index("ix_escalations_account_id", "account_id"),
        Index("ix_escalations_claimed_by", "claimed_by"),
    )

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    account_id = Column(ForeignKey("accounts.account_id"))
    reason = Column(String(32), nullable=False)
    priority = Column(Integer, nullable=False)
    status = Column(String(16), nullable=False, default="open", index=True)
    channel = Column(String(32))
    detail = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    claimed_by = Column(ForeignKey("specialists.id"))
    claimed_at = Column(DateTime(timezone=True))
    closed_at = Column(DateTime(timezone=True))
    outcome = Column(String(32))


class CaseNote(Base):
    """A specialist's private note on a case: for colleagues and supervisors, never sent to the
    cardholder (what was learned on the phone, what to check next)."""

    __tablename__ = "case_notes"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(ForeignKey("escalations.id"), nullable=False, index=True)
    specialist_id = Column(ForeignKey("specialists.id"), nullable=False)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class Specialist(Base):
    """A console user; ``role`` is ``specialist`` or ``supervisor``."""

    __tablename__ = "specialists"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    display_name = Column(String(64), nullable=False)
    password_hash = Column(String(256), nullable=False)
    role = Column(String(16), nullable=False, default="specialist")
    last_seen_at = Column(DateTime(timezone=True))


class ConsoleSession(Base):
    __tablename__ = "console_sessions"

    token_hash = Column(String(64), primary_key=True)
    specialist_id = Column(ForeignKey("specialists.id"), nullable=False)
    csrf_token = Column(String(64), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    expires_at = Column(DateTime(timezone=True), nullable=False)


class OutboxMessage(Base):
    """A message to a cardholder that no request is waiting for (a specialist's reply, a
    decision, a reminder): each channel delivers its own and marks them delivered."""

    __tablename__ = "outbox_messages"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    channel = Column(String(32), nullable=False)
    author = Column(String(16), nullable=False)  # specialist | system | bot
    specialist_id = Column(ForeignKey("specialists.id"))
    text = Column(Text, nullable=False)
    payload = Column(JSON, nullable=False, default=dict)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    delivered_at = Column(DateTime(timezone=True), index=True)


class HeldMessage(Base):
    """What a cardholder wrote while a specialist held the conversation (the bot never read it)."""

    __tablename__ = "held_messages"

    id = Column(Integer, primary_key=True)
    escalation_id = Column(ForeignKey("escalations.id"), nullable=False, index=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    text = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class ContactRequest(Base):
    """When a cardholder who postponed would like to be contacted again."""

    __tablename__ = "contact_requests"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(128), nullable=False, index=True)
    account_id = Column(ForeignKey("accounts.account_id"))
    preferred_time = Column(String(200), nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id = Column(Integer, primary_key=True)
    at = Column(DateTime(timezone=True), nullable=False, default=now_utc, index=True)
    conversation_id = Column(String(128), index=True)
    account_id = Column(String(32))
    actor = Column(String(64), nullable=False)
    event = Column(String(64), nullable=False)
    detail = Column(JSON, nullable=False, default=dict)


class TelegramUpdate(Base):
    """A Telegram update already taken in: Telegram retries a webhook it thinks failed, and the
    poller may forward an update twice, so each ``update_id`` is processed exactly once."""

    __tablename__ = "telegram_updates"

    update_id = Column(BigInteger, primary_key=True, autoincrement=False)
    received_at = Column(DateTime(timezone=True), nullable=False, default=now_utc, index=True)


class TelegramCallback(Base):
    """A button's payload behind a short id: Telegram's callback_data holds at most 64 bytes and
    a payload with Chinese entity values does not fit."""

    __tablename__ = "telegram_callbacks"

    id = Column(String(16), primary_key=True)
    chat_id = Column(String(64), nullable=False)
    payload = Column(Text, nullable=False)
    created_at = Column(DateTime(timezone=True), nullable=False, default=now_utc, index=True)


class TelegramPause(Base):
    """Until when Telegram asked the bot to send nothing more (a flood limit's ``retry_after``):
    kept here so the delivery rounds of every Rasa worker wait, not only the one that was told."""

    __tablename__ = "telegram_pauses"

    name = Column(String(32), primary_key=True)
    until = Column(DateTime(timezone=True), nullable=False)


class TelegramDelivery(Base):
    """Why an outbox message for Telegram is not delivered yet: ``retry`` (after
    ``next_attempt_at``), or for good: ``blocked`` (the cardholder blocked the bot), ``failed``
    (too many attempts) or ``expired`` (a reminder whose day has passed)."""

    __tablename__ = "telegram_deliveries"

    outbox_message_id = Column(ForeignKey("outbox_messages.id"), primary_key=True)
    status = Column(String(16), nullable=False)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime(timezone=True))
    last_error = Column(String(200))
    updated_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class PaymentReminder(Base):
    """The one reminder posted for a promise to pay, the day before its due date."""

    __tablename__ = "payment_reminders"

    promise_id = Column(ForeignKey("promises.id"), primary_key=True)
    outbox_message_id = Column(ForeignKey("outbox_messages.id"), nullable=False)
    posted_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class AccountLinkCode(Base):
    """A one-time code the bank gave a cardholder (in its app or by SMS) to link a Telegram
    account (bot.identity.linking). Only a keyed hash is kept, so a copy of the table redeems
    nothing; a code works once, for ten minutes, and a newer code for the account ends it."""

    __tablename__ = "account_link_codes"

    id = Column(Integer, primary_key=True)
    account_id = Column(ForeignKey("accounts.account_id"), nullable=False, index=True)
    code_hash = Column(String(64), nullable=False, index=True)
    issued_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)
    expires_at = Column(DateTime(timezone=True), nullable=False)
    redeemed_at = Column(DateTime(timezone=True))
    redeemed_by = Column(String(64))  # the Telegram user id
    replaced_at = Column(DateTime(timezone=True))  # a newer code was issued before it was used


class TelegramLink(Base):
    """A Telegram user who proved with a one-time code to hold an account: their private chats
    are verified without the knowledge check until they send /unlink."""

    __tablename__ = "telegram_links"

    telegram_user_id = Column(String(64), primary_key=True)
    account_id = Column(ForeignKey("accounts.account_id"), nullable=False, index=True)
    linked_at = Column(DateTime(timezone=True), nullable=False, default=now_utc)


class TelegramLinkFailure(Base):
    """A wrong or expired code from a Telegram user: the fifth within an hour sets
    ``locked_until``, and until then that user cannot redeem any code (guessing stops)."""

    __tablename__ = "telegram_link_failures"

    id = Column(Integer, primary_key=True)
    telegram_user_id = Column(String(64), nullable=False, index=True)
    at = Column(DateTime(timezone=True), nullable=False, default=now_utc, index=True)
    locked_until = Column(DateTime(timezone=True))


class ConsoleLoginThrottle(Base):
    """Console login failures per username and per client address, shared by every console
    process: ``failures`` counted since ``window_started_at`` (an attempt is counted while its
    password is checked), and the lockout they caused (``locked_until``)."""

    __tablename__ = "console_login_throttles"

    scope = Column(String(16), primary_key=True)  # username | address
    key = Column(String(128), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    window_started_at = Column(DateTime(timezone=True))
    locked_until = Column(DateTime(timezone=True))
    updated_at = Column(DateTime(timezone=True), nullable=False, default=now_utc, index=True)
