"""Where the trust-boundary controls' cost per message goes, deterministically.

bench_rasa.py measures the cost under load (noisy: ±25 % between rounds on this machine). This
plays the benchmark's conversation N times one after the other against the working tree's servers
(and, with ``--before``, against an older revision's, as bench_rasa.py's ``before`` side builds
it) and prints per message: the SQL statements each server ran, by database file and kind
(``BOT_SQL_COUNTS_DIR``, bot/db/engine.py), and the CPU ms of each server's process tree.
Statement counts are exact and repeatable; CPU at c1 is steadier than at c20, not noise-free.

Run: ``PYTHONPATH=. BOT_TODAY=2026-11-22 .venv/bin/python bench/profile_controls.py [-n 20]
[--before]``. Talks to 127.0.0.1 only; everything it starts is stopped, its folder removed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
for _folder in (PROJECT_ROOT, BENCH_DIR):
    if str(_folder) not in sys.path:
        sys.path.insert(0, str(_folder))

import requests  # noqa: E402
from bench_accounts import add_bench_accounts  # noqa: E402
from bench_rasa import (  # noqa: E402
    ASSISTANT,
    BEFORE_REV,
    TRAINING_CACHE,
    UNREACHABLE_CLIENT_LIMIT,
    process_tree,
    sender_id,
    tree_cpu,
)
from revision_side import revision_servers, seed_database, train_model, worktree  # noqa: E402

from bot.db.engine import SQL_COUNTS_DIR  # noqa: E402
from bot.launcher import DEFAULT_MODEL, Servers, free_port  # noqa: E402
from bot.settings import load_settings  # noqa: E402
from tests.support import seeded_database  # noqa: E402

# Loading the model took over 4 minutes here while three trainings shared the two cores.
LOAD_TIMEOUT_S = 900

# The older revision has no statement counting of its own: a sitecustomize.py put into its
# worktree (on its PYTHONPATH) loads this tree's engine module by path and counts every engine.
SITECUSTOMIZE = """\
import importlib.util, os
_folder = os.environ.get("BOT_SQL_COUNTS_DIR")
if _folder:
    from sqlalchemy.engine import Engine
    _spec = importlib.util.spec_from_file_location("_profile_sql_counts", {engine!r})
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    _module.count_statements(Engine, _folder)
"""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def statement_counts(folder: Path, roots: dict[str, int]) -> dict[str, Counter[str]]:
    """The statements each root's process tree ran so far, by ``database: KIND table``."""
    totals: dict[str, Counter[str]] = {}
    for name, pid in roots.items():
        total: Counter[str] = Counter()
        for member in process_tree([pid]):
            path = folder / f"{member}.json"
            if path.exists():
                total.update(json.loads(path.read_bytes().strip() or b"{}"))
        totals[name] = total
    return totals


def converse(rasa_url: str, tag: str) -> bool:
    """One benchmark conversation, sequential; True when it reached the agreement."""
    sender = sender_id("profile", tag)
    last: list[dict[str, Any]] = []
    for text in ASSISTANT.conversation():
        reply = requests.post(
            f"{rasa_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": text},
            timeout=60,
        )
        reply.raise_for_status()
        last = reply.json()
    said = "\n".join(str(m.get("text") or "") for m in last)
    if ASSISTANT.done_mark not in said:
        log(f"{sender}: the last reply was {said[:300]!r}")
    return ASSISTANT.done_mark in said


def measure(
    name: str, rasa_url: str, roots: dict[str, int], counts_dir: Path, conversations: int
) -> dict[str, Any]:
    """Warm up with two conversations, then play ``conversations`` and divide by messages."""
    for index in range(2):
        if not converse(rasa_url, f"{name}-warm{index}"):
            log(f"{name}: the warm-up conversation did not reach the agreement")
    time.sleep(1.0)  # let the last request's tail (saving the tracker) finish
    counts_before, cpu_before = statement_counts(counts_dir, roots), tree_cpu(roots)
    started = time.monotonic()
    progressed = sum(converse(rasa_url, f"{name}-{index}") for index in range(conversations))
    wall_s = time.monotonic() - started
    time.sleep(1.0)
    counts_after, cpu_after = statement_counts(counts_dir, roots), tree_cpu(roots)
    messages = conversations * len(ASSISTANT.turns)
    result: dict[str, Any] = {
        "messages": messages,
        "progressed": progressed,
        "wall_s": round(wall_s, 1),
        "cpu_ms": {},
        "statements": {},
        "statement_kinds": {},
    }
    for process in roots:
        result["cpu_ms"][process] = (cpu_after[process] - cpu_before[process]) * 1000 / messages
        kinds = counts_after[process].copy()
        kinds.subtract(counts_before[process])
        per_message = {kind: count / messages for kind, count in kinds.items() if count}
        result["statement_kinds"][process] = dict(sorted(per_message.items()))
        result["statements"][process] = sum(per_message.values())
    return result


