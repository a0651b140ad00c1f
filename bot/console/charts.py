"""Dashboard pictures as PNG, drawn with matplotlib's Agg backend (no display needed).

Labels are Chinese when a CJK font is installed and English otherwise, so a machine without
Chinese fonts draws readable charts instead of empty boxes. Figures are created without pyplot;
the font is chosen with ``rc_context`` (global state), so one lock serialises rendering.
"""

from __future__ import annotations

import io
import subprocess
import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager  # noqa: E402 - the backend must be chosen first
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

CJK_FONTS = (
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Source Han Sans SC",
    "AR PL UMing CN",
)
ENGLISH = {
    "reasons": "Cases by reason",
    "outcomes": "Closed cases by outcome",
    "waiting": "Minutes from escalation to claim (30 days)",
    "plans": "Plans agreed per day",
    "amounts": "Amounts per day (CNY)",
    "plan_amount": "plans (total)",
    "promised_amount": "promises to pay",
    "cases": "cases",
    "none": "no data yet",
}
CHINESE = {
    "reasons": "按原因统计的案件",
    "outcomes": "按结果统计的已结案件",
    "waiting": "从转人工到领取的等待（分钟，近30天）",
    "plans": "每日达成的还款方案",
    "amounts": "每日金额（元）",
    "plan_amount": "还款方案总额",
    "promised_amount": "承诺还款金额",
    "cases": "案件数",
    "none": "暂无数据",
}
COLOR = "#1d5fa8"
_render_lock = threading.Lock()


@lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """The first CJK font matplotlib knows; if it knows none, the ones fontconfig reports are
    added first: matplotlib's font cache (~/.cache/matplotlib) is built once, and one built
    before the font was installed (`make test` installs it for the browser tests) would keep
    every chart in English with raw codes."""
    found = _known_cjk_font()
    if found is None and _add_system_cjk_fonts():
        found = _known_cjk_font()
    return found


def _known_cjk_font() -> str | None:
    for name in CJK_FONTS:
        try:
            font_manager.findfont(
                font_manager.FontProperties(family=name), fallback_to_default=False
            )
        except ValueError:
            continue
        return name
    return None


def _add_system_cjk_fonts() -> bool:
    """Tell matplotlib about the Chinese fonts fontconfig knows; True if there were any."""
    try:
        listed = subprocess.run(
            ["fc-list", ":lang=zh", "--format", "%{file}\n"],
            capture_output=True, text=True, timeout=10, check=False,
        ).stdout  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return False
    files = sorted({line.strip() for line in listed.splitlines() if line.strip()})
    for path in files:
        try:
            font_manager.fontManager.addfont(path)
        except (OSError, RuntimeError, ValueError):
            continue
    return bool(files)


def _words() -> dict[str, str]:
    return CHINESE if cjk_font() else ENGLISH


def _figure() -> tuple[Figure, Any]:
    figure = Figure(figsize=(6.4, 3.4), dpi=100)
    axes = figure.add_subplot(1, 1, 1)
    axes.spines["top"].set_visible(False)
    axes.spines["right"].set_visible(False)
    return figure, axes


def _label(entry: dict[str, Any], key: str) -> str:
    """Chinese label with a CJK font; otherwise the English code (e.g. ``request_human``)."""
    return str(entry["label"] if cjk_font() else entry[key] or "-")


def _empty(axes: Any) -> None:
    axes.text(0.5, 0.5, _words()["none"], ha="center", va="center", transform=axes.transAxes,
              color="#666")  # fmt: skip
    axes.set_xticks([])
    axes.set_yticks([])


def _bars(axes: Any, entries: list[dict[str, Any]], key: str) -> None:
    if not entries:
        _empty(axes)
        return
    labels = [_label(entry, key) for entry in entries][::-1]
    counts = [entry["count"] for entry in entries][::-1]
    axes.barh(labels, counts, color=COLOR)
    axes.set_xlabel(_words()["cases"])
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))


def draw_reasons(stats: dict[str, Any], axes: Any) -> None:
    _bars(axes, stats["by_reason"], "reason")


def draw_outcomes(stats: dict[str, Any], axes: Any) -> None:
    _bars(axes, stats["by_outcome"], "outcome")


def draw_waiting(stats: dict[str, Any], axes: Any) -> None:
    minutes = stats["waiting"]["claimed_minutes"]
    if not minutes:
        _empty(axes)
        return
    axes.hist(minutes, bins=min(20, max(5, len(minutes))), color=COLOR)
    axes.set_ylabel(_words()["cases"])
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))


def _day_labels(stats: dict[str, Any]) -> list[str]:
    return [entry["day"][5:] for entry in stats["daily"]]


def draw_plans(stats: dict[str, Any], axes: Any) -> None:
    days = _day_labels(stats)
    counts = [entry["plans"] for entry in stats["daily"]]
    axes.bar(days, counts, color=COLOR)
    axes.set_ylim(0, max(1, max(counts, default=0)) * 1.1)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xticks(days[::5])


def draw_amounts(stats: dict[str, Any], axes: Any) -> None:
    days = _day_labels(stats)
    for key, color in (("plan_amount", COLOR), ("promised_amount", "#c7511f")):
        axes.plot(days, [entry[key] for entry in stats["daily"]], marker="o", markersize=3,
                  color=color, label=_words()[key])  # fmt: skip
    axes.set_xticks(days[::5])
    top = max(
        (entry[key] for entry in stats["daily"] for key in ("plan_amount", "promised_amount")),
        default=0,
    )
    axes.set_ylim(0, max(100.0, top) * 1.1)
    axes.legend()


CHARTS: dict[str, Callable[[dict[str, Any], Any], None]] = {
    "reasons": draw_reasons,
    "outcomes": draw_outcomes,
    "waiting": draw_waiting,
    "plans": draw_plans,
    "amounts": draw_amounts,
}


def render_png(name: str, stats: dict[str, Any]) -> bytes:
    """One chart as PNG bytes; ``name`` must be a key of ``CHARTS``."""
    families = [cjk_font(), "DejaVu Sans"] if cjk_font() else ["DejaVu Sans"]
    with _render_lock, matplotlib.rc_context({"font.family": families}):
        figure, axes = _figure()
        CHARTS[name](stats, axes)
        axes.set_title(_words()[name])
        figure.tight_layout()
        buffer = io.BytesIO()
        FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
