"""What a newcomer sees after `make run`: a short start, the table of URLs, what to try; the
servers' logs in files, masked and without library notices; every URL printed answers."""

from __future__ import annotations

import re
import urllib.request

from tests.demo_run import DemoRun

TABLE_ROWS = (
    "REST channel", "Web widget", "Rasa HTTP API", "Action server", "Console", "Outbox (REST)",
    "Database", "Rasa workers", "Telegram", "Logs",
)  # fmt: skip
PASSWORD_LINE = re.compile(r"^\s+(\w+)\s+(\S{16})\s+(specialist|supervisor)\s", re.MULTILINE)


def test_the_start_is_short_and_ends_with_the_url_table(demo_run: DemoRun) -> None:
    output = demo_run.output
    lines = output.splitlines()
    assert len(lines) <= 30, output  # was ~110, most of them library warnings
    assert not re.search(r"warning|traceback|error", output, re.IGNORECASE), output
    for row in TABLE_ROWS:
        assert re.search(rf"^  {re.escape(row)}\s", output, re.MULTILINE), f"no {row!r} row"
    assert "Try:" in output and f"{demo_run.rasa_url}/webhooks/widget/demo.html" in output


def test_demo_passwords_reach_the_terminal_once_and_no_log(demo_run: DemoRun) -> None:
    passwords = [match[2] for match in PASSWORD_LINE.finditer(demo_run.output)]
    assert len(passwords) == 3, demo_run.output  # a new database: its users made now
    logs = {path.name: path.read_text(encoding="utf-8") for path in demo_run.log_dir.glob("*.log")}
    assert set(logs) == {"actions.log", "rasa.log", "console.log"}
    for name, text in logs.items():
        assert not any(password in text for password in passwords), name
        assert "DeprecationWarning" not in text and "FutureWarning" not in text, name
        assert "Rasa server is up" in text or name != "rasa.log"


def test_the_printed_urls_answer(demo_run: DemoRun) -> None:
    for url in (
        f"{demo_run.rasa_url}/webhooks/rest/",
        f"{demo_run.rasa_url}/webhooks/widget/demo.html",
        f"{demo_run.console_url}/login",
    ):
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.status == 200, url
