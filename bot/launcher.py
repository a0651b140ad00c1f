"""Start the whole demo: the action server and the Rasa server, and stop them cleanly.

``make run`` uses the command line; tests and benchmarks use ``Servers`` with their own ports and
database, so all three start the product exactly the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.child_logs import pump
from bot.settings import PROJECT_ROOT, VAR_DIR, load_settings

DEFAULT_MODEL = PROJECT_ROOT / "models" / "assistant.tar.gz"
CREDENTIALS = PROJECT_ROOT / "credentials.yml"
ENDPOINTS = PROJECT_ROOT / "endpoints.yml"
STARTUP_TIMEOUT_S = 180
RASA_REQUEST_MAX_BYTES = 64 * 1024
_ENV_REFERENCE = re.compile(r"\$\{(\w+)\}")


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


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def tcp_sockets(port: int, state: str) -> set[str] | None:
    """The inodes of this machine's TCP sockets on local ``port`` in ``state`` (``0A``:
    listening, ``01``: established); None where /proc/net does not tell."""
    inodes: set[str] | None = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table, encoding="ascii") as rows:
                next(rows, None)
                inodes = set() if inodes is None else inodes
                for row in rows:
                    fields = row.split()
                    if fields[3] == state and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(fields[9])
        except OSError:
            continue
    return inodes


def listening_sockets(port: int) -> int | None:
    """How many sockets listen on ``port`` (each Rasa worker has its own once it serves)."""
    listening = tcp_sockets(port, "0A")
    return None if listening is None else len(listening)


def without_unset_blocks(text: str, env: Mapping[str, str]) -> tuple[str, list[str]]:
    """A Rasa YAML file (credentials.yml, endpoints.yml) without the top-level blocks whose
    ``${VAR}`` values are not set (Rasa refuses to start on an unset variable, and e.g. `make
    run` has no Telegram token nor Redis); returns the text and the blocks left out."""
    blocks: list[list[str]] = [[]]
    for line in text.splitlines(keepends=True):
        if line[:1] not in ("", " ", "\t", "#", "\n", "\r"):
            # a top-level key starts a channel's block; the comments just above belong to it
            leading = []
            while blocks[-1] and blocks[-1][-1].lstrip()[:1] in ("#", ""):
                leading.insert(0, blocks[-1].pop())
            blocks.append(leading)
        blocks[-1].append(line)
    kept: list[str] = []
    left_out: list[str] = []
    for block in blocks:
        settings = [line for line in block if not line.lstrip().startswith("#")]
        names = _ENV_REFERENCE.findall("".join(settings))
        if any(not env.get(name) for name in names):
            left_out.append(next(line for line in settings if line.strip()).split(":")[0].strip())
        else:
            kept.append("".join(block))
    return "".join(kept), left_out


@dataclass
class Servers:
    """The action server and the Rasa server as child processes."""

    rasa_port: int = 5005
    actions_port: int = 5055
    console_port: int | None = None
    model: Path = DEFAULT_MODEL
    database_url: str | None = None
    log_dir: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    processes: list[subprocess.Popen] = field(default_factory=list)
    channels_left_out: list[str] = field(default_factory=list)
    endpoints_left_out: list[str] = field(default_factory=list)
    _copies: list[Path] = field(default_factory=list)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://127.0.0.1:{self.actions_port}"

    @property
    def console_url(self) -> str | None:
        return f"http://127.0.0.1:{self.console_port}" if self.console_port else None

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
                # the demo page is served by the Rasa server itself: its own origin
                "ALLOWED_ORIGINS": f"{self.rasa_url},http://localhost:{self.rasa_port}",
            }
        )
        env.update({k: v for k, v in os.environ.items() if k == "ALLOWED_ORIGINS"})
        env.update(self.extra_env)
        # every child must agree on the shared secrets: resolved once, here
        settings = load_settings(env)
        env["ACTION_SERVER_TOKEN"] = settings.action_server_token
        env["IDENTITY_PEPPER"] = settings.identity_pepper
        env["WIDGET_TOKEN_SECRET"] = settings.widget_token_secret
        if not env.get("LOCK_STORE_URL"):
            shared = env.get("REDIS_URL") or sqlite_lock_url(env["DATABASE_URL"])
            if shared:
                env["LOCK_STORE_URL"] = shared
        return env

    def credentials_path(self) -> Path:
        """credentials.yml itself, or a copy without the channels not configured here."""
        path, self.channels_left_out = self._configured_copy(CREDENTIALS, "credentials-")
        return path

    def endpoints_path(self) -> Path:
        """endpoints.yml itself, or a copy without the lock store when no shared one is set."""
        path, self.endpoints_left_out = self._configured_copy(ENDPOINTS, "endpoints-")
        return path

    def _configured_copy(self, path: Path, prefix: str) -> tuple[Path, list[str]]:
        text, left_out = without_unset_blocks(path.read_text(encoding="utf-8"), self.environment())
        if not left_out:
            return path, left_out
        handle, name = tempfile.mkstemp(prefix=prefix, suffix=".yml")
        with os.fdopen(handle, "w", encoding="utf-8") as copy:
            copy.write(text)
        self._copies.append(Path(name))
        return Path(name), left_out

    @property
    def rasa_workers(self) -> int:
        """Rasa processes: RASA_WORKERS (default: one per CPU) when the lock store is shared
        (Redis, or the SQLite file beside an SQLite database); one with in-process locks."""
        env = self.environment()
        if not env.get("LOCK_STORE_URL"):
            return 1
        wanted = env.get("RASA_WORKERS") or str(os.cpu_count() or 1)
        return max(1, int(wanted))

    def _spawn(self, name: str, command: list[str], env: dict[str, str] | None = None) -> None:
        logged = self.log_dir is not None
        process = subprocess.Popen(
            command,
            cwd=PROJECT_ROOT,
            env={**self.environment(), **(env or {})},
            stdout=subprocess.PIPE if logged else None,
            stderr=subprocess.STDOUT if logged else None,
            start_new_session=True,
        )
        if self.log_dir is not None and process.stdout is not None:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            pump(process.stdout, self.log_dir / f"{name}.log")  # masked, whatever wrote it
        self.processes.append(process)

    def start(self) -> None:
        if not self.model.exists():
            raise LaunchError(f"no trained model at {self.model}; run `make train` first")
        for port in (self.rasa_port, self.actions_port, self.console_port):
            if port is not None and not port_is_free(port):
                raise LaunchError(f"port {port} is already in use; stop what uses it first")
        os.umask(0o077)  # databases, logs and secrets made from here on: owner only
        python = sys.executable
        self._spawn(
            "actions",
            [python, "-m", "bot.action_server", "--actions", "actions",
             "--port", str(self.actions_port)],
        )  # fmt: skip
        self._spawn(
            "rasa",
            [
                python, "-m", "bot.rasa_server", "run",
                "--model", str(self.model),
                "--port", str(self.rasa_port),
                "--interface", "127.0.0.1",
                "--endpoints", str(self.endpoints_path()),
                "--credentials", str(self.credentials_path()),
                *self.rasa_api_arguments(),
            ],
            env={
                "SANIC_WORKERS": str(self.rasa_workers),
                # sanic refuses larger bodies before any handler reads them (413); the REST
                # channel and the widget allow MAX_REQUEST_BYTES, Telegram's updates need more
                "SANIC_REQUEST_MAX_SIZE": str(RASA_REQUEST_MAX_BYTES),
            },
        )  # fmt: skip
        if self.console_port:
            self._spawn(
                "console",
                [python, "-m", "bot.console", "--port", str(self.console_port)],
                # plain HTTP cookies only for the console on 127.0.0.1 (the demo)
                env={"CONSOLE_COOKIE_SECURE": self.environment().get("CONSOLE_COOKIE_SECURE")
                     or "false"},
            )  # fmt: skip
        self.wait_until_ready()

    def rasa_api_arguments(self) -> list[str]:
        """Rasa's HTTP API (trackers, events, models) is off unless the bank gives it a
        credential: RASA_API_TOKEN (``?token=``) and/or RASA_JWT_SECRET. CORS: the allow-list."""
        settings = load_settings(self.environment())
        arguments = ["--cors", *settings.allowed_origins]
        if settings.rasa_api_token or settings.rasa_jwt_secret:
            arguments.append("--enable-api")
        # one argument each: a secret may start with "-" (token_urlsafe makes one in 1 of 64),
        # which argparse would take for an option
        if settings.rasa_api_token:
            arguments.append(f"--auth-token={settings.rasa_api_token}")
        if settings.rasa_jwt_secret:
            arguments.append(f"--jwt-secret={settings.rasa_jwt_secret}")
        return arguments

    def wait_until_ready(self, timeout_s: float = STARTUP_TIMEOUT_S) -> float:
        """Block until both answer; return the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            for process in self.processes:
                if process.poll() is not None:
                    self.stop()
                    raise LaunchError(f"a server exited early with code {process.returncode}")
            actions = _get_json(f"{self.actions_url}/health")
            # Rasa loads its model before it listens: its channel answering means it is loaded
            rasa_up = _answers(f"{self.rasa_url}/webhooks/rest/")
            console_up = self.console_url is None or _answers(f"{self.console_url}/login")
            if actions is not None and rasa_up and console_up:
                if self._all_rasa_workers_serve():
                    return time.monotonic() - started
            time.sleep(0.5)
        self.stop()
        raise LaunchError(f"servers not ready after {timeout_s:.0f} s")

    def _all_rasa_workers_serve(self) -> bool:
        """A worker listens on its own socket once it has loaded the model; until all do, the
        first cardholders would all be given to the first worker up."""
        if self.rasa_workers == 1:
            return True
        listening = listening_sockets(self.rasa_port)
        return listening is None or listening >= self.rasa_workers

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
        for copy in self._copies:
            copy.unlink(missing_ok=True)
        self._copies.clear()

    def __enter__(self) -> Servers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def api_status(servers: Servers) -> str:
    if "--enable-api" not in servers.rasa_api_arguments():
        return "off (set RASA_API_TOKEN or RASA_JWT_SECRET to enable it with a credential)"
    return f"{servers.rasa_url}/status (needs the token)"


