"""rasa-webchat 1.0.1 — the community widget for Rasa's socket.io channel, from npm, pinned by
tests/webchat/package-lock.json — holds a conversation in headless Chromium with the widget
servers (two Rasa workers on one port, as `make run` has them), with its default settings:
only ``socketUrl`` is given; socket.io path ``/socket.io/``, long-polling first, its own session
id kept in localStorage, no acknowledgements.

The page is made in the Rasa server's own origin (the only page origin `make run` allows to open
a socket): Chromium opens the channel's health URL, and the test writes a page there and runs
rasa-webchat's UMD bundle in it. Opening the chat sends rasa-webchat's init payload (none set:
an event without a message), which the channel answers with the greeting. Screenshots land in
results/webchat/.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait

from bot.launcher import Servers
from bot.settings import PROJECT_ROOT
from tests.chromium import chromium, requires_chromium, webdriver
from tests.support import stored_events

BUNDLE = PROJECT_ROOT / "tests" / "webchat" / "node_modules" / "rasa-webchat" / "lib" / "index.js"
RESULTS = PROJECT_ROOT / "results" / "webchat"
PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<title>rasa-webchat 1.0.1 · 信用卡逾期协商助手</title></head>
<body><h1 style="font:16px sans-serif">rasa-webchat 1.0.1 (npm), default settings</h1>
</body></html>"""

pytestmark = [pytest.mark.browser, pytest.mark.servers, pytest.mark.model, requires_chromium]


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    with chromium("--window-size=1000,900") as driver:
        yield driver


def open_webchat(driver: webdriver.Chrome, servers: Servers) -> WebDriverWait:
    assert BUNDLE.exists(), "rasa-webchat missing: run `npm ci --prefix tests/webchat`"
    driver.get(f"{servers.rasa_url}/webhooks/widget")
    driver.execute_script("document.open(); document.write(arguments[0]); document.close();", PAGE)
    driver.execute_script(BUNDLE.read_text(encoding="utf-8"))  # the UMD bundle: window.WebChat
    driver.execute_script(
        "window.WebChat.default({socketUrl: arguments[0]}, null)", servers.rasa_url
    )
    wait = WebDriverWait(driver, 60)
    launcher = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".rw-launcher"))[0]
    if not driver.find_elements(By.CSS_SELECTOR, ".rw-new-message"):
        launcher.click()  # after a reload rasa-webchat opens the chat as it was left
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".rw-new-message"))
    wait.until(lambda d: session_of(d))  # confirmed by the server and stored
    return wait


def session_of(driver: webdriver.Chrome) -> str | None:
    return driver.execute_script(
        "const s = JSON.parse(localStorage.getItem('chat_session') || 'null');"
        "return s && s.session_id;"
    )


def responses(driver: webdriver.Chrome) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('.rw-response')).map(e => e.innerText)"
    )


def say(driver: webdriver.Chrome, wait: WebDriverWait, text: str) -> None:
    before = len(responses(driver))
    box = driver.find_element(By.CSS_SELECTOR, ".rw-new-message")
    box.send_keys(text)
    box.send_keys(Keys.ENTER)
    wait.until(lambda d: len(responses(d)) > before)


def socket_requests(driver: webdriver.Chrome) -> list[str]:
    return driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)"
        ".filter(n => n.includes('/socket.io/'))"
    )


def user_texts(servers: Servers, session_id: str) -> list[str]:
    database = servers.environment()["DATABASE_URL"]
    return [e["text"] for e in stored_events(database, session_id) if e["event"] == "user"]


def test_rasa_webchat_holds_a_conversation_over_long_polling(
    browser: webdriver.Chrome, widget_servers: Servers
) -> None:
    wait = open_webchat(browser, widget_servers)
    session_id = session_of(browser)
    assert session_id and len(session_id) == 32

    # opening the chat: rasa-webchat's init payload, answered with the greeting
    wait.until(lambda d: any("自动" in t for t in responses(d)))
    replies = wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, ".rw-reply"))
    assert [r.text for r in replies][:2] == ["逾期会有什么后果", "我想协商还款"]
    browser.save_screenshot(str(RESULTS / "greeting-quick-replies.png"))

    before = len(responses(browser))
    replies[0].click()  # a quick reply sends its payload
    wait.until(lambda d: len(responses(d)) > before)
    say(browser, wait, "我想办分期")
    wait.until(lambda d: any("卡号后四位" in t for t in responses(d)))
    browser.save_screenshot(str(RESULTS / "conversation.png"))

    texts = user_texts(widget_servers, session_id)
    assert texts[0] == "/greet" and texts[-1] == "我想办分期" and len(texts) == 3
    # rasa-webchat's default: long-polling, which the two workers share
    used = socket_requests(browser)
    assert sum("transport=polling" in u for u in used) >= 4
    assert not any("transport=websocket" in u for u in used)

    # a reload keeps the session: rasa-webchat asks for its stored id, the server confirms it
    browser.refresh()
    wait = open_webchat(browser, widget_servers)
    assert session_of(browser) == session_id
    say(browser, wait, "逾期会上征信吗")
    # the answer, then the form's question again, drawn (not just rasa-webchat's typing dots)
    wait.until(lambda d: any("征信业管理条例" in t for t in responses(d)))
    wait.until(lambda d: "后四位" in responses(d)[-1])
    assert user_texts(widget_servers, session_id)[-1] == "逾期会上征信吗"
    browser.save_screenshot(str(RESULTS / "after-reload.png"))
