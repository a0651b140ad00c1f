"""Account links by one-time code (bot.identity.linking) on real SQLite and PostgreSQL: a code
works once, for ten minutes, only the newest one, only its keyed hash is stored, and guessing
stops after five wrong codes an hour."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.db import models
from bot.db.store import Store
from bot.identity import linking
from bot.identity.linking import (
    CODE_DIGITS,
    INVALID,
    LINKED,
    LOCKED,
    AccountLinks,
    UnknownAccount,
    normalise_code,
)
from bot.settings import Settings

PEPPER = "test-pepper-for-links"
START = datetime(2026, 11, 22, 2, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(linking, "now_utc", fake)
    return fake


@pytest.fixture
def links(store: Store) -> AccountLinks:
    return AccountLinks(store, Settings(database_url="", identity_pepper=PEPPER))


def events(store: Store, name: str) -> list[models.AuditEvent]:
    return store.rows(models.AuditEvent, event=name)


def test_a_code_is_random_digits_and_only_its_keyed_hash_is_stored(
    store: Store, links: AccountLinks, clock: Clock
) -> None:
    codes = {links.issue_code("CC-0001") for _ in range(5)}
    assert len(codes) == 5
    assert all(len(code) == CODE_DIGITS and code.isdigit() for code in codes)
    rows = store.rows(models.AccountLinkCode, account_id="CC-0001")
    expected = {hmac.new(PEPPER.encode(), c.encode(), hashlib.sha256).hexdigest() for c in codes}
    assert {row.code_hash for row in rows} == expected
    stored = json.dumps(
        [
            [str(getattr(row, column.name)) for column in models.AccountLinkCode.__table__.columns]
            for row in rows
        ]
        + [event.detail for event in store.rows(models.AuditEvent)]
    )
    assert not any(code in stored for code in codes)
    (issued, *_rest) = events(store, "telegram_link_code_issued")
    assert issued.account_id == "CC-0001" and issued.actor == "bank"
    # another pepper makes other hashes: a copy of the table without the pepper redeems nothing
    other = AccountLinks(store, Settings(database_url="", identity_pepper="another"))
    assert other.code_hash(next(iter(codes))) not in expected


def test_a_code_links_once(store: Store, links: AccountLinks, clock: Clock) -> None:
    code = links.issue_code("CC-0002")
    outcome = links.attempt("5001", code, "5001")
    assert outcome == linking.Redemption(LINKED, "CC-0002", "8832")
    assert links.linked_account("5001") == "CC-0002"
    assert links.redeem("5001", code, "5001") is None  # used
    assert links.redeem("5002", code, "5002") is None  # by anyone
    assert links.linked_account("5002") is None
    (linked,) = events(store, "telegram_linked")
    assert (linked.conversation_id, linked.account_id, linked.actor) == (
        "5001",
        "CC-0002",
        "telegram:5001",
    )
    assert [e.detail["reason"] for e in events(store, "telegram_link_failed")] == ["used", "used"]


def test_the_code_may_be_typed_loosely(store: Store, links: AccountLinks, clock: Clock) -> None:
    code = links.issue_code("CC-0001")
    fullwidth = "".join(chr(ord(d) + 0xFEE0) for d in code)
    assert normalise_code(f" {code[:4]} {code[4:]} ") == code
    assert normalise_code(fullwidth) == code
    assert normalise_code("1234567") is None and normalise_code("abcdefgh") is None
    assert normalise_code("١٢٣٤٥٦٧٨") is None  # other scripts' digits are not codes
    assert links.redeem("5003", fullwidth, "5003") == "CC-0001"


def test_a_code_expires_after_ten_minutes(store: Store, links: AccountLinks, clock: Clock) -> None:
    late = links.issue_code("CC-0001")
    clock.advance(minutes=10)
    assert links.attempt("5004", late, "5004").status == INVALID
    timely = links.issue_code("CC-0001")
    clock.advance(minutes=9, seconds=59)
    assert links.redeem("5004", timely, "5004") == "CC-0001"
    (failed,) = events(store, "telegram_link_failed")
    assert failed.detail["reason"] == "expired" and failed.account_id == "CC-0001"


def test_a_new_code_ends_the_older_unused_ones(
    store: Store, links: AccountLinks, clock: Clock
) -> None:
    first = links.issue_code("CC-0001")
    other_account = links.issue_code("CC-0002")
    second = links.issue_code("CC-0001")
    assert links.redeem("5005", first, "5005") is None
    assert links.redeem("5005", second, "5005") == "CC-0001"
    assert links.redeem("5006", other_account, "5006") == "CC-0002"  # another account's code
    (failed,) = events(store, "telegram_link_failed")
    assert failed.detail["reason"] == "replaced"


def test_five_wrong_codes_in_an_hour_lock_the_user_out_for_an_hour(
    store: Store, links: AccountLinks, clock: Clock
) -> None:
    for _ in range(4):
        assert links.attempt("5007", "0" * CODE_DIGITS, "5007").status == INVALID
        clock.advance(minutes=5)
    code = links.issue_code("CC-0001")
    assert links.attempt("5007", "不是关联码", "5007").status == LOCKED  # the fifth
    assert links.locked("5007") and not links.locked("5008")
    assert links.attempt("5007", code, "5007").status == LOCKED  # even the right code
    assert links.linked_account("5007") is None
    assert links.attempt("5008", code, "5008").status == LINKED  # other users are not affected
    assert len(events(store, "telegram_link_failed")) == 5
    (locked,) = events(store, "telegram_link_locked")
    assert locked.conversation_id == "5007" and locked.actor == "telegram:5007"
    (refused,) = events(store, "telegram_link_refused")
    assert refused.detail["reason"] == "locked"
    clock.advance(minutes=59)
    assert links.locked("5007")
    clock.advance(minutes=1)
    assert not links.locked("5007")
    fresh = links.issue_code("CC-0003")
    assert links.redeem("5007", fresh, "5007") == "CC-0003"


def test_wrong_codes_older_than_an_hour_do_not_count(
    store: Store, links: AccountLinks, clock: Clock
) -> None:
    for _ in range(4):
        assert links.attempt("5009", "12345678", "5009").status == INVALID
    clock.advance(hours=1, seconds=1)
    for _ in range(4):
        assert links.attempt("5009", "12345678", "5009").status == INVALID
    assert not links.locked("5009")
    assert links.attempt("5009", "12345678", "5009").status == LOCKED


def test_unlink_forgets_the_link_and_a_new_code_relinks(
    store: Store, links: AccountLinks, clock: Clock
) -> None:
    assert links.redeem("5010", links.issue_code("CC-0001"), "5010") == "CC-0001"
    assert links.redeem("5010", links.issue_code("CC-0002"), "5010") == "CC-0002"  # replaces
    assert links.unlink("5010", "5010")
    assert links.linked_account("5010") is None
    assert not links.unlink("5010")
    (unlinked,) = events(store, "telegram_unlinked")
    assert unlinked.account_id == "CC-0002" and unlinked.conversation_id == "5010"
    relinked = events(store, "telegram_linked")[-1]
    assert relinked.detail["replaced_account"] == "CC-0001"
    with store.session() as session:
        assert session.execute(select(models.TelegramLink)).first() is None


def test_codes_only_for_known_accounts(links: AccountLinks) -> None:
    with pytest.raises(UnknownAccount):
        links.issue_code("CC-9999")


def test_the_command_line_prints_a_code_that_links(
    store: Store, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", store.engine.url.render_as_string(hide_password=False))
    assert linking.main(["issue", "CC-0001"]) == 0
    code = capsys.readouterr().out.strip()
    assert len(code) == CODE_DIGITS and code.isdigit()
    assert AccountLinks(store).redeem("5011", code, "5011") == "CC-0001"
    assert linking.main(["issue", "CC-9999"]) == 1
    assert "CC-9999" in capsys.readouterr().err