def environment(workers: int, counts_dir: Path) -> dict[str, str]:
    """bench_rasa.py's settings (its load_environment) without the API token, plus counting."""
    return {
        "RASA_WORKERS": str(workers),
        "RATE_LIMIT_PER_CLIENT": str(UNREACHABLE_CLIENT_LIMIT),
        "BOT_TODAY": os.environ.get("BOT_TODAY") or "2026-11-22",
        SQL_COUNTS_DIR: str(counts_dir),
    }


@contextmanager
def working_tree_servers(work: Path, args: argparse.Namespace) -> Iterator[tuple[str, dict]]:
    counts_dir = work / "counts-after"
    counts_dir.mkdir()
    folder = work / "after"
    folder.mkdir()
    database_url = seeded_database(folder)
    add_bench_accounts(database_url, load_settings().identity_pepper)
    servers = Servers(
        rasa_port=free_port(),
        actions_port=free_port(),
        model=args.model,
        database_url=database_url,
        log_dir=folder / "logs",
        extra_env=environment(args.workers, counts_dir),
    )
    # a machine busy with other work (trainings) loads the model slower than the launcher waits
    servers.wait_until_ready = partial(Servers.wait_until_ready, servers, LOAD_TIMEOUT_S)
    log(f"after: starting the working tree's servers ({servers.rasa_workers} Rasa workers)")
    with servers:
        roots = {"rasa": servers.processes[1].pid, "actions": servers.processes[0].pid}
        yield servers.rasa_url, roots


@contextmanager
def before_servers(work: Path, args: argparse.Namespace) -> Iterator[tuple[str, dict]]:
    counts_dir = work / "counts-before"
    counts_dir.mkdir()
    tree = work / "before"
    with worktree(PROJECT_ROOT, args.before_rev, tree, log):
        (tree / "sitecustomize.py").write_text(
            SITECUSTOMIZE.format(engine=str(PROJECT_ROOT / "bot" / "db" / "engine.py"))
        )
        if args.before_model:  # e.g. HEAD, whose model the working tree's is
            (tree / "models").mkdir(exist_ok=True)
            shutil.copy(args.before_model, tree / "models" / "assistant.tar.gz")
        else:
            training = train_model(
                tree, sys.executable, TRAINING_CACHE, work / "before-train.log", 1800, log
            )
            log(f"before: model trained in {training.seconds:.0f} s")
        database_url = f"sqlite:///{work / 'before.db'}"
        env = environment(args.workers, counts_dir)
        log(f"before: {seed_database(tree, sys.executable, database_url, env)}")
        # the ID digits as the revision keeps them: plainly (aa31f6d) or as their digest
        add_bench_accounts(database_url, load_settings().identity_pepper)
        with revision_servers(
            tree,
            sys.executable,
            rasa_port=free_port(),
            actions_port=free_port(),
            database_url=database_url,
            log_dir=work / "before-logs",
            env=env,
        ) as servers:
            yield servers.rasa_url, {"rasa": servers.rasa_pid, "actions": servers.actions_pid}


def print_results(results: dict[str, dict[str, Any]]) -> None:
    for name, result in results.items():
        cpu = result["cpu_ms"]
        print(
            f"\n== {name}: {result['messages']} messages, {result['progressed']} conversations "
            f"progressed, {result['wall_s']} s",
            flush=True,
        )
        print(
            f"CPU ms per message: {sum(cpu.values()):.2f} "
            f"(rasa {cpu['rasa']:.2f} + actions {cpu['actions']:.2f})"
        )
        for process, kinds in result["statement_kinds"].items():
            print(f"SQL statements per message, {process}: {result['statements'][process]:.2f}")
            for kind, count in kinds.items():
                print(f"    {count:6.2f}  {kind}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--conversations", type=int, default=20)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--before", action="store_true", help="also the older revision")
    parser.add_argument("--only-before", action="store_true", help="the older revision only")
    parser.add_argument("--before-rev", default=BEFORE_REV)
    parser.add_argument(
        "--before-model", type=Path, help="use this model for the revision instead of training"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the folder (logs, databases)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    results: dict[str, dict[str, Any]] = {}
    sides: list[tuple[str, Callable[..., Any]]] = []
    if not args.only_before:
        sides.append(("after", working_tree_servers))
    if args.before or args.only_before:
        sides.append(("before", before_servers))
    work = Path(tempfile.mkdtemp(prefix="profile-controls-"))
    try:
        for name, servers_of in sides:
            with servers_of(work, args) as (rasa_url, roots):
                log(f"{name}: serving on {rasa_url}; {args.conversations} conversations")
                counts_dir = work / f"counts-{name}"
                results[name] = measure(name, rasa_url, roots, counts_dir, args.conversations)
            print_results({name: results[name]})
    finally:
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
