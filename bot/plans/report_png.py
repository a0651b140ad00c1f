"""PNG charts of the simulation (for summary.md and slides), drawn from summary.json.

Labels are Chinese when fontconfig knows a Chinese font (`make browser` installs
fonts-wqy-microhei), English otherwise: matplotlib would draw Chinese as empty boxes.
The charts say the same as report.html: month 0 apart from the inflow bars, the
affordability range as the data has it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from . import report_text as t
from .vector import TYPES

# (Chinese, English) per label; English only where no Chinese font exists.
WORDS = {
    "products": ("各账户排名第一的方案", "First-ranked option per account"),
    "offered": (t.OFFERED, "offered automatically"),
    "escalated": (t.ESCALATED, "escalated to a specialist"),
    "accounts": ("账户数", "accounts"),
    "inflow": ("预计每月回款（第1个月起）", "Expected inflow by month, from month 1"),
    "inflow_axis": ("到期月份", "due month"),
    "inflow_unit": ("万元", "10,000 yuan"),
    "month0": ("第0个月（数日内）另计 {} 元", "month 0 (within days), not drawn: {} yuan"),
    "afford": ("申报困难账户的每月可承担金额", "Affordable monthly amount (hardship statements)"),
    "afford_axis": ("每月可承担（元）：{} 至 {}", "yuan per month: {} to {}"),
    "zero": (t.ZERO_LABEL, "0 (nothing left)"),
}
PRODUCT_WORDS_EN = {k: k.replace("_", "\n") for k in TYPES}


def cjk_font() -> str | None:
    """The file of a font with Chinese glyphs, as fontconfig lists it, or None."""
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    files = sorted(line.split(":")[0].strip() for line in listed.splitlines() if line.strip())
    return files[0] if files else None


def write_charts(out_dir: Path, s: dict) -> list[tuple[str, str]]:
    """Write products.png, inflow.png and (with hardship statements) affordability.png;
    returns (file, caption) pairs in Chinese for summary.md."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    font = cjk_font()
    rc: dict[str, object] = {}
    if font:
        font_manager.fontManager.addfont(font)
        name = font_manager.FontProperties(fname=font).get_name()
        rc = {"font.family": "sans-serif", "font.sans-serif": [name, "DejaVu Sans"]}

    def w(key: str, *args: object) -> str:
        return WORDS[key][0 if font else 1].format(*args)

    charts = []
    with plt.rc_context(rc):
        _products(plt, out_dir / "products.png", s, w, bool(font))
        charts.append(("products.png", WORDS["products"][0]))
        _inflow(plt, out_dir / "inflow.png", s, w)
        charts.append(("inflow.png", WORDS["inflow"][0]))
        if s["affordability"]["accounts"]:
            _affordability(plt, out_dir / "affordability.png", s, w)
            charts.append(("affordability.png", WORDS["afford"][0]))
    return charts


def _products(plt, path: Path, s: dict, w, chinese: bool) -> None:
    offered = s["first_option_by_product_not_escalated"]
    escalated = {k: s["first_option_by_product"][k] - offered[k] for k in TYPES}
    labels = [t.PRODUCT_NAMES[k] if chinese else PRODUCT_WORDS_EN[k] for k in TYPES]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(labels, [offered[k] for k in TYPES], label=w("offered"))
    ax.bar(
        labels,
        [escalated[k] for k in TYPES],
        bottom=[offered[k] for k in TYPES],
        label=w("escalated"),
    )
    ax.set_ylabel(w("accounts"))
    ax.set_title(w("products"))
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _inflow(plt, path: Path, s: dict, w) -> None:
    """Months 1.. as bars with every due month on the axis; month 0 in the title."""
    months = t.inflow_months(s)
    month0 = s["inflow_by_month"][0]["amount"] if s["inflow_by_month"] else 0.0
    fig, ax = plt.subplots(figsize=(max(8, 0.18 * len(months) + 2), 4.5))
    ax.bar(range(len(months)), [m["amount"] / 10_000 for m in months])
    ax.set_xticks(range(len(months)))
    ax.set_xticklabels([t.axis_month(m) for m in months], rotation=90, fontsize=7)
    ax.set_xlim(-0.6, max(len(months), 1) - 0.4)
    ax.set_xlabel(w("inflow_axis"))
    ax.set_ylabel(w("inflow_unit"))
    ax.set_title(f"{w('inflow')}\n{w('month0', t.yuan(month0))}", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _affordability(plt, path: Path, s: dict, w) -> None:
    """The zero bar and the bins over the data's own range (no cap)."""
    a = s["affordability"]
    labels = [w("zero")] + [t.bin_label(b) for b in a["bins"]]
    counts = [a["zero"]] + [b["accounts"] for b in a["bins"]]
    fig, ax = plt.subplots(figsize=(max(8, 0.35 * len(labels) + 2), 4.5))
    bars = ax.bar(range(len(labels)), counts, color="tab:blue")
    bars[0].set_color("tab:gray")
    ax.set_xticks(range(len(labels)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_xlabel(w("afford_axis", t.yuan(a["min"]), t.yuan(a["max"])))
    ax.set_ylabel(w("accounts"))
    ax.set_title(w("afford"))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
