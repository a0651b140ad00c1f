"""The widget in headless Chromium on the demo page served by the real servers, at a phone's
width (390 px): buttons, a reload, a dropped connection, a specialist, HTML kept as text, and
the repayment plans as compact cards that fit one phone screen with their terms one tap away.

Needs Debian's ``chromium`` and ``chromium-driver`` (/usr/bin) and ``selenium``; skipped when
they are missing. Screenshots land in tests/artifacts/widget/.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from bot.db import models
from bot.db.store import Store
from bot.handoff.cases import Cases
from bot.handoff.outbox import Outbox
from bot.launcher import Servers
from bot.plans.explain import own_terms
from bot.settings import PROJECT_ROOT
from tests.chromium import chromium, requires_chromium, webdriver
from tests.support import HARDSHIP_ANSWERS, stored_events
from tests.widget.support import add_specialist, demo_url

ARTIFACTS = PROJECT_ROOT / "tests" / "artifacts" / "widget"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.servers,
    pytest.mark.model,
    requires_chromium,
]


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    # headless windows are at least 500 px wide; emulate a 390 px phone screen instead
    phone = {"width": 390, "height": 844, "pixelRatio": 1}
    with chromium(experimental={"mobileEmulation": {"deviceMetrics": phone}}) as driver:
        yield driver


def open_widget(driver: webdriver.Chrome, servers: Servers, query: str = "") -> WebDriverWait:
    driver.get(demo_url(servers) + query)
    wait = WebDriverWait(driver, 60)
    wait.until(lambda d: d.find_element(By.ID, "acw-launcher")).click()
    wait.until(lambda d: "已连接" in d.find_element(By.ID, "acw-status").text)
    wait.until(lambda d: d.execute_script("return !!localStorage.getItem('arrears-chat-session')"))
    return wait


def say(driver: webdriver.Chrome, text: str) -> None:
    box = driver.find_element(By.ID, "acw-input")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def bubbles(driver: webdriver.Chrome, selector: str = ".acw-msg, .acw-notice") -> list[str]:
    """The texts of the log's bubbles, read in one step in the page: the widget redraws the log
    when it restores the history after a reconnect, and elements found one call earlier would
    then be stale (the failure this test used to show now and then)."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll(arguments[0])).map(e => e.innerText)",
        f"#acw-log {selector}",
    )


def session_of(driver: webdriver.Chrome) -> str:
    return driver.execute_script("return JSON.parse(localStorage.getItem('arrears-chat-session'))")


def user_texts(servers: Servers, session_id: str) -> list[str]:
    """What the tracker store keeps (Rasa's HTTP API is off)."""
    database = servers.environment()["DATABASE_URL"]
    return [e["text"] for e in stored_events(database, session_id) if e["event"] == "user"]


def idle(driver: webdriver.Chrome) -> bool:
    """No typing indicator and nothing waiting to be sent."""
    typing = driver.find_element(By.ID, "acw-typing")
    return not typing.is_displayed() and not driver.find_elements(By.CSS_SELECTOR, ".acw-pending")


def test_buttons_then_a_reload_restores_the_conversation_from_the_server(
    browser: webdriver.Chrome, widget_servers: Servers
) -> None:
    wait = open_widget(browser, widget_servers)
    log = browser.find_element(By.ID, "acw-log")
    assert log.get_attribute("role") == "log" and log.get_attribute("aria-live") == "polite"
    say(browser, "您好")
    choices = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".acw-bot .acw-choice"))
    assert [c.text for c in choices][:2] == ["逾期会有什么后果", "我想协商还款"]
    wait.until(lambda d: idle(d))
    browser.save_screenshot(str(ARTIFACTS / "greeting-buttons.png"))

    bots_before = len(bubbles(browser, ".acw-bot"))
    choices[0].click()
    wait.until(lambda d: len(bubbles(d, ".acw-bot")) > bots_before and idle(d))
    assert bubbles(browser, ".acw-user")[-1].endswith("逾期会有什么后果")
    assert all(not c.is_enabled() for c in choices)  # a choice is made once
    before = bubbles(browser)

    browser.refresh()
    open_widget(browser, widget_servers)
    wait.until(lambda d: len(bubbles(d)) >= len(before))
    assert bubbles(browser) == before  # the server's history, button titles included
    browser.save_screenshot(str(ARTIFACTS / "after-reload.png"))


