"""summary.md: the simulation report in Chinese, as labelled tables (no raw dicts)."""

from __future__ import annotations

from . import report_text as t
from .vector import TYPES


def markdown(s: dict, charts: list[tuple[str, str]]) -> str:
    """The report for a collections manager; `charts` are the (PNG file, caption) pairs."""
    lines = [
        f"# {t.TITLE}",
        "",
        f"账户文件 `{s['portfolio']}`，政策文件 `{s['policy']}`，测算基准日 {s['as_of']}。",
        "带交互图表的同一份报告：同目录的 [report.html](report.html)，"
        "用浏览器直接打开即可，无需联网。",
        "",
        "## 主要数字",
        "",
        "| 项目 | 数值 |",
        "|---|---|",
        *(f"| {label} | {value} |" for label, value in t.headline(s)),
        "",
        "## 各账户排名第一的方案",
        "",
        t.products_caption(s),
        "",
        f"| 方案 | 账户数 | 其中{t.OFFERED} | 其中{t.ESCALATED} |",
        "|---|---:|---:|---:|",
    ]
    by, offered = s["first_option_by_product"], s["first_option_by_product_not_escalated"]
    lines += [
        f"| {t.PRODUCT_NAMES[k]} | {by[k]:,} | {offered[k]:,} | {by[k] - offered[k]:,} |"
        for k in TYPES
    ]
    lines += ["", "## 预计每月回款", "", t.inflow_caption(s), ""]
    lines += _inflow_table(s)
    lines += ["", "## 申报困难账户的每月可承担金额", "", t.affordability_caption(s), ""]
    a = s["affordability"]
    if a["accounts"]:
        lines += [
            "| 每月可承担（元） | 账户数 |",
            "|---|---:|",
            f"| {t.ZERO_LABEL} | {a['zero']:,} |",
        ]
        lines += [f"| {t.bin_label(b)} | {b['accounts']:,} |" for b in a["bins"]]
    if charts:
        lines += ["", "## 图表", ""]
        lines += [f"![{caption}]({name})" for name, caption in charts]
    return "\n".join(lines) + "\n"


def _inflow_table(s: dict) -> list[str]:
    """Month 0 through the averaging window one row each, later months as one total."""
    window = s["inflow_window_months"]
    rows = s["inflow_by_month"]
    lines = ["| 月份 | 到期日 | 应收（元） |", "|---|---|---:|"]
    for m in rows[: window + 1]:
        due = "数日内" if m["month"] == 0 else m["due"]
        lines.append(f"| {t.month_label(m['month'])} | {due} | {t.yuan(m['amount'])} |")
    later = [m for m in rows[window + 1 :] if m["amount"] > 0]
    if later:
        total = round(sum(m["amount"] for m in later), 2)
        lines.append(
            f"| 第{later[0]['month']}至第{later[-1]['month']}个月合计 "
            f"| {later[0]['due']} 至 {later[-1]['due']} | {t.yuan(total)} |"
        )
    return lines
