"""Running the real console server for tests, and logging in to it over HTTP."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bot.launcher import free_port
from bot.settings import PROJECT_ROOT

STARTUP_TIMEOUT_S = 40
PASSWORDS = {"zhang": "zhang-pass-1", "li": "li-pass-2", "boss": "boss-pass-3"}
USERS = (
    ("zhang", "张敏", "specialist"),
    ("li", "李强", "specialist"),
    ("boss", "王芳", "supervisor"),
)


@dataclass
class ConsoleServer:
    """``python -m bot.console`` as a child process on a free port of 127.0.0.1.

    ``env`` is added to (a ``None`` value removed from) this process's environment; ``policy``
    is a plan policy file other than policy/plans.yml.
    """

    database_url: str
    log_path: Path
    env: dict[str, str | None] = field(default_factory=dict)
    policy: Path | None = None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ConsoleServer:
        env = {**os.environ, "DATABASE_URL": self.database_url, "PYTHONPATH": str(PROJECT_ROOT)}
        for name, value in self.env.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        command = [sys.executable, "-m", "bot.console", "--port", str(self.port)]
        if self.policy is not None:
            command += ["--policy", str(self.policy)]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"console exited early:\n{self.log_path.read_text()}")
            try:
                if requests.get(f"{self.url}/login", timeout=1).status_code == 200:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"console did not start in {STARTUP_TIMEOUT_S}s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


def login(server_url: str, username: str, password: str | None = None) -> requests.Session:
    """A logged-in HTTP session whose writes carry the CSRF header, as the page's JS does."""
    session = requests.Session()
    response = session.post(
        f"{server_url}/api/login",
        json={"username": username, "password": password or PASSWORDS[username]},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    session.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    session.me = response.json()  # type: ignore[attr-defined]
    return session