def test_a_message_sent_while_disconnected_arrives_exactly_once(
    browser: webdriver.Chrome, widget_servers: Servers
) -> None:
    wait = open_widget(browser, widget_servers)
    say(browser, "您好")
    wait.until(lambda d: bubbles(d, ".acw-bot") and idle(d))

    browser.execute_script("ArrearsChat.socket.disconnect()")
    wait.until(lambda d: "断开" in d.find_element(By.ID, "acw-status").text)
    say(browser, "逾期会影响征信吗")
    pending = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".acw-pending"))
    assert "等待发送" in pending[0].text
    browser.save_screenshot(str(ARTIFACTS / "offline-queued.png"))
    bots_before = len(bubbles(browser, ".acw-bot"))

    browser.execute_script("ArrearsChat.socket.connect()")
    wait.until(lambda d: len(bubbles(d, ".acw-bot")) > bots_before and idle(d))
    time.sleep(1.5)  # room for a duplicate to show up, if the widget or server sent one
    shown = [t for t in bubbles(browser, ".acw-user") if t.endswith("逾期会影响征信吗")]
    assert len(shown) == 1
    assert user_texts(widget_servers, session_of(browser)).count("逾期会影响征信吗") == 1

    # and the same again across a reload: the queue survives it and is sent once
    browser.execute_script("ArrearsChat.socket.disconnect()")
    say(browser, "我想协商还款")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".acw-pending"))
    browser.refresh()
    open_widget(browser, widget_servers)
    wait.until(lambda d: "我想协商还款" in user_texts(widget_servers, session_of(d)))
    wait.until(lambda d: idle(d))
    shown = [t for t in bubbles(browser, ".acw-user") if t.endswith("我想协商还款")]
    assert len(shown) == 1
    assert user_texts(widget_servers, session_of(browser)).count("我想协商还款") == 1


def test_a_specialist_joins_replies_and_leaves_with_html_shown_as_text(
    browser: webdriver.Chrome, widget_servers: Servers, widget_store: Store
) -> None:
    wait = open_widget(browser, widget_servers)
    say(browser, "您好")
    wait.until(lambda d: bubbles(d, ".acw-bot") and idle(d))
    session_id = session_of(browser)

    cases = Cases(widget_store)
    specialist = add_specialist(widget_store, "widget-zhang", "张敏")
    case = widget_store.escalate(session_id, "customer_request", 2, channel="widget")
    assert cases.claim(case.id, specialist, "张敏")
    joined = wait.until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".acw-notice.acw-specialist-joined")
    )
    assert "人工专员已加入" in joined[0].text and "张敏" in joined[0].text

    hostile = '<b>加粗</b><img src=x onerror="window.pwned=1">详情 https://example.com/help\n第二行'
    cases.reply(case.id, specialist, hostile)
    reply = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".acw-msg.acw-specialist"))[0]
    assert reply.text.startswith("人工专员")
    assert '<b>加粗</b><img src=x onerror="window.pwned=1">详情' in reply.text
    assert "第二行" in reply.text
    assert not reply.find_elements(By.TAG_NAME, "b") and not reply.find_elements(By.TAG_NAME, "img")
    assert reply.find_elements(By.TAG_NAME, "br")
    link = reply.find_element(By.CSS_SELECTOR, "a.acw-link")
    assert link.get_attribute("href") == "https://example.com/help"
    assert link.get_attribute("rel") == "noopener noreferrer"

    # while the specialist holds the chat the bot stays silent; the message waits for them
    bots_before = len(bubbles(browser, ".acw-bot"))
    say(browser, "好的，谢谢")
    wait.until(lambda d: idle(d))
    time.sleep(1.5)
    assert len(bubbles(browser, ".acw-bot")) == bots_before
    assert [text for _, text in cases.held_messages(case.id)] == ["好的，谢谢"]

    Outbox(widget_store).post(session_id, "widget", "bot", "<script>window.pwned=2</script>提醒")
    wait.until(lambda d: any("<script>window.pwned=2</script>提醒" in t for t in bubbles(d)))
    cases.hand_back(case.id, specialist)
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".acw-notice.acw-specialist-left"))
    assert browser.execute_script("return window.pwned === undefined")
    browser.save_screenshot(str(ARTIFACTS / "specialist.png"))

    # the specialist's messages are part of the history a reload shows
    before = bubbles(browser)
    browser.refresh()
    open_widget(browser, widget_servers)
    wait.until(lambda d: len(bubbles(d)) >= len(before))
    restored = bubbles(browser)
    assert any("人工专员已加入" in t for t in restored)
    assert any('<b>加粗</b><img src=x onerror="window.pwned=1">详情' in t for t in restored)
    assert any(t.endswith("好的，谢谢") for t in restored)


