"""Portfolio simulation for the bank: what the policy would propose across many accounts.

Runs the vectorised engine in chunks (with a progress bar on stderr), re-checks a random sample
against `propose`, and writes a report directory: summary.json (the figures), summary.md (the
report in Chinese), report.html (the same with interactive charts, self-contained),
first_options.csv and PNG charts. Every chart and caption is drawn from summary.json, so the
three views cannot disagree.
"""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..clock import today
from . import report_html
from .case import parse_date
from .money import add_months
from .policy import Policy
from .portfolio import Portfolio, read_portfolio
from .propose import propose
from .report_md import markdown
from .report_png import write_charts
from .vector import ESCALATION_CODES, TYPES, VectorResult, run

CHUNK = 10_000
INFLOW_WINDOW = 12  # months over which the expected monthly inflow is averaged
AFFORDABILITY_BINS = 20  # at most this many bars between 0 and the 99th percentile
AFFORDABILITY_TAIL = 99  # percentile above which amounts share one open-ended last bar


def run_chunked(pf: Portfolio, policy: Policy, progress: bool = False) -> VectorResult:
    """The vectorised engine over the portfolio in chunks (bounded memory, visible progress)."""
    parts: list[VectorResult] = []
    with tqdm(
        total=len(pf), unit="case", disable=not progress, file=sys.stderr, desc="simulating"
    ) as bar:
        for start in range(0, len(pf), CHUNK):
            index = np.arange(start, min(start + CHUNK, len(pf)))
            parts.append(run(pf.subset(index), policy))
            bar.update(len(index))
    fields = {
        name: np.concatenate([getattr(p, name) for p in parts])
        for name in VectorResult.__dataclass_fields__
        if name != "inflow"
    }
    return VectorResult(**fields, inflow=np.sum([p.inflow for p in parts], axis=0))


def agreement(
    pf: Portfolio, result: VectorResult, policy: Policy, as_of: date, n: int
) -> dict[str, object]:
    """Re-run a seeded random sample through `propose` and count disagreements."""
    rng = np.random.default_rng(0)
    sample = np.sort(rng.choice(len(pf), size=min(n, len(pf)), replace=False))
    mismatches = []
    for i in sample:
        out = propose(pf.case(int(i)), policy, as_of=as_of)
        first = out["options"][0]
        expected = (
            first["id"],
            round(first["monthly_payment"] * 100),
            round(first["total_payment"] * 100),
            out["escalate"],
        )
        got = (
            result.option_id(int(i)),
            int(result.monthly[i]),
            int(result.total[i]),
            bool(result.escalate[i]),
        )
        if expected != got:
            mismatches.append(
                {
                    "account_id": pf.rows[int(i)]["account_id"],
                    "propose": expected,
                    "vectorised": got,
                }
            )
    return {"checked": int(len(sample)), "mismatches": len(mismatches), "examples": mismatches[:5]}


def summarise(
    pf: Portfolio, result: VectorResult, policy: Policy, as_of: date
) -> dict[str, object]:
    """Counts and money figures of the simulation (deterministic: no timings)."""
    types = [TYPES[t] for t in result.type]
    escalated = result.escalate
    inflow = result.inflow
    window = inflow[: INFLOW_WINDOW + 1].sum()  # month 0 (within days) through month 12
    affordable = Counter({1: "yes", 0: "no", -1: "unknown"}[int(a)] for a in result.affordable)
    return {
        "portfolio": pf.source,
        "policy": policy.source,
        "as_of": as_of.isoformat(),
        "cases": len(pf),
        "with_hardship": int((pf.reason >= 0).sum()),
        "escalated": int(escalated.sum()),
        "escalation_reasons": {
            code: int((result.escalation == k).sum())
            for k, code in enumerate(ESCALATION_CODES)
            if code
        },
        "first_option_by_product": {t: types.count(t) for t in TYPES},
        "first_option_by_product_not_escalated": {
            t: int(((result.type == k) & ~escalated).sum()) for k, t in enumerate(TYPES)
        },
        "first_option_requires_approval": int(result.requires_approval.sum()),
        "first_option_affordable": {k: affordable.get(k, 0) for k in ("yes", "no", "unknown")},
        "total_owed": round(float(result.financed.sum()) / 100, 2),
        "expected_monthly_inflow": round(float(window) / 100 / INFLOW_WINDOW, 2),
        "inflow_window_months": INFLOW_WINDOW,
        "expected_monthly_inflow_note": (
            f"payments due within {INFLOW_WINDOW} months of as_of, divided by {INFLOW_WINDOW}, "
            "if every non-escalated cardholder takes the first-ranked option and pays on schedule"
        ),
        "inflow_by_month": [
            {
                "month": m,
                "due": add_months(as_of, m).isoformat() if m else "within days",
                "amount": round(float(v) / 100, 2),
            }
            for m, v in enumerate(inflow)
        ],
        "affordability": affordability(result.affordable_monthly),
    }