def telegram_status(servers: Servers) -> str:
    if "bot.channels.telegram.TelegramInput" in servers.channels_left_out:
        return "off (set TELEGRAM_TOKEN and TELEGRAM_SECRET to enable it)"
    mode = servers.environment().get("TELEGRAM_MODE") or "webhook"
    return f"on, {mode} mode: POST {servers.rasa_url}/webhooks/telegram/webhook"


def sqlite_lock_url(database_url: str) -> str | None:
    """Where the workers of an SQLite-backed demo share their locks: a file beside the database
    (``.var/assistant.db`` → ``.var/assistant-locks.db``); None for an in-memory database or
    another kind (there, locks are shared through REDIS_URL)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    database = Path(url.database)
    suffix = database.suffix or ".db"
    return f"sqlite:///{database.with_name(database.stem + '-locks' + suffix)}"


def workers_status(servers: Servers) -> str:
    lock_url = servers.environment().get("LOCK_STORE_URL")
    if not lock_url:
        return "1 (in-memory locks; set REDIS_URL and RASA_WORKERS for more)"
    where = make_url(lock_url)
    if where.get_backend_name() == "sqlite":
        return f"{servers.rasa_workers} (locks in the SQLite file {where.database})"
    return f"{servers.rasa_workers} (locks in Redis at {mask_password(lock_url)})"


def shown_path(path: Path) -> str:
    """A path as a person at the project's root types it."""
    try:
        return str(path.resolve().relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def log_tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def mask_password(url: str) -> str:
    """A database or Redis URL fit for printing: any password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start the arrears assistant demo.")
    parser.add_argument("--rasa-port", type=int, default=5005)
    parser.add_argument("--actions-port", type=int, default=5055)
    parser.add_argument("--console-port", type=int, default=5006)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument(
        "--log-dir", type=Path, default=VAR_DIR / "logs", help="the servers' logs (masked)"
    )
    args = parser.parse_args(argv)

    servers = Servers(
        rasa_port=args.rasa_port,
        actions_port=args.actions_port,
        console_port=args.console_port,
        model=args.model,
        log_dir=args.log_dir,
        # the demo page's stand-in for a bank login (off whenever ASSISTANT_ENV=production)
        extra_env={"WIDGET_DEMO_TOKENS": os.environ.get("WIDGET_DEMO_TOKENS", "1")},
    )
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print(
        "starting the action server, the Rasa server and the console (about 30 s; "
        f"their logs: {shown_path(args.log_dir)}/) …",
        flush=True,
    )
    try:
        servers.start()
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        for log in sorted(args.log_dir.glob("*.log")):
            print(f"--- the end of {shown_path(log)}:\n{log_tail(log)}", file=sys.stderr)
        return 1
    print(
        "\n信用卡逾期协商助手 is running:\n"
        f"  REST channel   POST {servers.rasa_url}/webhooks/rest/webhook\n"
        '                 body: {"sender": "demo-1", "message": "您好"}\n'
        f"  Web widget     {servers.rasa_url}/webhooks/widget/demo.html  (demo page)\n"
        f"                 {servers.rasa_url}/webhooks/widget/demo.html?account=CC-0001"
        "  (logged in: a demo login token)\n"
        f"  Rasa HTTP API  {api_status(servers)}\n"
        f"  Action server  {servers.actions_url}/health\n"
        f"  Console        {servers.console_url}/  (专员控制台; demo logins: shown by `make seed` "
        "when made, kept in .var/console-demo-passwords.json)\n"
        f"  Outbox (REST)  GET {servers.rasa_url}/webhooks/rest/outbox?sender=demo-1\n"
        f"  Database       {mask_password(servers.environment()['DATABASE_URL'])}\n"
        f"  Rasa workers   {workers_status(servers)}\n"
        f"  Telegram       {telegram_status(servers)}\n"
        f"  Logs           {shown_path(args.log_dir)}/ (masked)\n"
        "  Demo cardholders: see data/demo/demo_accounts.yml "
        "(e.g. card 6217 / ID 1234)\n"
        "Try: open the demo page and write 「我想办分期」, then card 6217 and ID 1234; or say\n"
        "「最近失业了，还不上」, 「逾期会坐牢吗」, 「转人工」 (and answer in the console).\n"
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
