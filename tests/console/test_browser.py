"""The console in headless Chromium: what a specialist actually clicks, end to end.

Needs Debian's ``chromium`` and ``chromium-driver`` (/usr/bin) and ``selenium``; skipped when
they are missing. Screenshots land in tests/artifacts/console/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as expected  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402
from sqlalchemy import update

from bot.clock import now_utc
from bot.db import models
from bot.db.store import Store
from bot.settings import PROJECT_ROOT
from tests.chromium import chromium, requires_chromium, webdriver
from tests.console.support import PASSWORDS, ConsoleServer
from tests.console.test_api import pending_applications

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "console"

pytestmark = [
    pytest.mark.browser,
    requires_chromium,
    pytest.mark.parametrize("database_url", ["sqlite"], indirect=True),
]


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium("--window-size=1400,1000") as driver:
        yield driver


def log_in(driver: webdriver.Chrome, console: ConsoleServer, username: str) -> None:
    driver.get(f"{console.url}/login")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORDS[username])
    driver.find_element(By.ID, "login-button").click()
    WebDriverWait(driver, 10).until(
        expected.text_to_be_present_in_element((By.ID, "live-state"), "实时")
    )


def test_specialist_claims_replies_approves_and_hands_back(
    browser: webdriver.Chrome,
    start_console: Callable[..., ConsoleServer],
    console_store: Store,
    one_pair_of_eyes: Path,
) -> None:
    """One specialist does it all: a policy without four eyes (test_controls.py has them)."""
    console = start_console(policy=one_pair_of_eyes)
    wait = WebDriverWait(browser, 15)
    log_in(browser, console, "zhang")
    assert "案件队列" in browser.title

    console_store.escalate("b-other", "misunderstood", 2, channel="rest")
    case = console_store.escalate("b-1", "distress", 0, "CC-0001", "rest", message="真的还不上了")
    (reference, _second) = pending_applications(console_store, "b-1")
    row = wait.until(expected.presence_of_element_located((By.ID, f"case-row-{case.id}")))
    assert "urgent" in row.get_attribute("class")
    first_row = browser.find_element(By.CSS_SELECTOR, "#queue-body tr")
    assert first_row.get_attribute("id") == f"case-row-{case.id}"  # urgent comes first
    browser.save_screenshot(str(ARTIFACTS / "queue.png"))

    row.find_element(By.CSS_SELECTOR, "button.claim").click()
    wait.until(expected.url_to_be(f"{console.url}/cases/{case.id}"))
    wait.until(expected.visibility_of_element_located((By.ID, "reply-text")))
    assert not browser.find_element(By.ID, "claim-button").is_displayed()  # already ours
    wait.until(
        expected.text_to_be_present_in_element((By.ID, "transcript"), "人工专员张敏已加入对话")
    )

    # a canned reply (policy/canned_replies.yml), filled in for this cardholder, to edit
    Select(browser.find_element(By.ID, "canned")).select_by_visible_text("问候")
    box = browser.find_element(By.ID, "reply-text")
    assert box.get_attribute("value").startswith("张伟您好，我是专员张敏")
    box.clear()
    browser.find_element(By.ID, "reply-text").send_keys("您好，我是专员张敏，我们一起想办法。")
    browser.find_element(By.ID, "reply-button").click()
    wait.until(expected.text_to_be_present_in_element((By.ID, "transcript"), "我们一起想办法"))

    application = browser.find_element(By.ID, f"application-{reference}")
    application.find_element(By.CSS_SELECTOR, "button.approve").click()
    wait.until(
        expected.text_to_be_present_in_element((By.ID, f"application-{reference}"), "已批准")
    )
    wait.until(expected.text_to_be_present_in_element((By.ID, "transcript"), "已审批通过"))
    browser.save_screenshot(str(ARTIFACTS / "case.png"))

    browser.find_element(By.CSS_SELECTOR, 'input[name="step"][value="propose_plans"]').click()
    browser.find_element(By.ID, "hand-back-button").click()
    wait.until(expected.text_to_be_present_in_element((By.ID, "case-status"), "已交还助手"))
    browser.save_screenshot(str(ARTIFACTS / "case-handed-back.png"))

    outbox = console_store.rows(models.OutboxMessage, conversation_id="b-1")
    assert [(m.author, m.payload.get("event")) for m in outbox] == [
        ("system", "specialist_joined"),
        ("specialist", None),
        ("system", "application_decided"),
        ("system", "specialist_left"),
    ]
    assert outbox[1].text == "您好，我是专员张敏，我们一起想办法。"
    assert reference in outbox[2].text and {m.channel for m in outbox} == {"rest"}
    escalation = console_store.rows(models.Escalation, id=case.id)[0]
    assert escalation.status == "returned" and escalation.detail["resume_step"] == "propose_plans"

    # a colleague opening the page sees whose case it is, and no control they cannot use
    with chromium("--window-size=1400,1000") as colleague:
        log_in(colleague, console, "li")
        colleague.get(f"{console.url}/cases/{case.id}")
        refused = WebDriverWait(colleague, 15).until(
            expected.visibility_of_element_located((By.ID, "case-refused"))
        )
        assert "张敏" in refused.text
        for control in ("reply-form", "hand-back-form", "close-form", "claim-box"):
            assert not colleague.find_element(By.ID, control).is_displayed(), control
        colleague.save_screenshot(str(ARTIFACTS / "case-of-a-colleague.png"))


def test_supervisor_dashboard_and_a_narrow_screen(
    browser: webdriver.Chrome, console: ConsoleServer, console_store: Store
) -> None:
    console_store.escalate("n-1", "distress", 0, "CC-0003", "rest")
    console_store.escalate("n-2", "complaint", 1, "CC-0002", "rest")
    log_in(browser, console, "boss")
    browser.get(f"{console.url}/dashboard")
    wait = WebDriverWait(browser, 15)
    wait.until(expected.text_to_be_present_in_element((By.ID, "summary"), "待领取"))
    wait.until(
        lambda driver: driver.execute_script(
            "return [...document.images].every(i => i.complete && i.naturalWidth > 0)"
        )
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "#all-cases tr")) == 2
    browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))

    # waiting past the bank's targets (policy/handoff.yml: urgent 5, high 30 minutes)
    for conversation, minutes in (("n-1", 10), ("n-2", 25)):
        with console_store.engine.begin() as connection:
            connection.execute(
                update(models.Escalation)
                .where(models.Escalation.conversation_id == conversation)
                .values(created_at=now_utc() - timedelta(minutes=minutes))
            )
    browser.get(f"{console.url}/")
    wait.until(
        expected.text_to_be_present_in_element(
            (By.ID, "sla-summary"), "超过领取时限 1 件 · 即将超时 1 件"
        )
    )
    assert browser.find_elements(By.CSS_SELECTOR, "#queue-body tr.urgent td.sla-breached")
    assert len(browser.find_elements(By.CSS_SELECTOR, "#queue-body td.sla-near")) == 1
    browser.save_screenshot(str(ARTIFACTS / "queue-sla.png"))

    browser.set_window_size(390, 844)
    browser.get(f"{console.url}/")
    wait.until(expected.presence_of_element_located((By.CSS_SELECTOR, "#queue-body tr.urgent")))
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 400  # no sideways scrolling on a phone
    browser.save_screenshot(str(ARTIFACTS / "queue-narrow.png"))