def affordability(monthly: np.ndarray) -> dict[str, object]:
    """What cardholders with a hardship statement can pay a month: range, median and a
    histogram over the data's own range (the old chart claimed a 20,000 cap where the data
    ended near 12,500). 0 yuan (nothing left after essentials) is counted apart; the bins hold
    the positive amounts, each from (exclusive) to (inclusive), in even steps up to the 99th
    percentile and one last open bin ("open": true) from there to the maximum: in 20,000
    accounts even 1,000-yuan steps up to the maximum (24,255) put 48 % of the positive amounts
    in the first bar; up to the 99th percentile the steps are 500 yuan."""
    declared = monthly[monthly >= 0]
    if not declared.size:
        return {"accounts": 0, "zero": 0, "min": None, "median": None, "max": None, "bins": []}
    positive = declared[declared > 0]
    bins: list[dict[str, object]] = []
    if positive.size:
        cut = int(np.percentile(positive, AFFORDABILITY_TAIL, method="higher"))
        width = _nice_width(cut, AFFORDABILITY_BINS)
        edge = -(-cut // width) * width
        inside, above = positive[positive <= edge], positive[positive > edge]
        counts = np.bincount((inside + width - 1) // width - 1, minlength=edge // width)
        bins = [
            {"from": k * width / 100, "to": (k + 1) * width / 100, "accounts": int(n)}
            for k, n in enumerate(counts)
        ]
        if above.size:
            top = int(above.max()) / 100
            bins.append({"from": edge / 100, "to": top, "accounts": int(above.size), "open": True})
    return {
        "accounts": int(declared.size),
        "zero": int((declared == 0).sum()),
        "min": int(declared.min()) / 100,
        "median": round(float(np.median(declared))) / 100,
        "max": int(declared.max()) / 100,
        "bins": bins,
    }


def _nice_width(top: int, most: int) -> int:
    """The smallest bin width of 1, 2 or 5 × 10^k yuan (in cents) covering 0..top in at most
    `most` bins."""
    width = 100
    while True:
        for step in (1, 2, 5):
            if -(-top // (width * step)) <= most:
                return width * step
        width *= 10


def simulate(
    portfolio: str | Path,
    policy: Policy,
    out: str | Path,
    as_of: date | str | None = None,
    check: int = 200,
    progress: bool = True,
) -> dict[str, object]:
    """Simulate the policy over a portfolio CSV and write the report directory."""
    when = parse_date(as_of, "--as-of") if as_of is not None else today()
    pf = read_portfolio(portfolio)
    result = run_chunked(pf, policy, progress=progress)
    summary = summarise(pf, result, policy, when)
    summary["agreement_with_propose"] = agreement(pf, result, policy, when, check)
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    _first_options(out_dir / "first_options.csv", pf, result)
    charts = write_charts(out_dir, summary)
    (out_dir / "summary.md").write_text(markdown(summary, charts), encoding="utf-8")
    if not report_html.write_report(out_dir / "report.html", summary):
        print(
            f"warning: {report_html.ECHARTS_JS} is missing (run `make install`): "
            "report.html has the figures but no charts",
            file=sys.stderr,
        )
    return summary


def _first_options(path: Path, pf: Portfolio, result: VectorResult) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            [
                "account_id",
                "option_id",
                "type",
                "months",
                "monthly_payment",
                "total_payment",
                "affordable",
                "requires_approval",
                "escalation",
            ]
        )
        for i, row in enumerate(pf.rows):
            writer.writerow(
                [
                    row["account_id"],
                    result.option_id(i),
                    TYPES[result.type[i]],
                    int(result.months[i]),
                    f"{result.monthly[i] / 100:.2f}",
                    f"{result.total[i] / 100:.2f}",
                    {1: "true", 0: "false", -1: ""}[int(result.affordable[i])],
                    "true" if result.requires_approval[i] else "false",
                    ESCALATION_CODES[result.escalation[i]] or "",
                ]
            )
