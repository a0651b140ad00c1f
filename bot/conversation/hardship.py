"""Reading and checking the hardship statement's answers, including later corrections.

Answers arrive as free text ("五千左右", "没有", "說不準"); each parser returns a clean value or
None, and None makes the form re-ask with a clear example instead of storing nonsense.
"""

from __future__ import annotations

import re
from typing import Any

from bot.contract import HARDSHIP_REASONS
from bot.nlu.entities import classify_hardship_reason
from bot.nlu.numbers import parse_amount, parse_count, parse_months
from bot.nlu.script import to_simplified

MAX_MONTHLY_AMOUNT = 10_000_000
MAX_DEPENDENTS = 20
MAX_RECOVERY_MONTHS = 120
UNKNOWN_RECOVERY_MONTHS = 12

NEGATIVE = re.compile(r"[-−负]\s*[0-9零一二两三四五六七八九十]")
NONE_WORDS = ("没有", "沒有", "无", "無", "没", "不用", "零", "0")
UNSURE_WORDS = ("不确定", "不知道", "说不准", "说不好", "不清楚", "难说", "看情况")
CORRECTION_MARKERS = (
    "说错",
    "错了",
    "更正",
    "改成",
    "改为",
    "改一下",
    "不对",
    "应该是",
    "填错",
    "纠正",
)

FIELD_KEYWORDS: dict[str, tuple[str, ...]] = {
    "monthly_income": ("收入", "工资", "月薪", "赚", "挣", "薪水"),
    "other_debt_payments": ("其他贷款", "其他欠款", "其他还款", "别的贷款", "网贷", "房贷", "车贷"),
    "monthly_expenses": ("开支", "支出", "生活费", "房租", "花销", "开销", "花费"),
    "dependents": ("孩子", "小孩", "抚养", "赡养", "老人", "要养"),
    "recovery_months": ("恢复", "找到工作", "缓过来"),
}


def _is_none_answer(text: str) -> bool:
    stripped = re.sub(r"[\s，。,.!！~～]", "", text)
    return stripped in NONE_WORDS or stripped.startswith(("没有", "无"))


def read_reason(value: Any, text: str) -> str | None:
    """A canonical reason from a button/entity value, else from the words used."""
    if isinstance(value, str) and value in HARDSHIP_REASONS:
        return value
    return classify_hardship_reason(to_simplified(text or ""))


def read_money(value: Any) -> float | None:
    """A monthly amount in yuan; "没有" is 0; negative or absurd amounts are refused."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        amount: float | None = float(value)
    else:
        text = to_simplified(str(value or ""))
        if _is_none_answer(text):
            return 0.0
        if NEGATIVE.search(text):
            return None
        amount = parse_amount(text)
    if amount is None or amount < 0 or amount > MAX_MONTHLY_AMOUNT:
        return None
    return round(amount, 2)


def read_dependents(value: Any) -> int | None:
    text = to_simplified(str(value if value is not None else ""))
    if _is_none_answer(text):
        return 0
    count = parse_count(text)
    if count is None or count < 0 or count > MAX_DEPENDENTS:
        return None
    return count


def read_recovery_months(value: Any) -> int | None:
    text = to_simplified(str(value if value is not None else ""))
    if any(word in text for word in UNSURE_WORDS):
        return UNKNOWN_RECOVERY_MONTHS
    if re.sub(r"\s", "", text) in ("已经恢复", "现在就好", "0"):
        return 0
    months = parse_months(text)
    if months is None:
        count = parse_count(text)
        months = count if count is not None and "月" in text else None
    if months is None or months < 0 or months > MAX_RECOVERY_MONTHS:
        return None
    return months


READERS = {
    "monthly_income": read_money,
    "monthly_expenses": read_money,
    "other_debt_payments": read_money,
    "dependents": read_dependents,
    "recovery_months": read_recovery_months,
}


def read_correction(text: str) -> tuple[str, Any] | None:
    """("monthly_income", 6000.0) for "刚才收入说错了，应该是六千"; None if it is no correction."""
    simplified = to_simplified(text or "")
    if not any(marker in simplified for marker in CORRECTION_MARKERS):
        return None
    for field, keywords in FIELD_KEYWORDS.items():
        if any(keyword in simplified for keyword in keywords):
            value = READERS[field](_value_text(simplified, keywords))
            if value is not None:
                return field, value
    return None


def _value_text(text: str, keywords: tuple[str, ...]) -> str:
    """Where the new value is: after the field word and any "应该是/改成", before "不是"."""
    start = min(text.find(k) + len(k) for k in keywords if k in text)
    tail = text[start:]
    for marker in ("应该是", "改成", "改为"):
        if marker in tail:
            tail = tail.split(marker, 1)[1]
            break
    return tail.split("不是", 1)[0]
