"""report.html: the simulation report in Chinese with interactive charts, in one file.

Apache ECharts (npm, pinned in bot/plans/report/package-lock.json, installed by `make install`)
and the chart code (bot/plans/report/charts.js) are inlined, so the page opens from disk with
no server and no network. The figures come from summary.json, formatted here (fmt_yuan), so
the page and summary.md say the same. Without node_modules the page still has every figure
in tables and says plainly that the charts are missing.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

from . import report_text as t
from .vector import TYPES

REPORT_DIR = Path(__file__).resolve().parent / "report"
ECHARTS_DIR = REPORT_DIR / "node_modules" / "echarts"
# The "common" build (bar, line, tooltip, legend, SVG renderer): 0.7 MB instead of 1.1 MB.
ECHARTS_JS = ECHARTS_DIR / "dist" / "echarts.common.min.js"
CHARTS_JS = REPORT_DIR / "charts.js"
FONTS = '"PingFang SC", "Microsoft YaHei", "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif'

STYLE = f"""
body {{ font-family: {FONTS}; margin: 24px auto; max-width: 1180px; color: #222;
       padding: 0 16px; line-height: 1.6; }}
h1 {{ font-size: 24px; margin-bottom: 4px; }}
h2 {{ font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }}
.meta {{ color: #555; }}
table {{ border-collapse: collapse; margin: 8px 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; vertical-align: top; }}
td.num {{ text-align: right; font-variant-numeric: tabular-nums; }}
th {{ background: #f4f6f8; }}
.chart {{ width: 100%; height: 420px; }}
.caption {{ color: #333; background: #f8f9fb; border-left: 4px solid #5470c6; padding: 6px 10px; }}
.notice {{ background: #fff4e5; border: 1px solid #f0a030; padding: 8px 12px; }}
.month0 {{ font-size: 17px; }}
details {{ margin: 6px 0 0; color: #444; }}
footer {{ margin-top: 40px; color: #777; font-size: 13px; }}
"""


def echarts_version() -> str | None:
    """The installed ECharts version, or None when `npm ci` has not run."""
    try:
        return json.loads((ECHARTS_DIR / "package.json").read_text(encoding="utf-8"))["version"]
    except (OSError, ValueError, KeyError):
        return None


def write_report(path: Path, s: dict) -> bool:
    """Write report.html; False when the charting library is missing (figures only)."""
    version = echarts_version() if ECHARTS_JS.is_file() else None
    path.write_text(render(s, version), encoding="utf-8")
    return version is not None


def chart_data(s: dict) -> dict:
    """What charts.js draws, with every label and amount text already in Chinese."""
    offered = s["first_option_by_product_not_escalated"]
    months = t.inflow_months(s)
    a = s["affordability"]
    bins, drawn = a["bins"], a["accounts"] > 0  # the 0-yuan bar even when no bin follows
    return {
        "font": FONTS,
        "products": {
            "names": [t.PRODUCT_NAMES[k] for k in TYPES],
            "series": [t.OFFERED, t.ESCALATED],
            "offered": [offered[k] for k in TYPES],
            "escalated": [s["first_option_by_product"][k] - offered[k] for k in TYPES],
        },
        "inflow": {
            "labels": [t.axis_month(m) for m in months],
            "values": [m["amount"] for m in months],
            "tooltips": [
                f"{t.month_label(m['month'])}（{m['due']} 到期）<br>应收 {t.yuan(m['amount'])} 元"
                for m in months
            ],
        },
        "affordability": {
            "labels": [t.ZERO_LABEL] + [t.bin_label(b) for b in bins] if drawn else [],
            "values": [a["zero"]] + [b["accounts"] for b in bins] if drawn else [],
            "tooltips": [f"每月可承担 0 元：{a['zero']:,} 户"]
            + [f"每月可承担 {t.bin_text(b)}：{b['accounts']:,} 户" for b in bins]
            if drawn
            else [],
        },
    }


def render(s: dict, echarts: str | None) -> str:
    """The page; `echarts` is the installed version (None: no charts, tables only)."""
    e = html.escape
    month0 = s["inflow_by_month"][0]["amount"] if s["inflow_by_month"] else 0.0
    parts = [
        "<!DOCTYPE html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{t.TITLE}（{e(s['as_of'])}）</title><style>{STYLE}</style></head><body>",
        f"<h1>{t.TITLE}</h1>",
        f'<p class="meta">账户文件 <code>{e(str(s["portfolio"]))}</code>，'
        f"政策文件 <code>{e(str(s['policy']))}</code>，测算基准日 {e(s['as_of'])}。</p>",
    ]
    if echarts is None:
        parts.append(
            '<p class="notice" id="no-charts">图表库（Apache ECharts）未安装，本页只有数字表格、'
            f"没有图表。请在项目目录运行 <code>make install</code>（即 <code>npm ci --prefix "
            f"{e(str(REPORT_DIR))}</code>）后重新运行模拟。</p>"
        )
    parts += ["<h2>主要数字</h2>", _table(["项目", "数值"], t.headline(s), id_="headline")]

    by, offered = s["first_option_by_product"], s["first_option_by_product_not_escalated"]
    parts += _section(
        "各账户排名第一的方案",
        "chart-products",
        t.products_caption(s),
        _table(
            ["方案", "账户数", f"其中{t.OFFERED}", f"其中{t.ESCALATED}"],
            [
                (t.PRODUCT_NAMES[k], f"{by[k]:,}", f"{offered[k]:,}", f"{by[k] - offered[k]:,}")
                for k in TYPES
            ],
        ),
    )
    parts += _section(
        "预计每月回款",
        "chart-inflow",
        t.inflow_caption(s),
        _table(
            ["月份", "到期日", "应收（元）"],
            [
                (
                    t.month_label(m["month"]),
                    "数日内" if m["month"] == 0 else m["due"],
                    t.yuan(m["amount"]),
                )
                for m in s["inflow_by_month"][:1] + t.inflow_months(s)
            ],
        ),
        before=f'<p class="month0" id="month0">第0个月（数日内到期）：<b>{t.yuan(month0)} 元</b>'
        "（不在图中，见下方说明）</p>",
    )
    a = s["affordability"]
    parts += _section(
        "申报困难账户的每月可承担金额",
        "chart-affordability" if a["accounts"] else None,
        t.affordability_caption(s),
        _table(
            ["每月可承担（元）", "账户数"],
            [(t.ZERO_LABEL, f"{a['zero']:,}")]
            + [(t.bin_label(b), f"{b['accounts']:,}") for b in a["bins"]],
        )
        if a["accounts"]
        else "",
    )
    data = json.dumps(chart_data(s), ensure_ascii=False).replace("<", "\\u003c")
    parts.append(f'<script type="application/json" id="report-data">{data}</script>')
    if echarts is not None:
        parts.append(f"<script>{_inline(ECHARTS_JS)}</script>")
        parts.append(f"<script>{_inline(CHARTS_JS)}</script>")
    credit = f"图表：Apache ECharts {e(echarts)}（Apache-2.0），已内嵌于本页。" if echarts else ""
    parts.append(
        f"<footer>{credit}由 <code>python -m bot.plans simulate</code> 生成；"
        "同目录的 summary.json 为全部数字，summary.md 为同一报告的文字版。</footer>"
    )
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _inline(path: Path) -> str:
    """A script's text, safe inside <script> (no closing tag can end it early)."""
    return path.read_text(encoding="utf-8").replace("</script", "<\\/script")


def _section(
    title: str, chart_id: str | None, caption: str, table: str, before: str = ""
) -> list[str]:
    parts = [f"<section><h2>{title}</h2>", before]
    if chart_id:
        parts.append(f'<div class="chart" id="{chart_id}" role="img" aria-label="{title}"></div>')
    parts.append(f'<p class="caption">{html.escape(caption)}</p>')
    if table:
        parts.append(f"<details><summary>数据表</summary>{table}</details>")
    parts.append("</section>")
    return parts


def _table(head: list[str], rows: list[tuple[str, ...]], id_: str | None = None) -> str:
    e = html.escape
    attr = f' id="{id_}"' if id_ else ""
    cells = "".join(f"<th>{e(h)}</th>" for h in head)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=num' if i and _numeric(c) else ''}>{e(c)}</td>" for i, c in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table{attr}><thead><tr>{cells}</tr></thead><tbody>{body}</tbody></table>"


def _numeric(text: str) -> bool:
    """A count or amount (right-aligned), not a date or words."""
    return re.fullmatch(r"-?[\d,]+(?:\.\d+)?", text) is not None