def test_the_widget_is_keyboard_usable_and_fits_a_phone(
    browser: webdriver.Chrome, widget_servers: Servers
) -> None:
    browser.get(demo_url(widget_servers))
    wait = WebDriverWait(browser, 60)
    launcher = wait.until(lambda d: d.find_element(By.ID, "acw-launcher"))
    launcher.send_keys(Keys.ENTER)
    wait.until(lambda d: d.find_element(By.ID, "acw-panel").is_displayed())
    assert browser.switch_to.active_element.get_attribute("id") == "acw-input"
    panel = browser.find_element(By.ID, "acw-panel")
    assert panel.get_attribute("role") == "dialog" and panel.get_attribute("aria-label")
    assert panel.size["width"] <= 390
    assert browser.execute_script("return document.documentElement.scrollWidth") <= 390
    browser.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait.until(lambda d: not d.find_element(By.ID, "acw-panel").is_displayed())
    assert browser.switch_to.active_element.get_attribute("id") == "acw-launcher"


def test_a_logged_in_bank_customer_is_known_without_digits(
    browser: webdriver.Chrome, widget_servers: Servers
) -> None:
    """The demo page as the bank's logged-in page: its token names the customer, so the balance
    comes without the card and ID questions; the anonymous page of the same browser gets a
    conversation of its own."""
    wait = open_widget(browser, widget_servers, "?account=CC-0002")
    assert session_of(browser).startswith("wt-")
    say(browser, "我还欠多少钱")
    wait.until(lambda d: any("欠款合计" in text for text in bubbles(d, ".acw-bot")) and idle(d))
    assert not any("卡号后四位" in text for text in bubbles(browser, ".acw-bot"))
    browser.save_screenshot(str(ARTIFACTS / "logged-in-balance.png"))
    logged_in = session_of(browser)

    open_widget(browser, widget_servers)  # the same browser, now without a login
    wait.until(lambda d: session_of(d) != logged_in)
    assert not any("欠款合计" in text for text in bubbles(browser))


PLAN_CHOICES = "#acw-log .acw-choice"
# Where the plan cards and the choice buttons sit, measured in the page (CSS pixels).
LAYOUT = """
const log = document.getElementById('acw-log');
const cards = Array.from(log.querySelectorAll('.acw-plan'));
const asks = log.querySelectorAll('.acw-has-choices');
const choices = Array.from(asks[asks.length - 1].querySelectorAll('.acw-choice'));
cards[0].scrollIntoView({block: 'start'});
const area = log.getBoundingClientRect();
const top = cards[0].getBoundingClientRect().top;
const bottom = choices[choices.length - 1].getBoundingClientRect().bottom;
const right = Math.max(...cards.concat(choices).map(e => e.getBoundingClientRect().right));
return {area: {top: area.top, bottom: area.bottom, height: log.clientHeight, right: area.right},
        top: top, bottom: bottom, right: right, cards: cards.length,
        choices: choices.map(b => b.textContent)};
"""


