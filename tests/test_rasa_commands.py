"""Rasa's own commands on the project (issue 14): the venv's plain ``rasa run actions`` and
``rasa shell`` started in the project folder with no variable set, the REST channel's stream
mode, and ``rasa data validate`` with every warning accounted for.

``rasa shell`` loads the model once (about a minute on 2 cores): the only model-loading server
this module starts; the stream mode is checked against the session's shared servers.
"""

from __future__ import annotations

import fcntl
import http.client
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import sysconfig
import termios
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.launcher import Servers, free_port
from bot.rasa_cli import (
    HOOK_NAME,
    CommandRefused,
    action_server_command,
    hook_line,
    plan_for,
    rasa_arguments,
)
from bot.settings import PROJECT_ROOT
from scripts.validate_data import Report, check, classify, describe
from tests.support import seeded_database

RASA = Path(sys.executable).parent / "rasa"
ANSI = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>])")
# Variables that would stand in for the defaults under test.
SET_BY_HAND = (
    "ACTION_ENDPOINT_URL", "ACTION_SERVER_TOKEN", "LOCK_STORE_URL", "TELEGRAM_TOKEN",
    "TELEGRAM_SECRET", "ALLOWED_ORIGINS", "RASA_API_TOKEN", "RASA_JWT_SECRET", "PYTHONPATH",
)  # fmt: skip
GREETING = "我是银行的信用卡智能助手"  # utter_greet


def plain_environment(**extra: str) -> dict[str, str]:
    """The caller's environment without anything the project's defaults provide."""
    env = {k: v for k, v in os.environ.items() if k not in SET_BY_HAND}
    env.update(extra)
    return env


# ---------------------------------------------------------------- the defaults, without servers


def test_the_venv_has_the_current_hook() -> None:
    installed = Path(sysconfig.get_paths()["purelib"]) / HOOK_NAME
    assert installed.exists(), f"{installed} is missing: run `make install`"
    assert installed.read_text(encoding="utf-8") == hook_line(), "stale hook: `make install`"


def test_only_rasas_command_line_is_changed() -> None:
    assert rasa_arguments(["/p/.venv/bin/rasa", "shell"], []) == ["shell"]
    assert rasa_arguments(["-m", "run", "-p", "1"], ["py", "-m", "rasa", "run", "-p", "1"]) == [
        "run",
        "-p",
        "1",
    ]
    assert rasa_arguments(["-m"], ["py", "-m", "rasa_sdk"]) is None
    assert rasa_arguments(["-m"], ["py", "-m", "bot.rasa_server", "run"]) is None
    assert rasa_arguments(["-c"], ["py", "-c", "pass"]) is None
    assert rasa_arguments(["/p/.venv/bin/pytest"], []) is None


