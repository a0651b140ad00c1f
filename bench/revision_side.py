"""An older revision of the assistant as a benchmark side: its own worktree, model and servers.

What a change costs per message is only comparable when "before" and "after" run on the same
machine in the same minutes (its speed drifts by a quarter over minutes), so bench_rasa.py does
not compare with figures of an earlier run: it checks the older revision out beside the working
tree (``git worktree add --detach``), trains that revision's model there (unchanged components
come from the project's training cache: after the first run, nothing trains again), seeds that
revision's database with that revision's seed, and starts that revision's own
``bot.launcher.Servers`` through bench/revision_launcher.py. Everything here is stdlib and runs
the revision's code only in child processes, since both revisions have a package named ``bot``.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

LAUNCHER_SCRIPT = Path(__file__).resolve().parent / "revision_launcher.py"
GIT_TIMEOUT_S = 120
SEED_TIMEOUT_S = 180
# the revision's own Servers gives up after its STARTUP_TIMEOUT_S (180 s); then it reports
LAUNCH_TIMEOUT_S = 300
STOP_TIMEOUT_S = 40
PROGRESS_EVERY_S = 15.0
# Rasa's training log lines worth showing while it trains (all of them go to the log file)
TRAINING_MARKS = (
    "Restored component",
    "Starting to train component",
    "Finished training component",
    "Your Rasa model is trained",
    "Error",
    "Traceback",
)

Log = Callable[[str], None]


class RevisionError(RuntimeError):
    """The older revision could not be checked out, trained, seeded or started."""


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _git(repo: Path, *arguments: str) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(repo), *arguments],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as error:
        raise RevisionError(f"git {' '.join(arguments)} took over {GIT_TIMEOUT_S} s") from error
    if done.returncode != 0:
        raise RevisionError(f"git {' '.join(arguments)}: {done.stderr.strip()[-800:]}")
    return done.stdout.strip()


@contextmanager
def worktree(repo: Path, revision: str, path: Path, log: Log) -> Iterator[str]:
    """The revision checked out (detached) at ``path``; yields its full commit id. Removed from
    git's list and the disk however the block ends, so no stale worktree is left behind."""
    commit = _git(repo, "rev-parse", "--verify", f"{revision}^{{commit}}")
    log(f"before: git worktree add --detach {path} {commit[:10]} ({revision})")
    _git(repo, "worktree", "add", "--detach", str(path), commit)
    try:
        yield commit
    finally:
        try:
            _git(repo, "worktree", "remove", "--force", str(path))
        except RevisionError as error:
            log(f"before: {error}; removing the folder and pruning instead")
            shutil.rmtree(path, ignore_errors=True)
            try:
                _git(repo, "worktree", "prune")
            except RevisionError as prune_error:
                log(f"before: {prune_error}")


def revision_environment(tree: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every child run in the worktree: its ``bot`` package, not ours."""
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(tree),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        }
    )
    env.update(extra or {})
    return env


def stop_group(process: subprocess.Popen, grace_s: float = 15.0) -> None:
    """SIGTERM the child's process group, SIGKILL it if it lingers."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=grace_s)


@dataclass
class Training:
    """What training the revision's model took, for the JSON."""

    seconds: float = 0.0
    restored: list[str] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)


class _TrainingProgress:
    """Shows the component lines of Rasa's output and, at most every PROGRESS_EVERY_S, the
    latest epoch bar (tqdm redraws it with carriage returns, many times a second)."""

    def __init__(self, log: Log, outcome: Training) -> None:
        self.log = log
        self.outcome = outcome
        self.last_shown = 0.0

    def line(self, text: str) -> None:
        if not text:
            return
        restored = re.search(r"Restored component '([^']+)'", text)
        finished = re.search(r"Finished training component '([^']+)'", text)
        if restored:
            self.outcome.restored.append(restored.group(1))
        if finished:
            self.outcome.trained.append(finished.group(1))
        if any(mark in text for mark in TRAINING_MARKS):
            self.log(f"before: train: {text[-160:]}")
        elif "Epochs:" in text and time.monotonic() - self.last_shown >= PROGRESS_EVERY_S:
            self.last_shown = time.monotonic()
            self.log(f"before: train: {text[-120:]}")


def _pump(process: subprocess.Popen, log_path: Path, until: float, on_line: Log) -> None:
    """Copy the child's output to its log and hand each line to ``on_line``, until it ends or
    ``until`` (monotonic) passes."""
    assert process.stdout is not None
    descriptor = process.stdout.fileno()
    pending = b""
    with open(log_path, "ab") as output:
        while True:
            remaining = until - time.monotonic()
            if remaining <= 0:
                raise RevisionError("training did not finish in time")
            ready, _, _ = select.select([descriptor], [], [], min(1.0, remaining))
            if not ready:
                continue
            chunk = os.read(descriptor, 65536)
            if not chunk:
                break
            output.write(chunk)
            pending += chunk
            *lines, pending = re.split(rb"[\r\n]", pending)
            for line in lines:
                on_line(line.decode("utf-8", errors="replace").strip())
    on_line(pending.decode("utf-8", errors="replace").strip())


