"""Rule-based scanner for amount / months / date / plan_choice expressions.

DIET learns where entities are, but numerals are open-ended and training data is small; the
scanner gives exact spans and values for the expressions whose type the surrounding words
settle (3000块 is money, 12期 is months, 15号 is a date, 第二个 is a plan). It also tells the
tokenizer which stretches must stay whole tokens.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.nlu.dates import DateSpan, find_date_spans, resolve_span
from bot.nlu.hardship import classify_hardship_reason, find_hardship_reason
from bot.nlu.numbers import (
    AMOUNT_RE,
    MONTHS_RE,
    PLAN_RE,
    amount_value,
    months_value,
    plan_value,
)
from bot.nlu.numerals import BIG_UNITS, SMALL_UNITS, as_int_if_whole, normalise

__all__ = [
    "Span",
    "classify_hardship_reason",
    "extract_entities",
    "find_hardship_reason",
    "protected_spans",
]

# Lower number = preferred when two expressions of equal length overlap (选2号 is a plan).
_PRIORITY = {"plan_choice": 0, "date": 1, "months": 2, "amount": 3}
_MAX_SCANNED_MONTHS = 120
_MAX_REPAIR = 16  # longest numeral worth shortening until it parses

# Words after a bare numeral that make it something other than money.
_NOT_MONEY_AFTER = re.compile(
    r"^\s*(?:个|几|期|月|年|号|日|天|周|星期|礼拜|次|岁|人|口|位|张|%|点|分钟|小时|家|套|种|"
    r"条|项|倍|笔|楼|层|成|折|辆|只|名|届|季|斤|公斤|公里|米|km|kg|g\b|/|\.\d)",
    re.IGNORECASE,
)
# A bare Chinese 一 in 一下/一些/一直 is not a numeral at all.
_NOT_NUMERAL_AFTER = re.compile(r"^(?:下|些|直|起|样|般|定|共|边|旦|切|致|律|再|点|会)")
# 几十块 / 数百元 are vague; 一块石头 / 两块蛋糕 are pieces, not yuan.
_VAGUE_BEFORE = re.compile(r"[几数好]$")
_PIECES = re.compile(r"^[一二两三四五六七八九]块$")
# Identity details (card tail, phone) are numbers but never amounts.
_ID_BEFORE = re.compile(
    r"(?:尾号|卡号|号码|手机|电话|验证码|身份证|后四位|末四位|后4位|末4位|账号|编号|密码|工号|"
    r"订单|卡尾|尾数)\D{0,3}$"
)
_FILLER = r"[了约个我你们给是就才只要得咗\s：:]{0,3}$"
# Words after which a bare number is money (还2000, 工资3500, 交通费300, 每月还网贷2500).
_MONEY_BEFORE = re.compile(
    r"(?:还|赚|挣|收入|工资|薪水|薪资|月薪|底薪|年薪|月入|年入|到手|房租|租金|花|交|付|存|欠|"
    r"借|剩|差|月供|生活费|开销|开支|支出|花销|消费|流水|只有|最多|最少|至少|大概|大约|差不多|"
    r"给|转|打款|本金|利息|罚息|违约金|余额|额度|账单|每期|每月|每个月|一个月|月均|平均|费|金|"
    r"款|贷|呗|白条|保险|水电|燃气|笔|月打|pay|paid|income|expense|salary|rent)" + _FILLER,
    re.IGNORECASE,
)
# Weaker cues ("工资是4500", "改成6000") count only for numbers of 100 and more.
_WEAK_MONEY_BEFORE = re.compile(r"(?:是|要|为|成|共|合计|加起来)" + _FILLER)
_MONEY_WORD = re.compile(
    r"工资|收入|薪|房租|租金|金额|钱|费|款|还|支出|开销|花销|每月|每个月|一个月"
)
# "4500我大后天还": a number opening a clause that ends in paying.
_PAID_LATER = re.compile(r"^[^，,。！？!?；;]{0,10}?(?:还|付|交|转)")
_MONEY_AFTER = re.compile(
    r"^\s*(?:一个月|每个月|每月|/月|的(?:违约金|利息|罚息|手续费|工资|收入|房租|消费|欠款|"
    r"账单|本金|月供))"
)
# 一个月 / 一年 next to money is a rate ("一个月赚五千", "一个月三千八"), not a duration.
_RATE_GAP = re.compile(r"^[^，,。！？!?；;\d一二两三四五六七八九十百千万]{0,7}$")
_DURATION_BEFORE = re.compile(
    r"(?:推迟|延期|延后|宽限|缓|分|晚|等|暂停|停|延长|期限|最长|最多|往后推|推)\s*$"
)
_SINGLE_PERIOD = re.compile(r"^(?:一|1)\s*(?:个\s*月|年)$")


@dataclass(frozen=True)
class Span:
    """A typed expression in the text; ``value`` is None until resolved (dates)."""

    entity: str
    start: int
    end: int
    value: Any = None
    resolve: Callable[[date], Any] | None = None


def _is_marked_amount(match: re.Match) -> bool:
    if match["prefix"] or match["suffix"] or match["mag"]:
        return True
    units = [u for u in (*SMALL_UNITS, *BIG_UNITS) if u not in "十拾"]
    return any(unit in match["num"] for unit in units)


def _amount_spans(text: str) -> list[Span]:
    spans = []
    for match in AMOUNT_RE.finditer(text):
        match, value = _parsable(text, match)
        if match is None or value is None or value < 0:
            continue
        before = text[max(0, match.start() - 10) : match.start()]
        after = text[match.end() : match.end() + 12]
        if before.endswith("第") or _ID_BEFORE.search(before) or _VAGUE_BEFORE.search(before):
            continue
        if not match["suffix"] and _NOT_MONEY_AFTER.search(after):
            continue
        if _PIECES.match(match.group()) and not after.startswith("钱"):
            continue
        if not _is_marked_amount(match) and not _bare_number_is_money(match, value, before, after):
            continue
        spans.append(Span("amount", match.start(), match.end(), value))
    return spans


def _parsable(text: str, match: re.Match) -> tuple[re.Match | None, float | None]:
    """The match, or its longest prefix that parses (三千八一个月 -> 三千八)."""
    value = amount_value(match)
    end = match.end()
    if value is None and end - match.start() > _MAX_REPAIR:
        return None, None
    while value is None and end > match.start() + 1:
        end -= 1
        shorter = AMOUNT_RE.fullmatch(text, match.start(), end)
        if shorter is not None:
            match, value = shorter, amount_value(shorter)
    return (match, value) if value is not None else (None, None)


def _bare_number_is_money(match: re.Match, value: float, before: str, after: str) -> bool:
    """A numeral without currency or magnitude is money only where the words say so."""
    digits = re.sub(r"\D", "", match["num"])
    if len(digits) >= 7 or value < 10:
        return False
    if not digits and _NOT_NUMERAL_AFTER.search(after):
        return False
    if _MONEY_BEFORE.search(before) or _MONEY_AFTER.search(after):
        return True
    if value < 100 or not digits:
        return False
    if _PAID_LATER.search(after) and not before.strip("，,。！？!?；; "):
        return True
    return bool(_WEAK_MONEY_BEFORE.search(before)) and bool(_MONEY_WORD.search(before))


def _is_rate(text: str, match: re.Match, amounts: list[Span]) -> bool:
    """一个月两千 / 1500一个月: a per-month (per-year) figure, not a duration."""
    if not _SINGLE_PERIOD.match(match.group()):
        return False
    before = text[max(0, match.start() - 4) : match.start()]
    if _DURATION_BEFORE.search(before):
        return False
    for amount in amounts:
        if amount.start >= match.end() and _RATE_GAP.match(text[match.end() : amount.start]):
            return True
        if amount.end <= match.start() and match.start() - amount.end <= 1:
            return True
    return False


def _months_spans(text: str, amounts: list[Span]) -> list[Span]:
    spans = []
    for match in MONTHS_RE.finditer(text):
        value = months_value(match)
        if value is None or value > _MAX_SCANNED_MONTHS:
            continue
        if text[max(0, match.start() - 1) : match.start()] == "每":
            continue
        if _is_rate(text, match, amounts):
            continue
        spans.append(Span("months", match.start(), match.end(), value))
    return spans


def _plan_spans(text: str) -> list[Span]:
    spans = []
    for match in PLAN_RE.finditer(text):
        value = plan_value(match)
        if value is not None:
            spans.append(Span("plan_choice", match.start(), match.end(), value))
    return spans


def _date_spans(text: str) -> list[Span]:
    def resolver(found: DateSpan) -> Callable[[date], Any]:
        return lambda today: resolve_span(found, today)

    return [
        Span("date", found.start, found.end, resolve=resolver(found))
        for found in find_date_spans(text)
    ]


def _candidates(text: str) -> list[Span]:
    amounts = _amount_spans(text)
    return [
        *amounts,
        *_months_spans(text, amounts),
        *_plan_spans(text),
        *_date_spans(text),
    ]


def _select(spans: list[Span]) -> list[Span]:
    """Longest expressions first, then by type priority; no two chosen spans overlap."""
    chosen: list[Span] = []
    ranked = sorted(spans, key=lambda s: (s.start - s.end, _PRIORITY[s.entity], s.start))
    for span in ranked:
        if all(span.end <= kept.start or span.start >= kept.end for kept in chosen):
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def protected_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every numeric/date/plan expression, for whole-token tokenisation."""
    if not text:
        return []
    return [(s.start, s.end) for s in _select(_candidates(normalise(text)))]


def extract_entities(text: str, today: date) -> list[dict[str, Any]]:
    """Rasa-style entities (entity, value, start, end) for amount/months/date/plan_choice.

    Offsets refer to ``text`` as given (Traditional or full-width input keeps its offsets).
    Values: amount in yuan (int when whole), months and plan_choice as int, date as ISO.
    """
    if not text:
        return []
    normalised = normalise(text)
    resolved: list[Span] = []
    for span in _candidates(normalised):
        if span.resolve is not None:
            value = span.resolve(today)
            if value is None:
                continue
            span = Span(span.entity, span.start, span.end, value)
        resolved.append(span)
    return [
        {
            "entity": span.entity,
            "value": _format(span.entity, span.value),
            "start": span.start,
            "end": span.end,
        }
        for span in _select(resolved)
    ]


def _format(entity: str, value: Any) -> Any:
    if entity == "date":
        return value.isoformat()
    if entity == "amount":
        return as_int_if_whole(value)
    return int(value)
