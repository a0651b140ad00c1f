"""The 案件查询 page's API: search by number, account, reference, name or text; filters; sort;
pages; what each role may see (SQLite and PostgreSQL, through the real console server)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from sqlalchemy import update

from bot.clock import now_utc
from bot.db import models
from bot.db.store import Store
from tests.chromium import requires_chromium
from tests.console.support import ConsoleServer
from tests.console.test_browser import ARTIFACTS, browser, log_in

__all__ = ["browser"]  # the fixture


def _cases(console: ConsoleServer, session: requests.Session, **params: object) -> dict:
    reply = session.get(f"{console.url}/api/cases", params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()


def _ids(found: dict) -> list[int]:
    return [case["id"] for case in found["cases"]]


def test_search_filters_sort_and_pages(
    console: ConsoleServer,
    console_store: Store,
    zhang: requests.Session,
    li: requests.Session,
    boss: requests.Session,
) -> None:
    store = console_store
    first = store.escalate("s-1", "distress", 0, "CC-0001", "rest", message="真的还不上了")
    second = store.escalate("s-2", "complaint", 1, "CC-0002", "telegram", message="电话太多")
    third = store.escalate("s-3", "request_human", 2, None, "widget", message="转人工")
    promise = store.record_promise("s-2", "CC-0002", Decimal("200.00"), date(2026, 12, 20))
    many = [store.escalate(f"s-many-{i}", "misunderstood", 2, None, "rest").id for i in range(12)]
    zhang.post(f"{console.url}/api/cases/{second.id}/claim")
    with store.engine.begin() as connection:  # the first has waited an hour
        connection.execute(
            update(models.Escalation)
            .where(models.Escalation.id == first.id)
            .values(created_at=now_utc() - timedelta(hours=1))
        )

    assert _ids(_cases(console, boss, q=f"#{third.id}")) == [third.id]
    assert _ids(_cases(console, boss, q="cc-0002")) == [second.id]
    assert _ids(_cases(console, boss, q=promise.reference)) == [second.id]
    assert _ids(_cases(console, boss, q="张伟")) == [first.id]  # the holder's name
    assert _ids(_cases(console, boss, q="还不上")) == [first.id]  # the case's message
    assert _ids(_cases(console, boss, q="100%_")) == []  # LIKE's wildcards are plain text
    assert _ids(_cases(console, boss, status="claimed")) == [second.id]
    assert _ids(_cases(console, boss, reason="distress")) == [first.id]
    assert _ids(_cases(console, boss, channel="widget")) == [third.id]
    assert _ids(_cases(console, boss, priority=1)) == [second.id]
    assert _ids(_cases(console, zhang, assignee="me")) == [second.id]
    assert _ids(_cases(console, boss, min_wait=30)) == [first.id]

    everything = _cases(console, boss, per_page=10)
    assert everything["total"] == 15 and everything["pages"] == 2
    assert _ids(everything)[:2] == [first.id, second.id]  # most urgent first
    second_page = _cases(console, boss, per_page=10, page=2)
    assert len(second_page["cases"]) == 5
    assert set(_ids(everything)).isdisjoint(_ids(second_page))
    assert _ids(_cases(console, boss, sort="newest", per_page=1)) == [many[-1]]

    # li sees open cases and their own, not zhang's
    assert second.id not in _ids(_cases(console, li, per_page=100))
    assert _cases(console, li, q="cc-0002")["total"] == 0

    for bad in ({"status": "lost"}, {"sort": "random"}, {"priority": 7}, {"page": "x"}):
        refused = boss.get(f"{console.url}/api/cases", params=bad)
        assert refused.status_code == 400 and "error" in refused.json()
    assert requests.get(f"{console.url}/api/cases").status_code == 401  # no login


@pytest.mark.browser
@requires_chromium
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_search_page_finds_filters_and_pages(
    browser: Any, console: ConsoleServer, console_store: Store
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as expected
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wanted = console_store.escalate("p-1", "complaint", 1, "CC-0004", "telegram", message="太频繁")
    for i in range(30):
        console_store.escalate(f"p-many-{i}", "misunderstood", 2, None, "rest")
    log_in(browser, console, "boss")
    wait = WebDriverWait(browser, 15)
    browser.get(f"{console.url}/search")
    wait.until(expected.text_to_be_present_in_element((By.ID, "search-total"), "共 31 件"))
    assert "第 1 / 2 页" in browser.find_element(By.ID, "page-info").text
    browser.find_element(By.ID, "next-page").click()
    wait.until(expected.text_to_be_present_in_element((By.ID, "page-info"), "第 2 / 2 页"))

    browser.find_element(By.ID, "q").send_keys("陈静")
    Select(browser.find_element(By.ID, "channel")).select_by_visible_text("Telegram")
    browser.find_element(By.ID, "search-button").click()
    wait.until(expected.text_to_be_present_in_element((By.ID, "search-total"), "共 1 件"))
    row = browser.find_element(By.ID, f"found-{wanted.id}")
    assert "投诉" in row.text and "Telegram" in row.text
    browser.save_screenshot(str(ARTIFACTS / "search.png"))
    browser.get(f"{console.url}/search?q=%E9%99%88%E9%9D%99&status=open")  # a shared link
    wait.until(expected.text_to_be_present_in_element((By.ID, "search-total"), "共 1 件"))
    assert Select(browser.find_element(By.ID, "status")).first_selected_option.text == "待领取"
