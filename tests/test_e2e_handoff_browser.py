"""The whole handoff as people live it: a cardholder chatting over REST while a specialist works
the case in the console in headless Chromium, against the real Rasa, action and console servers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from bot.console.users import set_user
from bot.db import models
from bot.db.store import Store
from tests.chromium import requires_chromium
from tests.console.support import PASSWORDS, login
from tests.console.test_browser import ARTIFACTS, browser, log_in
from tests.demo_run import DemoRun
from tests.test_e2e_rest import Chat, poll_outbox

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions as expected  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

__all__ = ["browser"]  # the fixture, shared with the console's own browser tests

pytestmark = [
    pytest.mark.browser,
    pytest.mark.servers,
    pytest.mark.model,
    requires_chromium,
]

SENDER = "handoff-browser-1"


@pytest.fixture
def stack(demo_run: DemoRun) -> Iterator[tuple[DemoRun, Store]]:
    """The servers `make run` starts (shared with the tests of its output), with two
    specialists of known passwords in its database."""
    store = Store.from_url(demo_run.database_url)
    set_user(store, "zhang", "张敏", "specialist", PASSWORDS["zhang"], replace=True)
    set_user(store, "boss", "王芳", "supervisor", PASSWORDS["boss"], replace=True)
    yield demo_run, store
    store.engine.dispose()


class Console:
    """Just enough of the console's address for the shared log-in helper."""

    def __init__(self, url: str) -> None:
        self.url = url


def test_a_specialist_works_a_live_case_while_the_cardholder_chats_over_rest(
    browser: webdriver.Chrome, stack: tuple[DemoRun, Store]
) -> None:
    servers, store = stack
    wait = WebDriverWait(browser, 30)
    log_in(browser, Console(servers.console_url), "zhang")  # the queue is open, and empty

    chat = Chat(servers, SENDER)
    for text in ("我想办分期还款", "6217", "1234", "同意", "我最近失业了", "4500", "3000", "500"):
        chat.say(text)
    chat.say("一个孩子")
    plans = chat.say("大概6个月")
    buttons = [b for m in plans for b in m.get("buttons", [])]
    offers = store.rows(models.Offer, conversation_id=SENDER)
    needs_approval = next(o for o in offers if o.requires_approval)
    chat.say(buttons[needs_approval.rank - 1]["payload"])
    submitted = chat.text_of("/affirm")
    reference = re.search(r"编号: (AP-[A-Z0-9]{8})", submitted).group(1)

    # the application's case arrives in the open queue without a reload
    (case,) = store.rows(models.Escalation, conversation_id=SENDER)
    row = wait.until(expected.presence_of_element_located((By.ID, f"case-row-{case.id}")))
    row.find_element(By.CSS_SELECTOR, "button.claim").click()
    wait.until(expected.visibility_of_element_located((By.ID, "reply-text")))

    # the cardholder writes: the bot stays silent, the specialist sees it live
    reply = chat.say("请问什么时候能批下来？")
    assert [m["custom"]["author"] for m in reply] == ["system"] and "张敏" in reply[0]["text"]
    wait.until(expected.text_to_be_present_in_element((By.ID, "transcript"), "什么时候能批下来"))

    browser.find_element(By.ID, "reply-text").send_keys("我正在为您审批，请稍等。")
    browser.find_element(By.ID, "reply-button").click()
    assert poll_outbox(servers, SENDER, "正在为您审批")[-1]["custom"]["author"] == "specialist"

    application = wait.until(
        expected.presence_of_element_located((By.ID, f"application-{reference}"))
    )
    # four eyes (policy/plans.yml): the specialist who negotiated it cannot approve it; the
    # supervisor does, from the console's API
    assert not application.find_elements(By.CSS_SELECTOR, "button.approve")
    supervisor = login(servers.console_url, "boss")
    decided = supervisor.post(
        f"{servers.console_url}/api/applications/{reference}/decision",
        json={"approve": True, "note": "收入证明已核实"},
        timeout=30,
    )
    assert decided.status_code == 200, decided.text
    assert any(reference in m["text"] for m in poll_outbox(servers, SENDER, "已审批通过"))
    (agreement,) = store.rows(models.Agreement, reference=reference)
    assert agreement.status == "approved"

    browser.find_element(By.CSS_SELECTOR, 'input[name="step"][value="propose_plans"]').click()
    browser.find_element(By.ID, "hand-back-button").click()
    wait.until(expected.text_to_be_present_in_element((By.ID, "case-status"), "已交还助手"))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "live-handoff.png"))
    # the bot takes over at "propose plans": the approved application stands, so it says so
    # (reference and status) instead of proposing a second arrangement
    resumed = poll_outbox(servers, SENDER, "已经有一个还款安排", seconds=60)
    assert any("智能助手" in m["text"] for m in resumed)
    assert any(reference in m["text"] and "已审批通过" in m["text"] for m in resumed)
