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

# a minus sign, not the dash of a range ("3000-4000")
NEGATIVE = re.compile(
    r"(?<![0-9零一二两三四五六七八九十百千万])[-−]\s*[0-9零一二两三四五六七八九十]|负\s*[0-9零一二两三四五六七八九十]"
)
NONE_WORDS = ("没有", "沒有", "无", "無", "没", "不用", "零", "0", "冇", "冇收入", "冇人")
UNSURE_WORDS = (
    "不确定", "不知道", "说不准", "说不好", "不清楚", "难说", "看情况", "唔知", "唔清楚", "唔确定",
    "讲唔定",
)  # fmt: skip
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
    "说多了",
    "说少了",
    "其实只有",
    "其实是",
    "忘了说",
    "漏说",
    "补充",
    "讲错",
    "应该系",
)

FIELD_KEYWORDS: dict[str, tuple[str, ...]] = {
    "monthly_income": ("收入", "工资", "月薪", "赚", "挣", "薪水"),
    "other_debt_payments": ("其他贷款", "其他欠款", "其他还款", "别的贷款", "网贷", "房贷", "车贷"),
    "monthly_expenses": ("开支", "支出", "生活费", "房租", "花销", "开销", "花费"),
    "dependents": ("孩子", "小孩", "抚养", "赡养", "老人", "要养"),
    "recovery_months": ("恢复", "找到工作", "缓过来"),
}


# "四五千", "五六百", "三千到四千", "3000-4000", "五千左右", "七千几": an estimate, not a figure
_APPROXIMATE = re.compile(
    r"[一二两三四五六七八九]{2}[十百千万]"
    r"|[0-9零一二两三四五六七八九十百千万]\s*(?:到|至|-|~|～)\s*[0-9一二两三四五六七八九]"
    r"|左右|大概|大约|差不多|估计|上下|[十百千万]几|[十百千万]多"
)


def is_approximate(text: str) -> bool:
    """Whether an amount was given as a range or an estimate (then the assistant says which
    figure it took, so the cardholder can correct it)."""
    return bool(_APPROXIMATE.search(to_simplified(text or "")))


_NOTHING_AT_ALL = re.compile(
    r"(?:一分钱|分文|一毛钱|半毛钱|一分).{0,6}(?:都|也)?(?:没|无|冇)|(?:没有?|无|冇)(?:任何)?收入"
    r"|收入(?:都|也)?(?:没有?|无|冇)|零收入"
)


def _is_none_answer(text: str) -> bool:
    stripped = re.sub(r"[\s，。,.!！~～]", "", text)
    return (
        stripped in NONE_WORDS
        or stripped.startswith(("没有", "无", "冇"))
        or bool(_NOTHING_AT_ALL.search(stripped))
    )


def read_items_total(value: Any) -> float | None:
    """ "房租1500，吃饭1000，交通300" -> 2800: a monthly figure given as a list of items."""
    text = to_simplified(str(value or ""))
    parts = [p for p in re.split(r"[，,、；;。+＋]|加上|还有", text) if p.strip()]
    amounts = [parse_amount(part) for part in parts]
    if len(parts) < 2 or any(a is None for a in amounts):
        return read_money(value)
    total = round(sum(a for a in amounts if a is not None), 2)
    return total if 0 <= total <= MAX_MONTHLY_AMOUNT else None


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
    "monthly_expenses": read_items_total,
    "other_debt_payments": read_items_total,
    "dependents": read_dependents,
    "recovery_months": read_recovery_months,
}


def read_correction(text: str) -> tuple[str, Any] | None:
    """("monthly_income", 6000.0) for "刚才收入说错了，应该是六千"; None if it is no correction."""
    found = read_corrections(text)
    return next(iter(found.items()), None)


def read_corrections(text: str) -> dict[str, Any]:
    """Every answer a correction changes: {"monthly_income": 5000.0, "monthly_expenses": 3500.0}
    for "收入改成5000，开支改成3500"; a field named in one clause may get its value in the next
    ("刚才收入说错了，应该是六千"); the reason too ("原因不是失业，是生病了")."""
    simplified = to_simplified(text or "")
    found: dict[str, Any] = {}
    reason = _corrected_reason(simplified)
    if reason is not None:
        found["hardship_reason"] = reason
    if not any(marker in simplified for marker in CORRECTION_MARKERS):
        return found
    pending: str | None = None
    for clause in filter(None, re.split(r"[，,；;。！!？?\s]+", simplified)):
        named = [f for f, words in FIELD_KEYWORDS.items() if any(w in clause for w in words)]
        for field in named:
            value = READERS[field](_value_text(clause, FIELD_KEYWORDS[field]))
            if value is not None and field not in found:
                found[field] = value
                pending = None
            elif value is None:
                pending = field
        if not named and pending is not None:
            value = READERS[pending](_value_text(clause, ()))
            if value is not None and pending not in found:
                found[pending] = value
                pending = None
    return found


def _corrected_reason(text: str) -> str | None:
    """ "原因不是失业，是生病了" -> "illness": the reason named after the one denied."""
    if "原因" not in text or "不是" not in text:
        return None
    tail = text.split("原因", 1)[1]
    tail = re.sub(r"不是[^，,。；;]*[，,。；;]?", "", tail)
    return classify_hardship_reason(tail) if tail.strip() else None


def _value_text(text: str, keywords: tuple[str, ...]) -> str:
    """Where the new value is: after the field word and any "应该是/改成", before "不是"."""
    start = min((text.find(k) + len(k) for k in keywords if k in text), default=0)
    tail = text[start:]
    for marker in ("应该是", "改成", "改为"):
        if marker in tail:
            tail = tail.split(marker, 1)[1]
            break
    return tail.split("不是", 1)[0]


def answers_in(text: str, asked: str) -> dict[str, Any]:
    """Other answers the same message gives by name, beside the one asked for ("失业了，现在一个月
    就三千" at the reason question also says the income)."""
    simplified = to_simplified(text or "")
    found: dict[str, Any] = {}
    for field, keywords in FIELD_KEYWORDS.items():
        if field == asked or not any(keyword in simplified for keyword in keywords):
            continue
        value = READERS[field](_value_text(simplified, keywords))
        if value is not None:
            found[field] = value
    return found


# Plan talk given as an answer: "选那个36期的" at the dependents question is no count of people,
# "我每个月最多只能还500" at the income question no income. Read by the words, not by the
# intent, so short answers the NLU may take for a plan choice ("6个月") still count.
_PLAN_TALK = re.compile(
    r"方案|选|第[0-9一二两三四五六七八九十]+个|[0-9一二两三四五六七八九十]+期的|最便宜|月供|都不行|太多了"
    r"|再少|便宜点|换一个"
)
_CAN_PAY = re.compile(r"(?:最多|只能|顶多|才能|能)(?:还|拿出|付)|还得起|还得了")


def is_plan_talk(text: str) -> bool:
    return bool(_PLAN_TALK.search(to_simplified(text or "")))


def offered_monthly(text: str) -> float | None:
    """What the cardholder says they can pay each month ("最多只能还500"), if that is what the
    text says."""
    simplified = to_simplified(text or "")
    if not _CAN_PAY.search(simplified):
        return None
    amount = parse_amount(simplified)
    return amount if amount and amount > 0 else None