def turn(driver: webdriver.Chrome, wait: WebDriverWait, text: str) -> str:
    """Say ``text`` and return the last thing the assistant said once the turn is done."""
    before = len(bubbles(driver, ".acw-bot"))
    say(driver, text)
    wait.until(lambda d: len(bubbles(d, ".acw-bot")) > before and idle(d))
    return bubbles(driver, ".acw-bot")[-1]


def plan_choices(driver: webdriver.Chrome) -> list[str]:
    return [
        b.text
        for b in driver.find_elements(By.CSS_SELECTOR, PLAN_CHOICES)
        if b.is_enabled() and b.text.startswith("方案")
    ]


@pytest.mark.parametrize("account", ["CC-0001", "CC-0003"])
def test_the_plan_cards_and_choices_fit_one_phone_screen_with_terms_one_tap_away(
    browser: webdriver.Chrome, widget_servers: Servers, widget_store: Store, account: str
) -> None:
    """A logged-in cardholder answers the hardship questions; the plans (three for 张伟, four
    for 王强) and the buttons to choose one fit in one screen of the 390 x 844 phone's message
    area, each card compact with its full terms folded and opened by keyboard."""
    wait = open_widget(browser, widget_servers, f"?account={account}")
    said = turn(browser, wait, "我想办分期还款")
    for _ in range(10):  # answer whatever the form asks next, until the plans are shown
        if plan_choices(browser):
            break
        answer = next((a for key, a in HARDSHIP_ANSWERS.items() if key in said), None)
        assert answer, f"an unexpected question: {said}"
        said = turn(browser, wait, answer)
    assert plan_choices(browser), f"no plans after the hardship form: {said}"
    offers = sorted(
        widget_store.rows(models.Offer, conversation_id=session_of(browser)), key=lambda o: o.rank
    )
    choices = plan_choices(browser)
    assert 2 <= len(offers) == len(choices)

    layout = browser.execute_script(LAYOUT)
    browser.save_screenshot(str(ARTIFACTS / f"plans-{account}.png"))
    assert layout["cards"] == len(offers)
    assert layout["bottom"] - layout["top"] <= layout["area"]["height"], layout  # one screen
    assert (
        layout["top"] >= layout["area"]["top"] - 1 and layout["bottom"] <= layout["area"]["bottom"]
    ), layout
    assert layout["right"] <= layout["area"]["right"], layout  # nothing sticks out sideways
    for offer, choice in zip(offers, choices, strict=True):  # the real number of payments
        schedule = offer.detail.get("schedule") or []
        if len(schedule) > 1:
            payments = len(schedule)
            assert f"× {payments}期" in choice or f"共{payments}期" in choice, (choice, payments)
        else:
            assert "一次性" in choice, choice

    cards = browser.find_elements(By.CSS_SELECTOR, "#acw-log .acw-plan")
    for card, offer in zip(cards, offers, strict=True):
        terms = card.find_element(By.CSS_SELECTOR, ".acw-plan-terms")
        assert not terms.is_displayed()  # folded: the card shows only its summary
        assert offer.detail["explanation"][:20] not in card.text
    toggle = cards[0].find_element(By.CSS_SELECTOR, "button.acw-plan-toggle")
    assert toggle.get_attribute("aria-expanded") == "false"
    terms = cards[0].find_element(By.CSS_SELECTOR, ".acw-plan-terms")
    assert toggle.get_attribute("aria-controls") == terms.get_attribute("id")
    toggle.send_keys(Keys.ENTER)  # keyboard: a real button
    wait.until(lambda d: toggle.get_attribute("aria-expanded") == "true")
    assert terms.is_displayed()
    expected = own_terms(offers[0].detail["explanation"])
    assert terms.text.replace("\n", "") == expected.replace("\n", "")
    browser.save_screenshot(str(ARTIFACTS / f"plans-{account}-terms.png"))
    toggle.send_keys(Keys.SPACE)
    wait.until(lambda d: toggle.get_attribute("aria-expanded") == "false")
    assert not terms.is_displayed()
