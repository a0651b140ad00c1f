"""The console's controls: Secure cookies by default, who closes a case, four eyes on
approvals, and masked logs in the console process."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from sanic import Sanic
from sanic.response import HTTPResponse

from bot.console import __main__ as console_main
from bot.console.auth import cookie_secure, set_session_cookie
from bot.db import models
from bot.db.store import Store
from bot.handoff.cases import CaseForbidden, Cases
from tests.console.support import ConsoleServer
from tests.console.test_api import audit_events, pending_applications

CLOSE_REFUSED = {"error": "只有处理该案件的专员或主管可以结案"}
FOUR_EYES = {"error": "按规定，审批需由另一位专员或主管完成"}
CLAIM_FIRST = {"error": "请先领取该客户的案件再审批"}


# --- Secure cookies -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "secure"),
    [(None, True), ("", True), ("1", True), ("yes", True), ("0", False), ("false", False),
     (" FALSE ", False), ("no", False)],
)  # fmt: skip
def test_cookies_are_secure_unless_explicitly_turned_off(
    monkeypatch: pytest.MonkeyPatch, value: str | None, secure: bool
) -> None:
    if value is None:
        monkeypatch.delenv("CONSOLE_COOKIE_SECURE", raising=False)
    else:
        monkeypatch.setenv("CONSOLE_COOKIE_SECURE", value)
    assert cookie_secure() is secure
    response = HTTPResponse()
    set_session_cookie(response, "token")
    assert ("secure" in response.cookies["console_session"].keys()) is secure


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_console_started_without_the_setting_sends_secure_cookies(
    start_console: Callable[..., ConsoleServer],
) -> None:
    console = start_console(env={"CONSOLE_COOKIE_SECURE": None})
    answer = requests.post(
        f"{console.url}/api/login", json={"username": "zhang", "password": "zhang-pass-1"}
    )
    assert answer.status_code == 200
    assert "Secure" in answer.headers["Set-Cookie"]
    assert "Secure" in requests.get(f"{console.url}/login").headers["Set-Cookie"]


# --- closing --------------------------------------------------------------------------------


def test_only_the_holder_or_a_supervisor_closes_a_case(
    console: ConsoleServer,
    console_store: Store,
    zhang: requests.Session,
    li: requests.Session,
    boss: requests.Session,
) -> None:
    urgent = console_store.escalate("close-open", "distress", 0, "CC-0001", "rest")
    url = f"{console.url}/api/cases/{urgent.id}"
    assert zhang.get(url).json()["permissions"]["can_close"] is False
    refused = zhang.post(f"{url}/close", json={"outcome": "resolved"})
    assert refused.status_code == 403 and refused.json() == CLOSE_REFUSED
    assert console_store.rows(models.Escalation, id=urgent.id)[0].status == "open"
    assert boss.get(url).json()["permissions"]["can_close"] is True
    assert boss.post(f"{url}/close", json={"outcome": "no_contact"}).status_code == 200

    held = console_store.escalate("close-held", "request_human", 1, "CC-0002", "rest")
    url = f"{console.url}/api/cases/{held.id}"
    li.post(f"{url}/claim")
    refused = zhang.post(f"{url}/close", json={"outcome": "resolved"})
    assert refused.status_code == 403 and refused.json() == CLOSE_REFUSED
    # a supervisor does not close a case under the specialist holding it
    assert boss.get(url).json()["permissions"]["can_close"] is False
    assert boss.post(f"{url}/close", json={"outcome": "resolved"}).status_code == 409
    assert li.get(url).json()["permissions"]["can_close"] is True
    assert li.post(f"{url}/close", json={"outcome": "resolved"}).status_code == 200
    closers = [
        row.actor for row in console_store.rows(models.AuditEvent) if row.event == "case_closed"
    ]
    assert closers == [f"specialist:{boss.me['id']}", f"specialist:{li.me['id']}"]


def test_cases_refuse_a_close_by_anyone_else(console_store: Store) -> None:
    ids = {row.username: row.id for row in console_store.rows(models.Specialist)}
    cases = Cases(console_store)
    case_id = console_store.escalate("close-unit", "distress", 0, "CC-0001", "rest").id
    with pytest.raises(CaseForbidden, match="只有处理该案件的专员或主管可以结案"):
        cases.close(case_id, ids["zhang"], "resolved")
    assert cases.claim(case_id, ids["li"], "李强")
    cases.hand_back(case_id, ids["li"])
    with pytest.raises(CaseForbidden):
        cases.close(case_id, ids["zhang"], "resolved")
    cases.close(case_id, ids["li"], "resolved")  # handed back, still li's to close
    assert cases.get(case_id).status == "closed"


# --- four eyes ------------------------------------------------------------------------------


def test_four_eyes_the_negotiator_never_approves(
    console: ConsoleServer,
    console_store: Store,
    zhang: requests.Session,
    li: requests.Session,
    boss: requests.Session,
) -> None:
    case = console_store.escalate("four-eyes", "plan_approval", 2, "CC-0001", "rest")
    first, second = pending_applications(console_store, "four-eyes")
    decision = f"{console.url}/api/applications/{{}}/decision"
    case_url = f"{console.url}/api/cases/{case.id}"
    assert zhang.post(decision.format(first), json={"approve": True}).json() == CLAIM_FIRST
    zhang.post(f"{case_url}/claim")
    mine = zhang.get(case_url).json()["permissions"]
    assert mine == {
        "four_eyes": True,
        "can_close": True,
        "can_note": True,
        "can_approve": False,
        "can_reject": True,
    }
    refused = zhang.post(decision.format(first), json={"approve": True})
    assert refused.status_code == 403 and refused.json() == FOUR_EYES

    # li, who did not negotiate it, finds it in the queue and may open it to approve
    queued = {c["id"]: c for c in li.get(f"{console.url}/api/queue").json()["cases"]}
    assert queued[case.id]["pending_application"] is True
    theirs = li.get(case_url).json()["permissions"]
    assert theirs == {
        "four_eyes": True,
        "can_close": False,
        "can_note": False,
        "can_approve": True,
        "can_reject": False,
    }
    assert li.post(f"{case_url}/reply", json={"text": "插话"}).status_code == 403
    assert li.post(decision.format(second), json={"approve": False}).json() == CLAIM_FIRST
    approved = li.post(decision.format(first), json={"approve": True, "note": "复核通过"})
    assert approved.json() == {"reference": first, "status": "approved"}
    rejected = zhang.post(decision.format(second), json={"approve": False, "note": "收入证明不足"})
    assert rejected.json()["status"] == "rejected"

    # nothing left to approve: the case is zhang's alone again
    assert li.get(case_url).status_code == 403
    assert case.id not in [c["id"] for c in li.get(f"{console.url}/api/queue").json()["cases"]]
    decided = {
        row.detail["reference"]: row.actor
        for row in console_store.rows(models.AuditEvent, event="application_decided")
    }
    assert decided == {first: f"specialist:{li.me['id']}", second: f"specialist:{zhang.me['id']}"}
    agreements = {a.reference: a.decided_by for a in console_store.rows(models.Agreement)}
    assert agreements == decided

    # a supervisor approves what a specialist negotiated, but not what they negotiated themselves
    own = console_store.escalate("four-eyes-boss", "plan_approval", 2, "CC-0002", "rest")
    (boss_first, boss_second) = pending_applications(console_store, "four-eyes-boss")
    boss.post(f"{console.url}/api/cases/{own.id}/claim")
    assert boss.post(decision.format(boss_first), json={"approve": True}).json() == FOUR_EYES
    assert zhang.post(decision.format(boss_first), json={"approve": True}).status_code == 200
    assert boss.post(decision.format(boss_second), json={"approve": False}).status_code == 200
    assert "application_decided" in audit_events(console_store, conversation_id="four-eyes-boss")


def test_a_supervisor_approves_a_specialists_negotiation(
    console: ConsoleServer, console_store: Store, li: requests.Session, boss: requests.Session
) -> None:
    case = console_store.escalate("four-eyes-li", "plan_approval", 2, "CC-0001", "rest")
    first, _second = pending_applications(console_store, "four-eyes-li")
    li.post(f"{console.url}/api/cases/{case.id}/claim")
    answer = boss.post(
        f"{console.url}/api/applications/{first}/decision", json={"approve": True, "note": ""}
    )
    assert answer.json() == {"reference": first, "status": "approved"}


# --- masked logs ----------------------------------------------------------------------------


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def plain_logging() -> Iterator[Records]:
    """This test process's logging without masking, put back as it was afterwards."""
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)
    records = Records()
    logging.getLogger().addHandler(records)  # sanic replaces its own loggers' handlers
    yield records
    logging.getLogger().removeHandler(records)
    logging.setLogRecordFactory(factory)


def test_the_console_process_masks_its_logs(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, plain_logging: Records
) -> None:
    logging.getLogger("sanic.error").error("卡号 %s", "6217000011112222")
    assert plain_logging.messages == ["卡号 6217000011112222"]  # not masked before the start
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'console.db'}")
    monkeypatch.setattr(Sanic, "run", lambda self, **kwargs: None)
    monkeypatch.setattr(Sanic, "_app_registry", {})
    assert console_main.main(["--port", "5999"]) == 0
    logging.getLogger("sanic.error").error("卡号 %s", "6217000011112222")
    logging.getLogger("bot.console.app").warning("身份证尾号 123X")
    assert plain_logging.messages[1:] == ["卡号 ****************", "身份证尾号 ****"]
