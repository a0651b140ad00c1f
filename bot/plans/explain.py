"""Short Chinese titles and explanations a worried cardholder can understand.

Every sentence about consequences rests on docs/regulation.md: the credit-report rule
(征信业管理条例 art. 16), art. 70 for individual plans, the 2022 notice for showing installment
cost as interest with its annualised rate, and PIPL art. 24 for human review. Calm, never a threat.
"""

from __future__ import annotations

from datetime import date

from .money import fmt_rate, fmt_yuan, ppm_to_percent
from .products import Candidate

CREDIT_RECORD = "征信上如已有逾期记录，按《征信业管理条例》自欠款还清之日起保存5年，到期删除"
HUMAN_REVIEW = "以上由系统自动测算，您可以随时要求人工专员复核或另行商定。"
NO_AGENCY = "可直接与银行协商，无需付费找代办机构。"


def own_terms(text: str) -> str:
    """An option's explanation without the sentences every option shares (said once beside
    the cards, not in each card's folded terms)."""
    for shared in (f"；{CREDIT_RECORD}。", f"{CREDIT_RECORD}。", NO_AGENCY, HUMAN_REVIEW):
        text = text.replace(shared, "。" if shared.startswith("；") else "")
    return text


def title(c: Candidate) -> str:
    """A short name for the option, e.g. "12期分期还款"."""
    if c.type == "full_payment":
        return "一次性还清"
    if c.type == "minimum_payment":
        return "每月还最低还款额"
    if c.type == "installment":
        return f"{c.months}期分期还款"
    if c.type == "personalized_installment":
        return f"个性化分期{c.months}期"
    if c.type == "deferral":
        return f"延期{c.grace_months}个月后分{c.months - c.grace_months}期"
    if c.months == 1:
        return "减免后一次还清"
    return f"减免后分{c.months}期还清"


def explanation(
    c: Candidate,
    apr: float,
    dates: list[date],
    affordable_monthly: int | None,
    requires_approval: bool,
    minimum_policy: tuple[int, int, int] = (0, 0, 0),
) -> str:
    """The option in a few plain sentences: how much, how long, extra cost, credit report,
    collection, approval, and that a human can review it."""
    first, last = dates[0].isoformat(), dates[-1].isoformat()
    parts = [_body(c, apr, first, last, minimum_policy)]
    if affordable_monthly is not None:
        if affordable_monthly == 0:
            parts.append("按您提供的收支，目前没有可用于还款的余额。")
        else:
            verdict = "在这个范围内" if c.monthly <= affordable_monthly else "超出了这个范围"
            parts.append(
                f"按您提供的收支，每月约可承担 {fmt_yuan(affordable_monthly)} 元，此方案{verdict}。"
            )
    if requires_approval:
        parts.append("需专员审核同意后生效。")
    else:
        parts.append("无需审批，确认后即可办理。")
    parts.append(HUMAN_REVIEW)
    return "".join(parts)


def _cost_as_interest(c: Candidate, apr: float) -> str:
    """2022 notice: installment cost is shown as interest with its annualised rate."""
    return (
        f"费用按规定以利息列示：共 {fmt_yuan(c.cost)} 元，年化利率约 {fmt_rate(apr)}%"
        "（按内部收益率法计算，违约金部分不计息）。"
    )


def _body(
    c: Candidate, apr: float, first: str, last: str, minimum_policy: tuple[int, int, int]
) -> str:
    n = len(c.payments)
    monthly, final = fmt_yuan(c.monthly), fmt_yuan(c.payments[-1][1])
    last_note = f"（最后一期 {final} 元）" if c.payments[-1][1] != c.monthly else ""
    if c.type == "full_payment":
        incentive = f"，可减免违约金 {fmt_yuan(c.waived)} 元" if c.waived else ""
        return (
            f"在 {first} 前一次还清 {fmt_yuan(c.total)} 元即可结清全部欠款{incentive}，"
            "没有额外费用。"
            f"还清后不再逾期，催收随之结束；{CREDIT_RECORD}。"
        )
    if c.type == "minimum_payment":
        share, floor, annual = minimum_policy
        return (
            f"先在 {first} 前还本期最低还款额 {fmt_yuan(c.payments[0][1])} 元，之后每月还剩余本金的"
            f"{ppm_to_percent(share)}%加当月利息（每月不少于 {fmt_yuan(floor)} 元），"
            f"约 {n} 个月、到 {last} 还清，共还 {fmt_yuan(c.total)} 元，"
            f"其中利息 {fmt_yuan(c.cost)} 元，年化利率约 {fmt_rate(apr)}%"
            f"（剩余欠款按年化约 {ppm_to_percent(annual)}% 计息，以您的信用卡合约为准）。"
            f"只还最低还款额时间长、利息多。每月按时还款不会新增逾期记录；{CREDIT_RECORD}。"
        )
    if c.type == "installment":
        return (
            f"分 {n} 期，每月还 {monthly} 元{last_note}，首期 {first}，最后一期 {last}。"
            f"{_cost_as_interest(c, apr)}按期还款不会新增逾期记录；{CREDIT_RECORD}。"
        )
    if c.type == "personalized_installment":
        if c.interest_frozen:
            cost = f"协议期间停止计息、不收其他费用，共还 {fmt_yuan(c.total)} 元。"
        else:
            cost = _cost_as_interest(c, apr)
        return (
            "依据《商业银行信用卡业务监督管理办法》第七十条的个性化分期："
            f"分 {n} 期，每月还 {monthly} 元{last_note}，首期 {first}，最后一期 {last}。{cost}"
            "协议达成后，只要按约还款，银行将停止催收；协议期间需承诺不再申请新的信用卡，"
            f"如未按约还款，催收可能恢复。{CREDIT_RECORD}。{NO_AGENCY}"
        )
    if c.type == "deferral":
        return (
            f"前 {c.grace_months} 个月无需还款，宽限期内不收费用；"
            f"之后分 {n} 期，每月还 {monthly} 元{last_note}，首期 {first}，最后一期 {last}。"
            f"{_cost_as_interest(c, apr)}"
            f"按约还款不会新增逾期记录；{CREDIT_RECORD}。"
        )
    parts = []
    if c.waived_penalty:
        parts.append(f"违约金 {fmt_yuan(c.waived_penalty)} 元")
    if c.waived_interest:
        parts.append(f"利息 {fmt_yuan(c.waived_interest)} 元")
    how = (
        f"在 {first} 前一次还 {fmt_yuan(c.total)} 元"
        if n == 1
        else f"分 {n} 期、每月还 {monthly} 元{last_note}，首期 {first}，按期还完"
    )
    return (
        f"减免{'、'.join(parts)}，共少还 {fmt_yuan(c.waived)} 元：{how}即可结清，没有其他费用。"
        f"还清后不再逾期，催收随之结束；{CREDIT_RECORD}。"
    )
