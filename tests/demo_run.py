"""`make run` as a newcomer types it, on free ports and a scratch database, for the tests that
check what it prints and what it serves (tests/test_make_run.py; the session fixture
``demo_run`` in tests/conftest.py starts it once)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bot.console.users import DEMO_PASSWORDS_PATH
from bot.launcher import free_port

PROJECT_ROOT = Path(__file__).resolve().parent.parent
READY_LINE = "Press Ctrl-C to stop."
START_TIMEOUT_S = 600  # installs nothing in CI (make test did), loads the model: ~60-90 s


@dataclass
class DemoRun:
    rasa_url: str
    console_url: str
    database_url: str
    log_dir: Path
    output: str  # everything `make run` printed until the demo was ready


@contextmanager
def make_run(folder: Path) -> Iterator[DemoRun]:
    rasa, actions, console = free_port(), free_port(), free_port()
    log_dir = folder / "logs"
    arguments = (
        f"--rasa-port {rasa} --actions-port {actions} --console-port {console} --log-dir {log_dir}"
    )
    database_url = f"sqlite:///{folder / 'demo.db'}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "BOT_TODAY": os.environ.get("BOT_TODAY", "2026-11-22"),
    }
    saved = DEMO_PASSWORDS_PATH.read_bytes() if DEMO_PASSWORDS_PATH.exists() else None
    process = subprocess.Popen(
        ["make", "--no-print-directory", "run", f"ARGS={arguments}"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = _until_ready(process)
        yield DemoRun(
            f"http://127.0.0.1:{rasa}", f"http://127.0.0.1:{console}", database_url, log_dir, output
        )
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)  # as Ctrl-C: the launcher stops its servers
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        _restore(saved)


def _until_ready(process: subprocess.Popen) -> str:
    assert process.stdout is not None
    lines: list[str] = []
    started = time.monotonic()
    for line in process.stdout:
        lines.append(line)
        if line.strip() == READY_LINE:
            return "".join(lines)
        if time.monotonic() - started > START_TIMEOUT_S:
            break
    raise AssertionError("`make run` did not get ready; it printed:\n" + "".join(lines))


def _restore(saved: bytes | None) -> None:
    """The demo users made for the scratch database leave no entry in the developer's file."""
    if saved is None:
        DEMO_PASSWORDS_PATH.unlink(missing_ok=True)
        return
    DEMO_PASSWORDS_PATH.write_bytes(saved)
