"""Personal consequences of an account's arrears, stated only as docs/regulation.md allows.

Credit-report codes follow 30-day buckets (1 = 1–30 days … 7 = over 180 days, [quoted]); the
恶意透支 thresholds count unpaid principal only and apply only with intent ([law]).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

MALICIOUS_OVERDRAFT_THRESHOLD = Decimal("50000")


@dataclass(frozen=True)
class Stage:
    report_code: str
    report_range: str
    next_stage: str


def report_code(overdue_days: int) -> tuple[str, str]:
    """Code and day range of the credit report's repayment status for this many days late."""
    if overdue_days <= 0:
        return "N", "正常"
    if overdue_days > 180:
        return "7", "逾期180天以上"
    code = (overdue_days - 1) // 30 + 1
    low, high = (code - 1) * 30 + 1, code * 30
    return str(code), f"逾期{low}–{high}天"


def stage(overdue_days: int) -> Stage:
    code, text = report_code(overdue_days)
    if overdue_days <= 3:
        upcoming = (
            "很多银行给还款日后至少3天的宽限期（容时），在宽限期内还上通常视为按时还款"
            "（各银行规定不同）。"
        )
    elif overdue_days <= 180:
        days_to_next = 30 - (overdue_days - 1) % 30
        upcoming = (
            f"如果仍未还款，大约 {days_to_next} 天后逾期状态会进入下一档；"
            "利息和违约金会按合约继续产生。现在协商，可以避免情况继续加重。"
        )
    else:
        upcoming = (
            "逾期已超过180天，银行可能会通过诉讼等方式追讨；这时更需要主动沟通，"
            "银行可以根据您的实际困难协商个性化分期（最长5年）。"
        )
    return Stage(report_code=code, report_range=text, next_stage=upcoming)


def overdraft_threshold_reached(principal: Decimal) -> bool:
    """Only unpaid principal counts toward the 50,000 yuan starting point."""
    return principal >= MALICIOUS_OVERDRAFT_THRESHOLD
