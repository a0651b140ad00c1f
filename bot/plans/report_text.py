"""The Chinese words of the simulation report, shared by summary.md, report.html and the PNGs.

Every caption is computed from summary.json (never typed in), so a caption cannot claim a range
the data does not have: the old affordability chart said "capped at 20,000" where the data ended
near 12,500.
"""

from __future__ import annotations

from .money import fmt_yuan
from .vector import TYPES

TITLE = "还款方案组合模拟报告"

PRODUCT_NAMES = {
    "full_payment": "一次性还清",
    "waiver": "减免后还清",
    "installment": "分期还款",
    "personalized_installment": "个性化分期",
    "deferral": "延期后分期",
    "minimum_payment": "每月还最低还款额",
}

ESCALATION_NAMES = {
    "income_below_expenses": "收入低于必要开支和其他还款",
    "below_floor": "可承担金额低于自动方案下限",
    "no_affordable_option": "所有方案月供都超出可承担金额",
}

AFFORDABLE_NAMES = {
    "yes": "月供在可承担范围内",
    "no": "月供超出可承担金额",
    "unknown": "未申报困难，无法判断",
}

OFFERED, ESCALATED = "自动给出", "转人工专员"
ZERO_LABEL = "0（无余力）"


def yuan(amount: float | None) -> str:
    """A summary.json amount (yuan, 2 decimals) written the project's one way (fmt_yuan)."""
    return "—" if amount is None else fmt_yuan(round(amount * 100))


def share(part: int, whole: int) -> str:
    """part of whole as a percentage with one decimal, e.g. '70.0%'."""
    return f"{part / whole:.1%}" if whole else "—"


def month_label(month: int) -> str:
    return f"第{month}个月"


def inflow_months(s: dict) -> list[dict]:
    """Inflow months 1 .. the last month with money due (trailing empty months dropped)."""
    rows = s["inflow_by_month"]
    last = max((m["month"] for m in rows if m["amount"] > 0), default=0)
    return [m for m in rows if 1 <= m["month"] <= last]


def axis_month(row: dict) -> str:
    """An inflow month on a chart axis: its due month, e.g. '2026-12'."""
    return row["due"][:7]


def inflow_note(s: dict) -> str:
    window = s["inflow_window_months"]
    return (
        f"假设每位未转人工的持卡人都接受排名第一的方案并按期还款；月均回款为第0个月"
        f"（数日内到期）至第{window}个月的应收款合计除以{window}。"
    )


def headline(s: dict) -> list[tuple[str, str]]:
    """The report's key figures as (label, value) rows, in reading order."""
    cases, esc, agree = s["cases"], s["escalated"], s["agreement_with_propose"]
    reasons = "；".join(
        f"{ESCALATION_NAMES[code]} {n:,} 户" for code, n in s["escalation_reasons"].items() if n
    )
    afford = s["first_option_affordable"]
    month0 = s["inflow_by_month"][0]["amount"] if s["inflow_by_month"] else 0.0
    return [
        ("测算基准日", s["as_of"]),
        ("账户数", f"{cases:,} 户"),
        ("其中申报困难", f"{s['with_hardship']:,} 户（{share(s['with_hardship'], cases)}）"),
        ("欠款总额", f"{yuan(s['total_owed'])} 元"),
        ("自动给出方案", f"{cases - esc:,} 户（{share(cases - esc, cases)}）"),
        ("转人工专员", f"{esc:,} 户（{share(esc, cases)}）" + (f"：{reasons}" if reasons else "")),
        (
            "首选方案需专员审批",
            f"{s['first_option_requires_approval']:,} 户"
            f"（{share(s['first_option_requires_approval'], cases)}）",
        ),
        (
            "首选方案月供与可承担金额",
            "；".join(f"{AFFORDABLE_NAMES[k]} {afford[k]:,} 户" for k in ("yes", "no", "unknown")),
        ),
        (
            f"预计月均回款（未来{s['inflow_window_months']}个月）",
            f"{yuan(s['expected_monthly_inflow'])} 元",
        ),
        ("其中数日内到期（第0个月）", f"{yuan(month0)} 元"),
        (
            "抽样复核",
            f"向量化引擎与逐户测算（propose）抽查 {agree['checked']:,} 户，"
            f"不一致 {agree['mismatches']:,} 户",
        ),
    ]


def products_caption(s: dict) -> str:
    by, offered = s["first_option_by_product"], s["first_option_by_product_not_escalated"]
    top = max(TYPES, key=lambda t: by[t])
    return (
        f"{s['cases']:,} 个账户各自排名第一的方案；最多的是“{PRODUCT_NAMES[top]}”"
        f"（{by[top]:,} 户，其中自动给出 {offered[top]:,} 户）。"
        f"转人工专员的账户按系统原本会排第一的方案计入。"
    )


def inflow_caption(s: dict) -> str:
    rows = s["inflow_by_month"]
    months = inflow_months(s)
    month0 = rows[0]["amount"] if rows else 0.0
    text = f"第0个月（数日内到期：一次性还清的款项和最低还款额方案的首期）应收 {yuan(month0)} 元"
    if not months:
        return text + "，以后各月没有应收款。" + inflow_note(s)
    peak = max(months, key=lambda m: m["amount"])
    if peak["amount"] > 0 and month0 >= 2 * peak["amount"]:
        text += f"，是以后单月最高值的 {month0 / peak['amount']:.0f} 倍"
    return (
        text + "，单独列出；图从第1个月开始，以免压扁其余月份。"
        f"第1个月（{months[0]['due']} 到期）至第{months[-1]['month']}个月"
        f"（{months[-1]['due']} 到期）每月应收 {yuan(min(m['amount'] for m in months))} 元"
        f"至 {yuan(peak['amount'])} 元，最高在第{peak['month']}个月。" + inflow_note(s)
    )


def affordability_caption(s: dict) -> str:
    a = s["affordability"]
    if not a["accounts"]:
        return "没有申报困难的账户，无法统计每月可承担金额。"
    text = (
        f"{a['accounts']:,} 个申报困难的账户每月可承担 {yuan(a['min'])} 元至 {yuan(a['max'])} 元，"
        f"中位数 {yuan(a['median'])} 元；其中 {a['zero']:,} 户为 0 元（收入不足以覆盖必要开支），"
        "单列一柱。"
    )
    if a["bins"]:
        width = a["bins"][0]["to"] - a["bins"][0]["from"]
        text += f"其余每 {width:,.0f} 元一档（含上限、不含下限）"
        tail = a["bins"][-1]
        if tail.get("open"):
            text += (
                f"，最后一档为 {tail['from']:,.0f} 元以上的 {tail['accounts']:,} 户"
                f"（最高 {yuan(tail['to'])} 元）"
            )
        text += "。"
    return text


def bin_label(b: dict) -> str:
    """A histogram bin on an axis, e.g. '500–1,000' or '9,000以上': the edges are whole yuan by
    construction (widths of 1, 2 or 5 × 10^k yuan), so no cents are shown."""
    if b.get("open"):
        return f"{b['from']:,.0f}以上"
    return f"{b['from']:,.0f}–{b['to']:,.0f}"


def bin_text(b: dict) -> str:
    """A histogram bin in a sentence, e.g. '500–1,000 元' or '9,000 元以上（最高 24,255.00 元）'."""
    if b.get("open"):
        return f"{b['from']:,.0f} 元以上（最高 {yuan(b['to'])} 元）"
    return f"{bin_label(b)} 元"
