"""Benchmark of the plan engine: proposals per second, per case and over a portfolio.

    .venv/bin/python bench/bench_plans.py [--n 100000] [--scalar-sample 2000]

The baseline is measured in the same run: the per-case `propose` path (full output with
schedules and explanations) over a sample of the portfolio. It is compared with the vectorised
simulation path over the whole portfolio (target: at least 20,000 cases/s). Not a unit test.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from bot.plans import load_policy, propose  # noqa: E402
from bot.plans.portfolio import generate_portfolio, read_portfolio  # noqa: E402
from bot.plans.simulate import run_chunked  # noqa: E402

TARGET = 20_000
AS_OF = "2026-11-22"
CASE = {
    "account": {
        "principal": 35000,
        "interest": 1260.5,
        "penalty": 875,
        "minimum_payment": 4400,
        "overdue_days": 45,
        "has_active_installment": False,
    },
    "hardship": {
        "reason": "unemployment",
        "monthly_income": 4500,
        "monthly_expenses": 3000,
        "other_debt_payments": 500,
        "dependents": 1,
        "expected_recovery_months": 6,
    },
    "as_of": AS_OF,
}


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def timed(fn, min_seconds: float = 1.0) -> tuple[int, float]:
    """Call fn repeatedly for at least min_seconds; returns (calls, seconds)."""
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return calls, elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000, help="portfolio size")
    parser.add_argument(
        "--scalar-sample", type=int, default=2_000, help="cases for the per-case baseline"
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} CPUs, {cpu_model()}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {platform.platform()}")
    if hasattr(os, "getloadavg"):
        print("load average at start: {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    policy = load_policy()

    calls, seconds = timed(lambda: propose(CASE, policy))
    print(f"one case (propose, full output):        {calls / seconds:10,.0f} proposals/s")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "portfolio.csv"
        start = time.perf_counter()
        generate_portfolio(args.n, args.seed, path)
        generated = time.perf_counter() - start
        start = time.perf_counter()
        pf = read_portfolio(path)
        loaded = time.perf_counter() - start
    print(
        f"portfolio: {args.n:,} cases (generated in {generated:.2f} s, CSV read in {loaded:.2f} s)"
    )

    sample = np.random.default_rng(0).choice(
        len(pf), size=min(args.scalar_sample, len(pf)), replace=False
    )
    cases = [pf.case(int(i)) for i in sample]
    start = time.perf_counter()
    for case in cases:
        propose(case, policy, as_of=AS_OF)
    scalar_rate = len(cases) / (time.perf_counter() - start)
    print(f"baseline: per-case propose, {len(cases):,} sampled: {scalar_rate:10,.0f} cases/s")

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        run_chunked(pf, policy)
        best = min(best, time.perf_counter() - start)
    vector_rate = len(pf) / best
    print(
        f"vectorised, {len(pf):,} cases (best of 3):  {vector_rate:10,.0f} cases/s ({best:.2f} s)"
    )
    print(f"with CSV read:                          {len(pf) / (best + loaded):10,.0f} cases/s")
    print(f"speed-up vectorised / per-case: {vector_rate / scalar_rate:.1f}x")
    verdict = "meets" if vector_rate >= TARGET else "BELOW"
    print(f"target {TARGET:,} cases/s: {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
