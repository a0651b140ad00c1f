"""Portfolio simulation for the bank: what the policy would propose across many accounts.

Runs the vectorised engine in chunks (with a progress bar on stderr), re-checks a random sample
against `propose`, and writes a report directory: summary.json, summary.md, first_options.csv
and PNG charts (English labels: a Chinese font may be missing on servers).
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
from .case import parse_date
from .money import add_months
from .policy import Policy
from .portfolio import Portfolio, read_portfolio
from .propose import propose
from .vector import ESCALATION_CODES, TYPES, VectorResult, run

CHUNK = 10_000
INFLOW_WINDOW = 12  # months over which the expected monthly inflow is averaged


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
    }


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
    charts = _charts(out_dir, summary, result)
    (out_dir / "summary.md").write_text(_markdown(summary, charts), encoding="utf-8")
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


def _charts(
    out_dir: Path, summary: dict[str, object], result: VectorResult
) -> list[tuple[str, str]]:
    """PNG charts; returns (file, caption) pairs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    charts = []
    fig, ax = plt.subplots(figsize=(8, 4))
    offered = summary["first_option_by_product_not_escalated"]
    escalated = {t: summary["first_option_by_product"][t] - offered[t] for t in TYPES}
    labels = [t.replace("_", "\n") for t in TYPES]
    ax.bar(labels, [offered[t] for t in TYPES], label="offered automatically")
    ax.bar(
        labels,
        [escalated[t] for t in TYPES],
        bottom=[offered[t] for t in TYPES],
        label="escalated to a specialist",
    )
    ax.set_ylabel("accounts")
    ax.set_title("First-ranked option per account")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "products.png", dpi=100)
    plt.close(fig)
    charts.append(("products.png", "First-ranked option per account"))

    fig, ax = plt.subplots(figsize=(8, 4))
    inflow = [m["amount"] / 10_000 for m in summary["inflow_by_month"]]
    ax.bar(range(len(inflow)), inflow)
    ax.set_xlabel("months after as_of (0 = due within days)")
    ax.set_ylabel("10,000 yuan")
    ax.set_title("Expected inflow by month (non-escalated accounts, first-ranked option)")
    fig.tight_layout()
    fig.savefig(out_dir / "inflow.png", dpi=100)
    plt.close(fig)
    charts.append(("inflow.png", "Expected inflow by month"))

    declared = result.affordable_monthly >= 0
    if declared.any():
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.hist(np.minimum(result.affordable_monthly[declared] / 100, 20_000), bins=40)
        ax.set_xlabel("affordable monthly amount, yuan (capped at 20,000)")
        ax.set_ylabel("accounts")
        ax.set_title("Affordability of cardholders with a hardship statement")
        fig.tight_layout()
        fig.savefig(out_dir / "affordability.png", dpi=100)
        plt.close(fig)
        charts.append(("affordability.png", "Affordability (hardship statements)"))
    return charts


def _markdown(s: dict[str, object], charts: list[tuple[str, str]]) -> str:
    agree = s["agreement_with_propose"]
    lines = [
        "# Plan engine portfolio simulation",
        "",
        f"- Portfolio: `{s['portfolio']}`; policy: `{s['policy']}`; as of {s['as_of']}",
        f"- Accounts: {s['cases']:,} ({s['with_hardship']:,} with a hardship statement); "
        f"total owed {s['total_owed']:,.2f} yuan",
        f"- Escalated to a specialist: {s['escalated']:,}"
        + "".join(f"; {k}: {v:,}" for k, v in s["escalation_reasons"].items()),
        f"- First option needs a specialist's approval: {s['first_option_requires_approval']:,}",
        f"- First option affordable: {s['first_option_affordable']}",
        f"- **Expected monthly inflow: {s['expected_monthly_inflow']:,.2f} yuan** "
        f"({s['expected_monthly_inflow_note']})",
        f"- Vectorised engine re-checked against `propose` on {agree['checked']} sampled accounts: "
        f"{agree['mismatches']} mismatches",
        "",
        "## First-ranked option per product",
        "",
        "| product | accounts | of which not escalated |",
        "|---|---:|---:|",
    ]
    for t in TYPES:
        lines.append(
            f"| {t} | {s['first_option_by_product'][t]:,} "
            f"| {s['first_option_by_product_not_escalated'][t]:,} |"
        )
    lines += [
        "",
        "## Expected inflow, first 13 months",
        "",
        "| month | due | yuan |",
        "|---:|---|---:|",
    ]
    for m in s["inflow_by_month"][:13]:
        lines.append(f"| {m['month']} | {m['due']} | {m['amount']:,.2f} |")
    lines += ["", "## Charts", ""]
    lines += [f"![{caption}]({name})" for name, caption in charts]
    return "\n".join(lines) + "\n"
