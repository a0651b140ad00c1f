"""The specialists' queue and case search at 100,000 cases, with and without their indexes.

Fills a scratch database (SQLite file and PostgreSQL) with N cases over the demo accounts (a
realistic mix: most closed, some open and claimed, priorities and reasons as the product makes
them), then times what the console asks for most: the live queue (bot.console.casefile.queue_for),
the first search page, a deep page, filtered pages, searches by account, name and message text,
each as the median of repeated calls. The same queries run again after the escalations' own
indexes (models.Escalation.__table_args__) are dropped: the baseline of the same run.

Run: ``PYTHONPATH=. .venv/bin/python bench/bench_queue.py [--cases 100000]
[--backends sqlite,postgresql]``. Talks to 127.0.0.1 only; the scratch databases are removed
at the end.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

from sqlalchemy import insert, text  # noqa: E402

from bot.clock import now_utc  # noqa: E402
from bot.console.casefile import queue_for  # noqa: E402
from bot.console.search import Filters, search_cases  # noqa: E402
from bot.console.sessions import Principal  # noqa: E402
from bot.db import models  # noqa: E402
from bot.db.scratch import DEFAULT_ADMIN_URL, scratch_postgres_database  # noqa: E402
from bot.db.seed import seed  # noqa: E402
from bot.db.store import Store  # noqa: E402

REASONS = ("request_human", "distress", "complaint", "dispute", "misunderstood", "plan_approval",
           "no_plan_fits", "identity_failed")  # fmt: skip
CHANNELS = ("rest", "widget", "telegram")
ROUNDS = 7
BATCH = 5_000


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def fill(store: Store, cases: int, specialists: list[int]) -> None:
    """``cases`` escalations over two years, newest last; ~2 % still open, ~1 % claimed."""
    rng = random.Random(7)
    accounts = [f"CC-{n:04d}" for n in range(1, 6)]
    start = now_utc() - timedelta(days=730)
    rows = []
    for index in range(cases):
        created = start + timedelta(minutes=index * 730 * 24 * 60 / cases)
        roll = rng.random()
        status = "open" if roll < 0.02 else "claimed" if roll < 0.03 else "closed"
        reason = rng.choice(REASONS)
        rows.append(
            {
                "conversation_id": f"bench-{index}",
                "account_id": rng.choice(accounts) if rng.random() < 0.8 else None,
                "reason": reason,
                "priority": 0 if reason == "distress" else rng.choice((1, 2, 2)),
                "status": status,
                "channel": rng.choice(CHANNELS),
                "detail": {"message": rng.choice(("转人工", "我想分期", "还不上了", "投诉催收"))},
                "created_at": created,
                "claimed_by": rng.choice(specialists) if status != "open" else None,
                "claimed_at": created + timedelta(minutes=5) if status != "open" else None,
                "closed_at": created + timedelta(hours=1) if status == "closed" else None,
                "outcome": "resolved" if status == "closed" else None,
            }
        )
        if len(rows) == BATCH or index == cases - 1:
            with store.engine.begin() as connection:
                connection.execute(insert(models.Escalation), rows)
            rows = []
            print(f"\r  {index + 1:,} / {cases:,} cases", end="", flush=True)
    print()


def specialists(store: Store) -> list[int]:
    with store.session() as session, session.begin():
        made = [
            models.Specialist(
                username=f"bench{n}", display_name=f"专员{n}", role="specialist", password_hash="x"
            )  # fmt: skip
            for n in range(8)
        ]
        session.add_all(made)
        session.flush()
        return [row.id for row in made]


def median_ms(call: Callable[[], Any]) -> float:
    call()  # warm: plans, caches
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def queries(store: Store, supervisor: Principal, specialist: Principal) -> dict[str, Callable]:
    def find(user: Principal, **filters: Any) -> Callable[[], Any]:
        return lambda: search_cases(store, user, Filters(**filters))

    return {
        "live queue (supervisor)": lambda: queue_for(store, supervisor),
        "live queue (specialist)": lambda: queue_for(store, specialist),
        "search: first page": find(supervisor),
        "search: page 200": find(supervisor, page=200),
        "search: open, urgent": find(supervisor, status="open", priority=0),
        "search: specialist's own": find(specialist, assignee="me"),
        "search: account CC-0003": find(supervisor, q="CC-0003"),
        "search: case #54321": find(supervisor, q="#54321"),
        "search: name 王强": find(supervisor, q="王强"),
        "search: message text": find(supervisor, q="投诉催收"),
        "search: waiting > 60 min": find(supervisor, min_wait_minutes=60),
    }


def drop_indexes(store: Store) -> None:
    with store.engine.begin() as connection:
        for index in models.Escalation.__table__.indexes:
            if index.name.startswith("ix_escalations_") and len(index.columns) > 0:
                connection.execute(text(f"DROP INDEX IF EXISTS {index.name}"))


@contextmanager
def database(backend: str, folder: Path, admin_url: str) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'queue.db'}"
        return
    with scratch_postgres_database(admin_url, prefix="queue_bench") as url:
        yield url


def measure(backend: str, cases: int, folder: Path, admin_url: str) -> dict[str, tuple]:
    with database(backend, folder, admin_url) as url:
        store = Store.from_url(url)
        store.create_schema()
        seed(store)
        ids = specialists(store)
        log(f"{backend}: filling {cases:,} cases")
        fill(store, cases, ids)
        if backend == "postgresql":
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("ANALYZE"))
        supervisor = Principal(id=0, username="boss", display_name="主管", role="supervisor",
                               csrf_token="")  # fmt: skip
        specialist = Principal(id=ids[0], username="bench0", display_name="专员0",
                               role="specialist", csrf_token="")  # fmt: skip
        named = queries(store, supervisor, specialist)
        log(f"{backend}: timing {len(named)} queries with the indexes")
        indexed = {name: median_ms(call) for name, call in named.items()}
        drop_indexes(store)
        if backend == "postgresql":
            with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("ANALYZE"))
        log(f"{backend}: timing them again without")
        plain = {name: median_ms(call) for name, call in named.items()}
        store.engine.dispose()
    return {name: (indexed[name], plain[name]) for name in named}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--postgres-admin-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-queue-") as folder:
        for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
            results[backend] = measure(backend, args.cases, Path(folder), args.postgres_admin_url)
    print(f"\nmedian ms of {ROUNDS} calls at {args.cases:,} cases: with the indexes / without (×)")
    names = list(next(iter(results.values())))
    header = f"{'query':<28}" + "".join(f"{backend:>30}" for backend in results)
    print(header)
    for name in names:
        cells = ""
        for backend in results:
            with_index, without = results[backend][name]
            cells += f"{with_index:>12.1f} / {without:>8.1f} (×{without / with_index:>4.1f})"
        print(f"{name:<28}{cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
