"""Start the whole demo: the action server and the Rasa server, and stop them cleanly.

``make run`` uses the command line; tests and benchmarks use ``Servers`` with their own ports and
database, so all three start the product exactly the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_ROOT, load_settings

DEFAULT_MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
STARTUP_TIMEOUT_S = 180


class LaunchError(RuntimeError):
    pass


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get_json(url: str) -> dict | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return json.loads(response.read().decode() or "{}")
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return None


@dataclass
class Servers:
    """The action server and the Rasa server as child processes."""

    rasa_port: int = 5005
    actions_port: int = 5055
    model: Path = DEFAULT_MODEL
    database_url: str | None = None
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    def environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(
            {
                "PYTHONPATH": str(PROJECT_ROOT),
                "ACTION_ENDPOINT_URL": f"{self.actions_url}/webhook",
                "DATABASE_URL": self.database_url or load_settings().database_url,
                "RASA_TELEMETRY_ENABLED": "false",
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
            }
        )
        env.update(self.extra_env)
        return env

    def _spawn(self, name: str, command: list[str]) -> None:
        if self.log_dir is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            output = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives with the child
        else:
            output = None
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env=self.environment(),
            stdout=output,
            stderr=subprocess.STDOUT if output else None,
            start_new_session=True,
        )
        self.processes.append(process)

    def start(self) -> None:
        if not self.model.exists():
            raise LaunchError(f"no trained model at {self.model}; run `make train` first")
        for port in (self.rasa_port, self.actions_port):
            if not port_is_free(port):
                raise LaunchError(f"port {port} is already in use; stop what uses it first")
        python = sys.executable
        self._spawn(
            "actions",
            [python, "-m", "rasa_sdk", "--actions", "actions", "--port", str(self.actions_port)],
        )
        self._spawn(
            "rasa",
            [
                python, "-m", "rasa", "run",
                "--model", str(self.model),
                "--port", str(self.rasa_port),
                "--endpoints", "endpoints.yml",
                "--credentials", "credentials.yml",
                "--enable-api",
                "--cors", "*",
            ],
        )  # fmt: skip
        self.wait_until_ready()

    def wait_until_ready(self, timeout_s: float = STARTUP_TIMEOUT_S) -> float:
        """Block until both answer; return the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            for process in self.processes:
                if process.poll() is not None:
                    self.stop()
                    raise LaunchError(f"a server exited early with code {process.returncode}")
            actions = _get_json(f"{self.actions_url}/health")
            status = _get_json(f"{self.rasa_url}/status")
            if actions is not None and status and status.get("model_id"):
                return time.monotonic() - started
            time.sleep(0.5)
        self.stop()
        raise LaunchError(f"servers not ready after {timeout_s:.0f} s")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.processes.clear()

    def __enter__(self) -> Servers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start the arrears assistant demo.")
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--actions-port", type=int, default=5055)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)

    servers = Servers(rasa_port=args.rasa_port, actions_port=args.actions_port, model=args.model)
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print("starting the action server and the Rasa server (about 30 s) …", flush=True)
    try:
        servers.start()
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        "\n信用卡逾期协商助手 is running:\n"
        f"  REST channel   POST {servers.rasa_url}/webhooks/rest/webhook\n"
        '                 body: {"sender": "demo-1", "message": "您好"}\n'
        f"  Rasa HTTP API  {servers.rasa_url}/status\n"
        f"  Action server  {servers.actions_url}/health\n"
        f"  Database       {servers.environment()['DATABASE_URL']}\n"
        "  Demo cardholders: see data/demo/demo_accounts.yml "
        "(e.g. card 6217 / ID 1234)\n"
        "Press Ctrl-C to stop.\n",
        flush=True,
    )
    try:
        while not stopping and all(p.poll() is None for p in servers.processes):
            time.sleep(0.5)
    finally:
        print("stopping …", flush=True)
        servers.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
