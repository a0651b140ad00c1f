"""The console's JSON API over HTTP against the real server and a real database."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal
from pathlib import Path

import requests
from sqlalchemy import select

from bot.clock import now_utc
from bot.console.sessions import token_hash
from bot.db import models
from bot.db.store import Store
from bot.handoff.cases import Cases
from tests.console.support import ConsoleServer, login

PROPOSAL = {
    "affordable_monthly": 700.0,
    "escalate": True,
    "options": [
        {
            "id": "pers-60",
            "type": "personalized_installment",
            "months": 60,
            "monthly_payment": 618.93,
            "total_payment": 37135.5,
            "total_cost": 0.0,
            "apr": 0.0,
            "requires_approval": True,
            "affordable": True,
        },
        {
            "id": "defer-3",
            "type": "deferral",
            "months": 3,
            "monthly_payment": 0.0,
            "total_payment": 37135.5,
            "total_cost": 0.0,
            "apr": 0.0,
            "requires_approval": True,
            "affordable": True,
        },
    ],
}


def pending_applications(store: Store, conversation_id: str) -> list[str]:
    batch = store.save_offers(conversation_id, "CC-0001", None, PROPOSAL)
    offers = store.offers_in_batch(conversation_id, batch)
    return [store.create_agreement(conversation_id, "CC-0001", offer).reference for offer in offers]


def console_sessions(store: Store) -> list[models.ConsoleSession]:
    with store._session() as session:
        return list(session.execute(select(models.ConsoleSession)).scalars())


def audit_events(store: Store, **filters: str) -> list[str]:
    return [row.event for row in store.rows(models.AuditEvent, **filters)]


# --- login and sessions -------------------------------------------------------------------


def test_login_me_logout_and_wrong_password(console: ConsoleServer, console_store: Store) -> None:
    wrong = requests.post(
        f"{console.url}/api/login", json={"username": "zhang", "password": "nope"}, timeout=10
    )
    assert wrong.status_code == 401 and wrong.json() == {"error": "用户名或密码不正确"}
    unknown = requests.post(
        f"{console.url}/api/login", json={"username": "ghost", "password": "x"}, timeout=10
    )
    assert unknown.status_code == 401

    session = requests.Session()
    response = session.post(
        f"{console.url}/api/login", json={"username": "zhang", "password": "zhang-pass-1"}
    )
    assert response.status_code == 200
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Max-Age=" in cookie
    token = session.cookies["console_session"]
    stored = console_sessions(console_store)
    assert [row.token_hash for row in stored] == [token_hash(token)]  # only the hash is kept
    assert stored[0].csrf_token == response.json()["csrf_token"]

    me = session.get(f"{console.url}/api/me").json()
    assert me["username"] == "zhang" and me["role"] == "specialist"
    assert console_store.rows(models.Specialist, username="zhang")[0].last_seen_at is not None

    no_csrf = session.post(f"{console.url}/api/logout")
    assert no_csrf.status_code == 403
    out = session.post(f"{console.url}/api/logout", headers={"X-CSRF-Token": me["csrf_token"]})
    assert out.status_code == 200
    assert session.get(f"{console.url}/api/me").status_code == 401
    assert console_sessions(console_store) == []
    events = audit_events(console_store)
    assert events.count("console_login_failed") == 2
    assert "console_login" in events and "console_logout" in events


def test_form_login_needs_its_csrf_cookie_and_pages_need_a_session(console: ConsoleServer) -> None:
    browser = requests.Session()
    assert browser.get(f"{console.url}/", allow_redirects=False).headers["Location"] == "/login"
    form = browser.get(f"{console.url}/login")
    assert "专员控制台" in form.text and 'for="password"' in form.text
    token = browser.cookies["console_login_csrf"]
    forged = requests.post(
        f"{console.url}/login",
        data={"username": "zhang", "password": "zhang-pass-1", "csrf_token": "x"},
        allow_redirects=False,
    )
    assert forged.status_code == 403
    done = browser.post(
        f"{console.url}/login",
        data={"username": "zhang", "password": "zhang-pass-1", "csrf_token": token},
        allow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["Location"] == "/"
    queue_page = browser.get(f"{console.url}/")
    assert queue_page.status_code == 200 and "案件队列" in queue_page.text
    assert "script-src 'self'" in queue_page.headers["Content-Security-Policy"]
    assert browser.get(f"{console.url}/static/console.js").status_code == 200


def test_writes_without_the_csrf_token_are_refused(
    console: ConsoleServer, console_store: Store, zhang: requests.Session
) -> None:
    case = console_store.escalate("conv-csrf", "request_human", 1, "CC-0001", "rest")
    bare = requests.Session()
    bare.cookies.update(zhang.cookies)
    missing = bare.post(f"{console.url}/api/cases/{case.id}/claim")
    wrong = bare.post(f"{console.url}/api/cases/{case.id}/claim", headers={"X-CSRF-Token": "x"})
    assert missing.status_code == wrong.status_code == 403
    assert "CSRF" in missing.json()["error"]
    assert console_store.rows(models.Escalation, id=case.id)[0].status == "open"
    assert zhang.post(f"{console.url}/api/cases/{case.id}/claim").status_code == 200


# --- roles and the queue ------------------------------------------------------------------


def test_specialists_and_supervisors_see_different_things(
    console: ConsoleServer,
    console_store: Store,
    zhang: requests.Session,
    li: requests.Session,
    boss: requests.Session,
) -> None:
    case = console_store.escalate("conv-roles", "complaint", 1, "CC-0002", "rest")
    assert li.post(f"{console.url}/api/cases/{case.id}/claim").status_code == 200

    assert zhang.get(f"{console.url}/api/dashboard").status_code == 403
    assert zhang.get(f"{console.url}/dashboard").status_code == 403
    assert zhang.get(f"{console.url}/dashboard/charts/reasons.png").status_code == 403
    assert zhang.get(f"{console.url}/api/cases/{case.id}").status_code == 403  # li's case
    assert zhang.get(f"{console.url}/api/queue").json()["cases"] == []
    assert [c["id"] for c in li.get(f"{console.url}/api/queue").json()["cases"]] == [case.id]

    everyone = boss.get(f"{console.url}/api/queue").json()["cases"]
    assert everyone[0]["claimed_by_name"] == "李强"
    assert boss.get(f"{console.url}/api/cases/{case.id}").status_code == 200
    numbers = boss.get(f"{console.url}/api/dashboard").json()
    assert numbers["by_reason"] == [{"reason": "complaint", "label": "投诉", "count": 1}]
    assert numbers["by_status"] == {"claimed": 1}
    for name in ("reasons", "outcomes", "waiting", "plans", "amounts"):
        chart = boss.get(f"{console.url}/dashboard/charts/{name}.png")
        assert chart.status_code == 200 and chart.content.startswith(b"\x89PNG")
    assert boss.get(f"{console.url}/dashboard/charts/nope.png").status_code == 404


def test_queue_is_sorted_by_priority_then_waiting_time(
    console_store: Store, zhang: requests.Session, console: ConsoleServer
) -> None:
    old_normal = console_store.escalate("q-1", "misunderstood", 2)
    time.sleep(0.02)
    high = console_store.escalate("q-2", "request_human", 1, "CC-0002")
    time.sleep(0.02)
    urgent = console_store.escalate("q-3", "distress", 0, "CC-0003", message="撑不下去了")
    time.sleep(0.02)
    new_normal = console_store.escalate("q-4", "technical", 2)
    cases = zhang.get(f"{console.url}/api/queue").json()["cases"]
    assert [c["id"] for c in cases] == [urgent.id, high.id, old_normal.id, new_normal.id]
    assert [c["urgent"] for c in cases] == [True, False, False, False]
    assert cases[0]["message"] == "撑不下去了" and cases[0]["reason_label"] == "情绪危机"
    assert cases[1]["holder_name"] is not None and cases[2]["holder_name"] is None


# --- working a case -----------------------------------------------------------------------


def test_claim_reply_hand_back_and_close(
    console: ConsoleServer, console_store: Store, zhang: requests.Session, li: requests.Session
) -> None:
    case = console_store.escalate("conv-work", "request_human", 1, "CC-0001", "telegram")
    url = f"{console.url}/api/cases/{case.id}"
    claimed = zhang.post(f"{url}/claim")
    assert claimed.status_code == 200 and claimed.json()["case"]["status"] == "claimed"
    assert li.post(f"{url}/claim").json() == {"error": "该案件已被其他专员领取或已不在队列中"}

    assert zhang.post(f"{url}/reply", json={"text": "   "}).status_code == 400
    assert zhang.post(f"{url}/reply", json={"text": "您好，我是专员张敏。"}).status_code == 200
    assert li.post(f"{url}/reply", json={"text": "插话"}).status_code == 403
    outbox = console_store.rows(models.OutboxMessage, conversation_id="conv-work")
    assert [(m.author, m.channel) for m in outbox] == [
        ("system", "telegram"),
        ("specialist", "telegram"),
    ]
    assert outbox[1].text == "您好，我是专员张敏。" and outbox[1].specialist_id == zhang.me["id"]

    detail = zhang.get(url).json()
    assert [(i["author"], i["text"]) for i in detail["transcript"]][-1] == (
        "specialist",
        "您好，我是专员张敏。",
    )
    assert detail["account"]["total_due"] == 37135.5
    assert detail["case"]["left_message"] is None
    cases = Cases(console_store)
    cases.record_held_message(cases.get(case.id), "每个月大概能还五六百")
    assert zhang.get(url).json()["case"]["left_message"] == "每个月大概能还五六百"

    assert zhang.post(f"{url}/hand-back", json={"step": "sing"}).status_code == 400
    back = zhang.post(f"{url}/hand-back", json={"step": "propose_plans"})
    assert back.json() == {"status": "returned", "resume_step": "propose_plans"}
    row = console_store.rows(models.Escalation, id=case.id)[0]
    assert row.status == "returned" and row.detail["resume_step"] == "propose_plans"
    assert console_store.rows(models.OutboxMessage, conversation_id="conv-work")[-1].payload == {
        "event": "specialist_left"
    }
    assert zhang.post(f"{url}/reply", json={"text": "还在吗"}).status_code == 409

    assert zhang.post(f"{url}/close", json={"outcome": "maybe"}).status_code == 400
    unproven = zhang.post(f"{url}/close", json={"outcome": "plan_agreed"})
    assert unproven.status_code == 409
    assert "尚无已达成或已批准的还款方案" in unproven.json()["error"]
    closed = zhang.post(f"{url}/close", json={"outcome": "no_contact"})
    assert closed.json() == {"status": "closed", "outcome": "no_contact"}
    row = console_store.rows(models.Escalation, id=case.id)[0]
    assert (row.status, row.outcome) == ("closed", "no_contact")
    assert zhang.post(f"{url}/close", json={"outcome": "resolved"}).status_code == 409
    assert audit_events(console_store, conversation_id="conv-work") == [
        "escalated",
        "case_claimed",
        "specialist_replied",
        "case_handed_back",
        "case_closed",
    ]
    trail = zhang.get(url).json()["trail"]  # the same steps, on the case page, in Chinese
    assert [(t["label"], t["actor"]) for t in trail] == [
        ("转人工", "智能助手"),
        ("专员领取案件", "张敏"),
        ("专员回复客户", "张敏"),
        ("交还智能助手", "张敏"),
        ("结案", "张敏"),
    ]
    assert trail[3]["detail"] == "重新提出方案" and trail[4]["detail"] == "结果：未能联系"


def test_the_case_shows_the_account_s_history(
    console: ConsoleServer, console_store: Store, zhang: requests.Session
) -> None:
    """Earlier cases, promises (kept by payments or broken), complaints of the same account;
    nothing of other accounts, and no history before identity is verified."""
    earlier = console_store.escalate("hist-0", "complaint", 1, "CC-0002", "rest")
    console_store.record_complaint("hist-0", "CC-0002", "催收电话太频繁了，一天打了五次")
    kept = console_store.record_promise("hist-0", "CC-0002", Decimal("300.00"), date(2026, 12, 31))
    console_store.record_promise("hist-0", "CC-0002", Decimal("800.00"), date(2020, 1, 1))
    with console_store._session() as session, session.begin():
        session.add(
            models.Payment(account_id="CC-0002", amount=Decimal("300.00"), paid_at=now_utc())
        )
    console_store.escalate("hist-x", "request_human", 1, "CC-0003", "rest")  # another account
    case = console_store.escalate("hist-1", "request_human", 1, "CC-0002", "rest")
    history = zhang.get(f"{console.url}/api/cases/{case.id}").json()["history"]
    assert [(c["id"], c["reason_label"]) for c in history["cases"]] == [(earlier.id, "投诉")]
    assert [c["excerpt"] for c in history["complaints"]] == ["催收电话太频繁了，一天打了五次"]
    states = {p["reference"]: p["state_label"] for p in history["promises"]}
    assert states[kept.reference] == "已兑现" and sorted(states.values()) == ["已兑现", "未兑现"]
    assert 300.0 in [p["amount"] for p in history["payments"]]
    anonymous = console_store.escalate("hist-2", "request_human", 1, None, "rest")
    assert zhang.get(f"{console.url}/api/cases/{anonymous.id}").json()["history"] is None


def test_private_notes_stay_with_the_specialists(
    console: ConsoleServer, console_store: Store, zhang: requests.Session, li: requests.Session
) -> None:
    case = console_store.escalate("notes-1", "request_human", 1, "CC-0001", "rest")
    url = f"{console.url}/api/cases/{case.id}"
    assert zhang.post(f"{url}/notes", json={"text": "先别催"}).status_code == 403  # not claimed
    zhang.post(f"{url}/claim")
    assert zhang.post(f"{url}/notes", json={"text": "  "}).status_code == 400
    said = "电话里说每个月大概能还五六百，下周一发工资"
    assert zhang.post(f"{url}/notes", json={"text": said}).status_code == 200
    assert li.post(f"{url}/notes", json={"text": "插一句"}).status_code == 403
    detail = zhang.get(url).json()
    assert [(n["author"], n["text"]) for n in detail["notes"]] == [("张敏", said)]
    assert detail["permissions"]["can_note"] is True
    outbox = console_store.rows(models.OutboxMessage, conversation_id="notes-1")
    assert said not in [m.text for m in outbox]  # never sent to the cardholder
    assert said not in str(detail["transcript"])


def test_hand_back_without_a_step_resumes_where_it_was(
    console: ConsoleServer, console_store: Store, zhang: requests.Session
) -> None:
    case = console_store.escalate("conv-plain", "misunderstood", 2, channel="rest")
    url = f"{console.url}/api/cases/{case.id}"
    zhang.post(f"{url}/claim")
    assert zhang.post(f"{url}/hand-back", json={"step": None}).json()["resume_step"] is None
    assert console_store.rows(models.Escalation, id=case.id)[0].detail["resume_step"] is None


def test_approving_and_rejecting_applications(
    start_console: Callable[..., ConsoleServer], console_store: Store, one_pair_of_eyes: Path
) -> None:
    """Without four eyes the specialist holding the case decides alone (four eyes:
    test_controls.py)."""
    console = start_console(policy=one_pair_of_eyes)
    zhang, li = login(console.url, "zhang"), login(console.url, "li")
    case = console_store.escalate("conv-apply", "plan_approval", 2, "CC-0001", "rest")
    first, second = pending_applications(console_store, "conv-apply")
    decision = f"{console.url}/api/applications/{{}}/decision"
    assert zhang.post(decision.format(first), json={"approve": True}).status_code == 403
    zhang.post(f"{console.url}/api/cases/{case.id}/claim")
    detail = zhang.get(f"{console.url}/api/cases/{case.id}").json()
    assert [a["reference"] for a in detail["applications"]] == [first, second]
    assert [o["option_id"] for o in detail["offers"]] == ["pers-60", "defer-3"]

    assert li.post(decision.format(first), json={"approve": True}).status_code == 403
    assert zhang.post(decision.format(first), json={"approve": "perhaps"}).status_code == 400
    approved = zhang.post(decision.format(first), json={"approve": True, "note": ""})
    assert approved.json() == {"reference": first, "status": "approved"}
    assert zhang.post(decision.format(first), json={"approve": False}).status_code == 409
    rejected = zhang.post(decision.format(second), json={"approve": False, "note": "收入证明不足"})
    assert rejected.json()["status"] == "rejected"
    assert zhang.post(decision.format("AP-NOPE"), json={"approve": True}).status_code == 404

    statuses = {a.reference: a.status for a in console_store.rows(models.Agreement)}
    assert statuses == {first: "approved", second: "rejected"}
    notices = [
        m
        for m in console_store.rows(models.OutboxMessage, conversation_id="conv-apply")
        if m.payload.get("event") == "application_decided"
    ]
    assert [(m.payload["reference"], m.payload["status"]) for m in notices] == [
        (first, "approved"),
        (second, "rejected"),
    ]
    assert first in notices[0].text and "收入证明不足" in notices[1].text
    assert zhang.get(f"{console.url}/api/cases/{case.id}").json()["applications"] == []


def test_errors_are_json_never_tracebacks(console: ConsoleServer, zhang: requests.Session) -> None:
    missing = zhang.get(f"{console.url}/api/cases/987654")
    assert missing.status_code == 404 and missing.json() == {"error": "案件不存在"}
    garbage = zhang.post(
        f"{console.url}/api/cases/1/reply",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
    )
    assert garbage.status_code == 400 and "error" in garbage.json()
    nowhere = zhang.get(f"{console.url}/api/nowhere")
    assert nowhere.status_code == 404 and nowhere.json() == {"error": "找不到该页面"}
    assert requests.get(f"{console.url}/api/queue").status_code == 401
    wrong_method = zhang.delete(f"{console.url}/api/queue")
    assert wrong_method.status_code == 405 and "Traceback" not in wrong_method.text


# --- live updates -------------------------------------------------------------------------


def sse_events(response: requests.Response) -> Iterator[tuple[str, dict]]:
    name = None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[len("event: ") :]
        elif line.startswith("data: ") and name:
            yield name, json.loads(line[len("data: ") :])
            name = None


def test_event_stream_brings_new_cases_and_transcript_items(
    console: ConsoleServer, console_store: Store, zhang: requests.Session
) -> None:
    case = console_store.escalate("conv-live", "request_human", 1, "CC-0001", "rest")
    zhang.post(f"{console.url}/api/cases/{case.id}/claim")
    with zhang.get(
        f"{console.url}/api/events", params={"case": case.id}, stream=True, timeout=10
    ) as response:
        assert response.headers["Content-Type"].startswith("text/event-stream")
        events = sse_events(response)
        seen: dict[str, list] = {"queue": [], "transcript": [], "case": []}
        for _ in range(10):  # the first frames: queue, case, transcript so far
            name, data = next(events)
            seen[name].append(data)
            if seen["queue"] and seen["case"] and seen["transcript"]:
                break
        assert [c["id"] for c in seen["queue"][0]["cases"]] == [case.id]
        newcomer = console_store.escalate("conv-new", "distress", 0, "CC-0003", "rest")
        zhang.post(f"{console.url}/api/cases/{case.id}/reply", json={"text": "马上为您查询"})
        got_queue = got_text = False
        for _ in range(20):
            name, data = next(events)
            if name == "queue":
                assert [c["id"] for c in data["cases"]] == [newcomer.id, case.id]
                got_queue = True
            if name == "transcript":
                assert [i["text"] for i in data["items"]] == ["马上为您查询"]
                got_text = True
            if got_queue and got_text:
                break
        assert got_queue and got_text
    assert zhang.get(f"{console.url}/api/events", params={"case": "x"}).status_code == 400


# --- two specialists, one case ------------------------------------------------------------


def test_two_specialists_claiming_at_once_exactly_one_wins(
    start_console: Callable[[], ConsoleServer], console_store: Store
) -> None:
    """Each specialist on a console process of their own, both claiming at the same moment."""
    first, second = start_console(), start_console()
    zhang, li = login(first.url, "zhang"), login(second.url, "li")
    rounds = 20
    barrier = threading.Barrier(2, timeout=10)

    def claim(session: requests.Session, url: str, case_id: int) -> int:
        barrier.wait()
        return session.post(f"{url}/api/cases/{case_id}/claim", timeout=30).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        for number in range(rounds):
            case = console_store.escalate(f"race-{number}", "request_human", 1, "CC-0001", "rest")
            results = [
                pool.submit(claim, zhang, first.url, case.id),
                pool.submit(claim, li, second.url, case.id),
            ]
            codes = [future.result() for future in results]
            assert sorted(codes) == [200, 409], codes
            winner = (zhang, li)[codes.index(200)]
            row = console_store.rows(models.Escalation, id=case.id)[0]
            assert (row.status, row.claimed_by) == ("claimed", winner.me["id"])
            assert (
                audit_events(console_store, conversation_id=f"race-{number}").count("case_claimed")
                == 1
            )
            joined = console_store.rows(models.OutboxMessage, conversation_id=f"race-{number}")
            assert len(joined) == 1 and winner.me["display_name"] in joined[0].text
