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

# Words after a bare numeral that make it something other than money.
_NOT_MONEY_AFTER = re.compile(
    r"^\s*(?:个|期|月|年|号|日|天|周|星期|礼拜|次|岁|人|口|位|张|%|点|分钟|小时|家|套|种|"
    r"条|项|倍|笔|楼|层|成|折|辆|只|名|届|季|斤|公斤|公里|米|km|kg|g\b|/|\.\d)",
    re.IGNORECASE,
)
# A bare Chinese 一 in 一下/一些/一直 is not a numeral at all.
_NOT_NUMERAL_AFTER = re.compile(r"^(?:下|些|直|起|样|般|定|共|边|旦|切|致|律|再|点|会)")
# Identity details (card tail, phone) are numbers but never amounts.
_ID_BEFORE = re.compile(
    r"(?:尾号|卡号|号码|手机|电话|验证码|身份证|后四位|末四位|后4位|末4位|账号|编号|密码|工号|"
    r"订单|卡尾|尾数)\D{0,3}$"
)
# Verbs and nouns after which a bare number is money (还2000, 工资3500, 房租1500).
_MONEY_BEFORE = re.compile(
    r"(?:还|赚|挣|收入|工资|薪水|月薪|底薪|到手|房租|租金|花|交|付|存|欠|借|剩|月供|生活费|"
    r"开销|开支|只有|最多|最少|大概|差不多|先还|能还|给|转|打款|本金|利息|罚息|违约金|"
    r"余额|额度|账单|每期|每月|每个月|月均|平均)[了约个我你们给\s]{0,3}$"
)
# 一个月 / 一年 as a rate ("一个月赚五千") rather than a duration ("推迟一个月").
_RATE_AFTER = re.compile(
    r"^\s*(?:才|就|大概|差不多|也就|只有|只能|能|可以)?\s*"
    r"(?:赚|挣|收入|工资|薪水|到手|花|开销|开支|房租|生活费|还|交|付|存|拿|有)"
)
_DURATION_BEFORE = re.compile(
    r"(?:推迟|延期|延后|宽限|缓|分|晚|等|暂停|停|延长|期限|最长|最多)\s*$"
)


@dataclass(frozen=True)
class Span:
    """A typed expression in the text; ``value`` is None until resolved (dates)."""

    entity: str
    start: int
    end: int
    value: Any = None
    resolve: Callable[[date], Any] | None = None


def _is_marked_amount(match: re.Match) -> bool:
    if match["prefix"] or match["suffix"]:
        return True
    units = [u for u in (*SMALL_UNITS, *BIG_UNITS) if u not in "十拾"]
    return any(unit in match["num"] for unit in units)


def _amount_spans(text: str) -> list[Span]:
    spans = []
    for match in AMOUNT_RE.finditer(text):
        value = amount_value(match)
        if value is None or value < 0:
            continue
        before = text[max(0, match.start() - 6) : match.start()]
        after = text[match.end() : match.end() + 4]
        if before.endswith("第") or _ID_BEFORE.search(before):
            continue
        marked = _is_marked_amount(match)
        if not match["suffix"] and _NOT_MONEY_AFTER.search(after):
            continue
        if not marked:
            digits = re.sub(r"\D", "", match["num"])
            if len(digits) >= 7 or not _MONEY_BEFORE.search(before):
                continue
            if not digits and (value < 10 or _NOT_NUMERAL_AFTER.search(after)):
                continue
        spans.append(Span("amount", match.start(), match.end(), value))
    return spans


def _months_spans(text: str, amounts: list[Span]) -> list[Span]:
    spans = []
    for match in MONTHS_RE.finditer(text):
        value = months_value(match)
        if value is None or value > _MAX_SCANNED_MONTHS:
            continue
        before = text[max(0, match.start() - 4) : match.start()]
        after = text[match.end() : match.end() + 6]
        if before.endswith("每"):
            continue
        money_follows = any(span.start >= match.end() for span in amounts)
        is_rate = money_follows and _RATE_AFTER.search(after)
        if is_rate and not _DURATION_BEFORE.search(before):
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
