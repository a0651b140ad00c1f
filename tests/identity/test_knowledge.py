"""The knowledge check and verified sessions on real SQLite and PostgreSQL databases: unique
matches, digests instead of ID digits, throttling across conversations, expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.db import models
from bot.db.store import Store
from bot.identity import knowledge
from bot.identity.knowledge import KnowledgeCheck, client_key, id_last4_digest
from bot.identity.sessions import KNOWLEDGE_CHECK, VerifiedSessions
from bot.settings import load_settings


def test_pairs_are_matched_through_digests_and_must_be_unique(store: Store) -> None:
    check = KnowledgeCheck(store)
    assert check.check("c1", "rest", "6217", "9999").outcome == knowledge.WRONG
    result = check.check("c1", "rest", "8832", "567x")  # lower-case x accepted
    assert result.outcome == knowledge.VERIFIED and result.account.account_id == "CC-0002"
    assert VerifiedSessions(store).current("c1", "rest") == "CC-0002"
    with store.session() as session:
        rows = session.query(models.Account).all()
    assert all(len(row.id_last4_hmac) == 64 for row in rows)
    assert not any(hasattr(row, "id_last4") for row in rows)
    # a second account with the same pair: nobody is verified into a stranger's account
    twin = store.get_account("CC-0001")
    store.upsert_account(
        account_id="CC-TWIN", holder_name="李某", card_last4="8832",
        id_last4_hmac=id_last4_digest("567X", load_settings().identity_pepper),
        principal=twin.principal, interest=twin.interest, penalty=twin.penalty,
        minimum_payment=twin.minimum_payment, overdue_days=3, balance_as_of=twin.balance_as_of,
        credit_limit=twin.credit_limit, has_active_installment=False,
    )  # fmt: skip
    assert check.check("c2", "rest", "8832", "567X").outcome == knowledge.AMBIGUOUS
    assert VerifiedSessions(store).current("c2", "rest") is None


def test_guesses_are_throttled_across_conversations(store: Store) -> None:
    settings = replace(load_settings(), identity_failures_per_card=5, max_verification_attempts=3)
    check = KnowledgeCheck(store, settings)
    outcomes = []
    for conversation in range(6):  # six conversations, three wrong guesses each
        for guess in range(3):
            result = check.check(f"guess-{conversation}", "rest", "6217", f"{guess:04d}")
            outcomes.append(result.outcome)
    assert outcomes.count(knowledge.WRONG) + outcomes.count(knowledge.LOCKED_CONVERSATION) <= 5
    # the right pair no longer verifies from a fresh conversation: the card is locked
    assert check.check("owner", "rest", "6217", "1234").outcome == knowledge.LOCKED_CARD
    # one case for the specialists, and an audit row that names the card
    cases = [row for row in store.rows(models.Escalation) if row.reason == "identity_card_locked"]
    assert len(cases) == 1 and cases[0].account_id == "CC-0001"
    (audit,) = store.rows(models.AuditEvent, event="identity_card_locked")
    assert audit.detail["card_last4"] == "6217"


def test_a_client_and_everyone_have_limits_too(store: Store) -> None:
    settings = replace(load_settings(), identity_failures_per_client=4, identity_failures_global=7)
    check = KnowledgeCheck(store, settings)
    client = client_key("198.51.100.7", settings.identity_pepper)
    for index in range(4):  # different cards, one client
        check.check(f"c{index}", "rest", f"{1000 + index}", "0000", client)
    assert check.check("c9", "rest", "8832", "567X", client).outcome == knowledge.LOCKED_CLIENT
    assert check.check("c10", "rest", "8832", "567X").outcome == knowledge.VERIFIED
    for index in range(3):
        check.check(f"d{index}", "rest", f"{2000 + index}", "0000")
    assert check.check("c11", "rest", "8832", "567X").outcome == knowledge.LOCKED_EVERYWHERE


def test_verification_expires_when_idle_and_at_its_limit(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    sessions = VerifiedSessions(store, replace(load_settings(), verification_idle_minutes=15))
    sessions.grant("c1", "rest", "CC-0001", KNOWLEDGE_CHECK)
    assert sessions.current("c1", "rest") == "CC-0001"
    assert sessions.current("c1", "telegram") is None  # another channel's client: no
    real_now = __import__("bot.clock", fromlist=["now_utc"]).now_utc
    later = real_now() + timedelta(minutes=16)
    monkeypatch.setattr("bot.identity.sessions.now_utc", lambda: later)
    assert sessions.current("c1", "rest") is None  # idle too long
    monkeypatch.setattr("bot.identity.sessions.now_utc", real_now)
    assert sessions.current("c1", "rest") is None  # and it stays ended
    sessions.grant("c2", "rest", "CC-0001", KNOWLEDGE_CHECK)
    for minutes in range(10, 70, 10):  # in steady use, but past the absolute limit
        moment = real_now() + timedelta(minutes=minutes)
        monkeypatch.setattr("bot.identity.sessions.now_utc", lambda moment=moment: moment)
        answer = sessions.current("c2", "rest")
    assert answer is None


def test_a_new_session_ends_a_knowledge_check_but_not_a_channel_login(store: Store) -> None:
    sessions = VerifiedSessions(store)
    sessions.grant("c1", "rest", "CC-0001", KNOWLEDGE_CHECK)
    sessions.grant("w1", "widget", "CC-0002", "widget_token")
    started_now = __import__("bot.clock", fromlist=["now_utc"]).now_utc()
    earlier = started_now - timedelta(minutes=5)
    assert sessions.current("c1", "rest", session_started=earlier) == "CC-0001"
    assert sessions.current("c1", "rest", session_started=started_now) is None  # a new session
    assert sessions.current("c1", "rest") is None  # and it stays ended
    assert sessions.current("w1", "widget", session_started=started_now) == "CC-0002"