def train_model(
    tree: Path, python: str, cache_dir: Path, log_path: Path, timeout_s: float, log: Log
) -> Training:
    """``rasa train`` in the worktree into ``models/assistant.tar.gz``. RASA_CACHE_DIRECTORY
    (rasa/engine/caching.py) points at the project's own cache: a component whose code, config
    and inputs are unchanged is restored from it instead of trained again."""
    outcome = Training()
    command = [python, "-m", "rasa", "train", "--config", "config.yml", "--domain", "domain.yml",
               "--data", "data", "--out", "models", "--fixed-model-name", "assistant"]  # fmt: skip
    env = revision_environment(tree, {"RASA_CACHE_DIRECTORY": str(cache_dir)})
    log(f"before: training the revision's model (cache {cache_dir}; log {log_path.name})")
    started = time.monotonic()
    process = subprocess.Popen(
        command,
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        _pump(process, log_path, started + timeout_s, _TrainingProgress(log, outcome).line)
        process.wait(timeout=60)
    except subprocess.TimeoutExpired as error:
        raise RevisionError("rasa train did not exit after its output ended") from error
    finally:
        stop_group(process)
    model = tree / "models" / "assistant.tar.gz"
    if process.returncode != 0 or not model.exists():
        raise RevisionError(f"rasa train failed (code {process.returncode}):\n{_tail(log_path)}")
    outcome.seconds = round(time.monotonic() - started, 1)
    return outcome


def seed_database(tree: Path, python: str, database_url: str, env: dict[str, str]) -> str:
    """The revision's own ``python -m bot.db.seed`` (its schema, its demo accounts)."""
    try:
        done = subprocess.run(
            [python, "-m", "bot.db.seed"],
            cwd=tree,
            env=revision_environment(tree, {**env, "DATABASE_URL": database_url}),
            capture_output=True,
            text=True,
            timeout=SEED_TIMEOUT_S,
        )
    except subprocess.TimeoutExpired as error:
        raise RevisionError(f"seeding took over {SEED_TIMEOUT_S} s") from error
    if done.returncode != 0:
        raise RevisionError(f"seeding failed:\n{(done.stdout + done.stderr)[-1500:]}")
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


@dataclass
class RevisionServers:
    """The revision's servers as its launcher reported them."""

    rasa_url: str
    rasa_pid: int
    actions_pid: int
    rasa_workers: int
    ready_s: float


def _read_report(process: subprocess.Popen, timeout_s: float) -> dict:
    """The launcher's one JSON line (bounded wait; an exit without it is an error)."""
    assert process.stdout is not None
    until = time.monotonic() + timeout_s
    line = b""
    while not line.endswith(b"\n") and time.monotonic() < until:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                break
            line += chunk
    try:
        return json.loads(line.decode("utf-8", errors="replace").strip().splitlines()[0])
    except (IndexError, ValueError):
        return {"error": f"no report from the launcher within {timeout_s:.0f} s ({line[:200]!r})"}


def _kill_group_if_alive(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _stop_launcher(process: subprocess.Popen, children: list[int]) -> None:
    """Closing stdin and SIGTERM both make the launcher stop its servers; if it hangs, it and
    the servers it reported are killed (each server leads a process group of its own)."""
    if process.stdin is not None:
        try:
            process.stdin.close()
        except OSError:
            pass
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT_S)
        for pid in children:
            _kill_group_if_alive(pid)


@contextmanager
def revision_servers(
    tree: Path,
    python: str,
    *,
    rasa_port: int,
    actions_port: int,
    database_url: str,
    log_dir: Path,
    env: dict[str, str],
) -> Iterator[RevisionServers]:
    """The revision's action server and Rasa, started by its own ``Servers`` (so by its own
    readiness rule), stopped however the block ends."""
    log_dir.mkdir(parents=True, exist_ok=True)
    command = [
        python, str(LAUNCHER_SCRIPT),
        "--rasa-port", str(rasa_port),
        "--actions-port", str(actions_port),
        "--model", str(tree / "models" / "assistant.tar.gz"),
        "--database-url", database_url,
        "--log-dir", str(log_dir),
    ]  # fmt: skip
    launcher_log = log_dir / "launcher.log"
    children: list[int] = []
    with open(launcher_log, "ab") as errors:
        process = subprocess.Popen(
            command,
            cwd=tree,
            env=revision_environment(tree, env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            start_new_session=True,
        )
    try:
        report = _read_report(process, LAUNCH_TIMEOUT_S)
        if "error" in report:
            logs = "\n".join(
                f"--- {path.name}:\n{_tail(path, 12)}" for path in sorted(log_dir.glob("*.log"))
            )
            raise RevisionError(f"the revision's servers did not start: {report['error']}\n{logs}")
        children = [int(report["rasa"]), int(report["actions"])]
        yield RevisionServers(
            rasa_url=f"http://127.0.0.1:{rasa_port}",
            rasa_pid=children[0],
            actions_pid=children[1],
            rasa_workers=int(report["rasa_workers"]),
            ready_s=float(report["ready_s"]),
        )
    finally:
        _stop_launcher(process, children)