def test_rasa_run_gets_what_the_launcher_gives(tmp_path: Path) -> None:
    env = {"ACTION_SERVER_TOKEN": "t0k", "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    plan = plan_for(["run", "-p", "5123", "models/assistant.tar.gz"], env, tmp_path)
    assert plan.environment["ACTION_ENDPOINT_URL"] == "http://127.0.0.1:5055/webhook"
    assert plan.environment["LOCK_STORE_URL"] == f"sqlite:///{tmp_path}/a-locks.db"
    assert plan.environment["ALLOWED_ORIGINS"] == "http://127.0.0.1:5123,http://localhost:5123"
    assert plan.environment["RASA_TELEMETRY_ENABLED"] == "false"
    assert plan.environment["SANIC_REQUEST_MAX_SIZE"] == "65536"  # refused before any route
    assert "ACTION_SERVER_TOKEN" not in plan.environment  # the environment's own is kept
    # Telegram is left out without its token; the model path stays last for Rasa to read
    assert plan.arguments[:3] == ["run", "--interface", "127.0.0.1"]  # Rasa's is 0.0.0.0
    assert plan.arguments[3] == "--credentials"
    assert plan.arguments[-3:] == ["-p", "5123", "models/assistant.tar.gz"]
    credentials = Path(plan.arguments[4]).read_text(encoding="utf-8")
    assert "CalmRestInput" in credentials and "TelegramInput" not in credentials
    # PostgreSQL without Redis: no shared lock store, as `make run` does
    plan = plan_for(["run"], {**env, "DATABASE_URL": "postgresql://u@db/x"}, tmp_path)
    endpoints = Path(plan.arguments[plan.arguments.index("--endpoints") + 1]).read_text("utf-8")
    assert "lock_store" not in endpoints and "action_endpoint" in endpoints


def test_configured_files_are_only_made_where_needed(tmp_path: Path) -> None:
    env = {
        "ACTION_SERVER_TOKEN": "t0k",
        "DATABASE_URL": f"sqlite:///{tmp_path}/a.db",
        "TELEGRAM_TOKEN": "123:abc",
        "TELEGRAM_SECRET": "s3cret",
        "ACTION_ENDPOINT_URL": "http://127.0.0.1:6000/webhook",
    }
    plan = plan_for(["shell", "-i", "0.0.0.0"], env, tmp_path)
    assert plan.arguments == ["shell", "-i", "0.0.0.0"]
    assert "ACTION_ENDPOINT_URL" not in plan.environment
    own = ["run", "--credentials", "mine.yml", "--endpoints=other.yml", "-i", "0.0.0.0"]
    assert plan_for(own, {"ACTION_SERVER_TOKEN": "t"}, tmp_path).arguments == own
    assert plan_for(["shell", "nlu"], {}, tmp_path).arguments == ["shell", "nlu"]


def test_rasa_test_runs_the_story_tests_and_the_held_out_set(tmp_path: Path) -> None:
    env = {"ACTION_SERVER_TOKEN": "t0k", "DATABASE_URL": f"sqlite:///{tmp_path}/a.db"}
    plan = plan_for(["test", "core"], env, tmp_path)
    assert plan.arguments == ["test", "core", "--stories", "tests/test_stories.yml"]
    plan = plan_for(["test", "nlu"], {}, tmp_path)
    assert plan.arguments == ["test", "nlu", "--nlu", "tests/nlu/holdout.yml"]
    assert plan.environment["BOT_TODAY"] == "2026-11-22"  # the held-out dates' today
    mine = ["test", "core", "-s", "other.yml"]
    assert plan_for(mine, env, tmp_path).arguments == mine
    plan = plan_for(["test", "nlu"], {"BOT_TODAY": "2027-01-04"}, tmp_path)
    assert plan.arguments == ["test", "nlu", "--nlu", "tests/nlu/holdout.yml"]
    assert "BOT_TODAY" not in plan.environment
    assert plan_for(["test"], env, tmp_path).arguments == ["test"]  # Rasa's end-to-end mode


def test_the_http_api_needs_a_credential(tmp_path: Path) -> None:
    env = {"ACTION_SERVER_TOKEN": "t0k", "TELEGRAM_TOKEN": "1:a", "TELEGRAM_SECRET": "s"}
    with pytest.raises(CommandRefused, match="RASA_API_TOKEN"):
        plan_for(["run", "--enable-api"], env, tmp_path)
    plan = plan_for(["run", "--enable-api"], {**env, "RASA_API_TOKEN": "-api"}, tmp_path)
    assert plan.arguments[:2] == ["run", "--auth-token=-api"]  # a token may start with "-"
    mine = ["run", "--enable-api", "--auth-token", "x", "--interface", "10.0.0.5"]
    assert plan_for(mine, env, tmp_path).arguments == mine


def test_production_needs_the_banks_token(tmp_path: Path) -> None:
    with pytest.raises(CommandRefused, match="ACTION_SERVER_TOKEN"):
        plan_for(["run"], {"ASSISTANT_ENV": "production"}, tmp_path)


def test_rasa_run_actions_becomes_the_projects_action_server() -> None:
    command = action_server_command(["-p", "6001", "-vv"])
    assert command[1:] == ["-m", "bot.action_server", "--actions", "actions", "--port", "6001"]
    for unsafe in (["--cors", "*"], ["--ssl-certificate", "c.pem"]):
        with pytest.raises(CommandRefused, match="--port and --actions only"):
            action_server_command(unsafe)


# ---------------------------------------------------------------- the plain commands, running


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return seeded_database(tmp_path_factory.mktemp("rasa-commands"))


@pytest.fixture(scope="module")
def action_server(database: str) -> Iterator[str]:
    """``rasa run actions -p PORT`` as anyone would type it; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [str(RASA), "run", "actions", "-p", str(port)],
        cwd=PROJECT_ROOT,
        env=plain_environment(DATABASE_URL=database, BOT_TODAY="2026-11-22"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None, f"rasa run actions exited with {process.returncode}"
            try:
                if requests.get(f"{url}/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.3)
        else:
            pytest.fail("rasa run actions did not answer /health within 90 s")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)


@pytest.mark.servers
def test_rasa_run_actions_answers_health_and_only_rasa(action_server: str) -> None:
    assert requests.get(f"{action_server}/health", timeout=5).json() == {"status": "ok"}
    anyone = requests.post(f"{action_server}/webhook", json={"next_action": "x"}, timeout=5)
    assert anyone.status_code == 401  # rasa_sdk's own server would run the action
    port = int(action_server.rsplit(":", 1)[1])
    with pytest.raises(requests.ConnectionError):  # bound to 127.0.0.1 only, not 0.0.0.0
        requests.get(f"http://127.0.0.2:{port}/health", timeout=2)


class Terminal:
    """A program on a pseudo-terminal, as a person at a keyboard runs it."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**env, "TERM": "xterm", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"},
            stdin=slave,
            stdout=slave,
            stderr=slave,
            start_new_session=True,
        )
        os.close(slave)
        self.output = b""

    @property
    def screen(self) -> str:
        return ANSI.sub("", self.output.decode("utf-8", errors="replace"))

    def wait_for(self, text: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while text not in self.screen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {text!r} within {timeout_s:.0f} s:\n{self.screen[-3000:]}"
            ready, _, _ = select.select([self.master], [], [], min(left, 1.0))
            if ready:
                try:
                    self.output += os.read(self.master, 65536)
                except OSError:  # the program ended
                    assert text in self.screen, f"ended without {text!r}:\n{self.screen[-3000:]}"
            elif self.process.poll() is not None:
                pytest.fail(f"exited with {self.process.returncode}:\n{self.screen[-3000:]}")
        return self.screen

    def type(self, text: str) -> None:
        os.write(self.master, text.encode())

    def close(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        os.close(self.master)


@pytest.mark.servers
@pytest.mark.model
def test_rasa_shell_answers_a_greeting(action_server: str, database: str) -> None:
    """`rasa shell` with nothing set but where this test's action server and database are."""
    env = plain_environment(
        DATABASE_URL=database,
        BOT_TODAY="2026-11-22",
        ACTION_ENDPOINT_URL=f"{action_server}/webhook",
    )
    terminal = Terminal([str(RASA), "shell", "-p", str(free_port())], env)
    try:
        terminal.wait_for("Your input ->", timeout_s=240)
        terminal.type("你好\r")
        terminal.wait_for(GREETING, timeout_s=60)
        screen = terminal.wait_for("请问有什么可以帮您", timeout_s=30)  # the reply's last line
        assert "转人工" in screen.split(GREETING, 1)[1]
    finally:
        terminal.close()


# ---------------------------------------------------------------- the REST channel's stream mode


def post_from(servers: Servers, body: dict, source: str, query: str = "") -> tuple[int, str, str]:
    """A POST from another local address: a client of its own for the per-client rate limit
    (the trust-boundary tests use up 127.0.0.1's minute)."""
    host, port = servers.rasa_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=60, source_address=(source, 0))
    try:
        connection.request(
            "POST",
            f"/webhooks/rest/webhook{query}",
            body=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        answer = connection.getresponse()
        return answer.status, answer.getheader("Content-Type") or "", answer.read().decode()
    finally:
        connection.close()


@pytest.mark.servers
@pytest.mark.model
def test_stream_mode_sends_one_json_message_a_line(rest_servers: Servers) -> None:
    body = {"sender": "rasa-commands-stream", "message": "你好"}
    status, kind, text = post_from(rest_servers, body, "127.0.0.3", "?stream=true")
    assert status == 200 and kind.startswith("text/event-stream")
    assert text.endswith("\n")
    messages = [json.loads(line) for line in text.splitlines()]
    assert GREETING in messages[0]["text"] and messages[0]["buttons"]
    assert {m["recipient_id"] for m in messages} == {"rasa-commands-stream"}
    # without it: one JSON array, as before
    status, kind, text = post_from(rest_servers, body, "127.0.0.3")
    assert status == 200 and isinstance(json.loads(text), list)
    # a calm refusal comes the same way
    empty = {"sender": "rasa-commands-stream", "message": "  "}
    status, kind, text = post_from(rest_servers, empty, "127.0.0.3", "?stream=true")
    (refusal,) = [json.loads(line) for line in text.splitlines()]
    assert refusal["recipient_id"] == "rasa-commands-stream" and refusal["text"]


# ---------------------------------------------------------------- rasa data validate


def test_rasa_data_validate_has_no_unexplained_warning() -> None:
    report = check()
    assert report.ok, "\n".join(describe(report))
    assert len(report.sent_by_code) > 100 and report.form_questions  # it did see the warnings


def test_the_check_fails_on_a_response_nothing_sends_and_on_a_stale_listing() -> None:
    unused = "The utterance 'utter_nobody_sends_this' is not used in any story or rule."
    asked = "The utterance 'utter_ask_dependents' is not used in any story or rule."
    sent = "The utterance 'utter_balance' is not used in any story or rule."
    report = classify(
        [unused, asked, sent],
        errors=[],
        sent={"utter_balance"},
        questions={"utter_ask_dependents"},
        allowed={"The intent 'gone' is not used in any story or rule.": "a reason"},
    )
    assert report.unexplained == [unused] and report.stale and not report.ok
    assert report.sent_by_code == [sent] and report.form_questions == [asked]
    assert Report(errors=["exit 1"]).ok is False


def test_an_api_secret_starting_with_a_dash_reaches_rasa(monkeypatch: pytest.MonkeyPatch) -> None:
    """A random token starts with "-" once in 64 (the benchmark's did, 2026-12-02); passed as
    two arguments, Rasa's own parser took it for an option and `rasa run` stopped."""
    from rasa.__main__ import create_argument_parser

    from bot.launcher import Servers

    monkeypatch.setenv("RASA_API_TOKEN", "-tok")
    monkeypatch.setenv("RASA_JWT_SECRET", "-jwt")
    arguments = Servers().rasa_api_arguments()
    parsed = create_argument_parser().parse_args(["run", *arguments])
    assert (parsed.auth_token, parsed.jwt_secret, parsed.enable_api) == ("-tok", "-jwt", True)
    with pytest.raises(SystemExit):  # what the launcher passed before
        create_argument_parser().parse_args(["run", "--auth-token", "-tok"])
