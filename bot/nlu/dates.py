"""Dates a cardholder says ("15号", "下周五", "月底") -> calendar dates.

Promises and plan start dates lie ahead, so bare expressions resolve forward from today
("15号" on the 22nd is the 15th of next month). Explicit past words (昨天, 上周五) resolve
backwards because that is what they say.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from bot.nlu.numerals import normalise, parse_number

# Day and month numbers as people write them: 5, 05, 十五, 二十, 三十一.
_CN_DAY = r"(?:[二三]?十[一二三四五六七八九]?|[一二三四五六七八九])"
_DAY = rf"(?:3[01]|[12]\d|0?[1-9]|{_CN_DAY})"
_MONTH = r"(?:1[0-2]|0?[1-9]|十[一二]?|[一二三四五六七八九])"
_SMALL = r"(?:\d{1,3}|[一二两三四五六七八九十]{1,3})"
_CN_DIGITS = "零〇一二两俩仨三四五六七八九十百千万"

_WEEKDAYS = {
    "一": 0,
    "二": 1,
    "三": 2,
    "四": 3,
    "五": 4,
    "六": 5,
    "日": 6,
    "天": 6,
    "末": 5,
}
_DAY_WORDS = {
    "前天": -2,
    "昨天": -1,
    "昨日": -1,
    "今天": 0,
    "今日": 0,
    "今儿": 0,
    "今早": 0,
    "今晚": 0,
    "明天": 1,
    "明日": 1,
    "明儿": 1,
    "明早": 1,
    "明晚": 1,
    "后天": 2,
    "大后天": 3,
    "昨晚": -1,
    "前晚": -2,
    # Cantonese
    "听日": 1,
    "寻日": -1,
    "琴日": -1,
}
_MONTH_PREFIX = {"下下": 2, "下": 1, "次": 1, "这": 0, "本": 0, "当": 0, "上": -1}
_WEEK_PREFIX = {"下下": 2, "下": 1, "这": 0, "本": 0, "上": -1}
_YEAR_WORDS = {"今年": 0, "明年": 1, "后年": 2}
# Fixed-date holidays (month, day); lunar ones (春节, 中秋) are not resolved.
_HOLIDAYS = {
    "元旦": (1, 1),
    "情人节": (2, 14),
    "五一": (5, 1),
    "劳动节": (5, 1),
    "国庆": (10, 1),
    "国庆节": (10, 1),
    "双十一": (11, 11),
    "平安夜": (12, 24),
    "圣诞": (12, 25),
    "圣诞节": (12, 25),
}

Resolver = Callable[[re.Match, date], "date | None"]


@dataclass(frozen=True)
class DatePattern:
    """A date expression, how to resolve it, and whether it needs context in free text."""

    name: str
    regex: re.Pattern
    resolve: Resolver
    needs_context: bool = False


def _int(text: str | None) -> int | None:
    value = parse_number(text) if text else None
    return int(value) if value is not None and value.is_integer() else None


def _shift_month(today: date, months: int) -> tuple[int, int]:
    index = today.year * 12 + today.month - 1 + months
    return index // 12, index % 12 + 1


def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _clamped(year: int, month: int, day: int) -> date | None:
    """15号 of a month; 31号 in a 30-day month means its last day."""
    if not 1 <= day <= 31:
        return None
    return date(year, month, min(day, _last_day(year, month)))


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _month_prefix(prefix: str | None) -> int | None:
    if not prefix:
        return None
    key = prefix.rstrip("个")
    return _MONTH_PREFIX.get(key)


def _resolve_iso(match: re.Match, today: date) -> date | None:
    return _safe(int(match["y"]), int(match["m"]), int(match["d"]))


def _resolve_year_month_day(match: re.Match, today: date) -> date | None:
    month, day = _int(match["m"]), _int(match["d"])
    if month is None or day is None:
        return None
    return _safe(today.year + _YEAR_WORDS[match["y"]], month, day)


def _resolve_month_day(match: re.Match, today: date) -> date | None:
    month, day = _int(match["m"]), _int(match["d"])
    if month is None or day is None:
        return None
    candidate = _safe(today.year, month, day)
    if candidate is not None and candidate < today:
        candidate = _safe(today.year + 1, month, day)
    return candidate


def _resolve_relative_month_day(match: re.Match, today: date) -> date | None:
    offset, day = _month_prefix(match["p"]), _int(match["d"])
    if offset is None or day is None:
        return None
    return _clamped(*_shift_month(today, offset), day)


def _resolve_day(match: re.Match, today: date) -> date | None:
    day = _int(match["d"] or match["ad"])
    if day is None or not 1 <= day <= 31:
        return None
    this_month = _clamped(today.year, today.month, day)
    if this_month is not None and this_month >= today:
        return this_month
    return _clamped(*_shift_month(today, 1), day)


def _resolve_month_edge(match: re.Match, today: date) -> date | None:
    explicit = _month_prefix(match["p"])
    edge = match["e"]
    if explicit is None and match["p"]:
        return None
    offset = explicit or 0
    if explicit is None:
        # Bare 月初 / 月中 already passed this month mean next month's.
        if edge == "初" and today.day > 1:
            offset = 1
        if edge == "中" and today.day > 15:
            offset = 1
    year, month = _shift_month(today, offset)
    if edge in ("底", "末"):
        return date(year, month, _last_day(year, month))
    return date(year, month, 1 if edge == "初" else 15)


def _resolve_year_edge(match: re.Match, today: date) -> date | None:
    offset = _YEAR_WORDS.get(match["y"] or "", 0)
    if match["e"] in ("底", "末"):
        return date(today.year + offset, 12, 31)
    if not match["y"]:
        offset = 1  # a bare 年初 lies ahead: next January
    return date(today.year + offset, 1, 1)


def _resolve_day_word(match: re.Match, today: date) -> date | None:
    return today + timedelta(days=_DAY_WORDS[match.group()])


def _resolve_weekday(match: re.Match, today: date) -> date | None:
    raw = match["w"]
    weekday = int(raw) - 1 if raw.isdigit() else _WEEKDAYS[raw]
    prefix = (match["p"] or "").rstrip("个")
    weeks = _WEEK_PREFIX.get(prefix, 0)
    if weeks == 0:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    monday = today - timedelta(days=today.weekday())
    return monday + timedelta(weeks=weeks, days=weekday)


def _resolve_period(match: re.Match, today: date) -> date | None:
    """下个月 / 下周 name a period: its first day (today for this week, under way)."""
    if match["u"]:
        year, month = _shift_month(today, _MONTH_PREFIX[match["p"].rstrip("个")])
        return date(year, month, 1)
    weeks = _WEEK_PREFIX[match["wp"].rstrip("个")]
    if weeks == 0:
        return today
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks)


def _resolve_next_year(match: re.Match, today: date) -> date | None:
    return date(today.year + _YEAR_WORDS[match.group()], 1, 1)


def _resolve_holiday(match: re.Match, today: date) -> date | None:
    month, day = _HOLIDAYS[match.group()]
    candidate = date(today.year, month, day)
    return candidate if candidate >= today else date(today.year + 1, month, day)


def _resolve_in_days(match: re.Match, today: date) -> date | None:
    count = _int(match["n"])
    if count is None or count > 366:
        return None
    days = count * 7 if match["u"] != "天" and match["u"] != "日" else count
    return today + timedelta(days=days)


def _resolve_numeric_month_day(match: re.Match, today: date) -> date | None:
    return _resolve_month_day(match, today)


_NO_DIGIT_BEFORE = rf"(?<![\d.{_CN_DIGITS}])"
# 下周一定还 is "next week, for sure": 一 starting 一定/一起/一次 is not Monday (or the 1st).
_NOT_MONDAY = "[定直起共般样些次下]"
PATTERNS: tuple[DatePattern, ...] = (
    DatePattern(
        "iso",
        re.compile(
            r"(?<!\d)(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})"
            r"\s*[日号]?(?!\d)"
        ),
        _resolve_iso,
    ),
    DatePattern(
        "year_month_day",
        re.compile(rf"(?P<y>今年|明年|后年)\s*(?P<m>{_MONTH})\s*月\s*(?P<d>{_DAY})\s*[日号]?"),
        _resolve_year_month_day,
    ),
    DatePattern(
        "month_day",
        re.compile(
            rf"{_NO_DIGIT_BEFORE}(?P<m>{_MONTH})\s*月\s*(?P<d>{_DAY})"
            rf"(?:\s*[日号]|(?![\d期个{_CN_DIGITS}]))"
        ),
        _resolve_month_day,
    ),
    DatePattern(
        "relative_month_day",
        re.compile(rf"(?P<p>下下个?|下个?|这个?|本|次|当|上个?)月\s*(?P<d>{_DAY})\s*[号日]"),
        _resolve_relative_month_day,
    ),
    DatePattern(
        "month_edge",
        re.compile(
            rf"(?:(?P<p>下下个?|下个?|这个?|本|次|上个?)|{_NO_DIGIT_BEFORE})月(?P<e>底|末|初|中)"
        ),
        _resolve_month_edge,
    ),
    DatePattern(
        "year_edge",
        re.compile(r"(?P<y>今年|明年)?年(?P<e>底|末|初)"),
        _resolve_year_edge,
    ),
    DatePattern(
        "day_word",
        re.compile("|".join(sorted(_DAY_WORDS, key=len, reverse=True))),
        _resolve_day_word,
    ),
    DatePattern(
        "weekday",
        re.compile(
            rf"(?:(?P<p>下下个?|下个?|这个?|本|上个?)|(?<![\d{_CN_DIGITS}每]))"
            rf"(?:周|星期|礼拜)(?P<w>一(?!{_NOT_MONDAY})|[二三四五六日天末]|[1-7](?!\d))"
        ),
        _resolve_weekday,
    ),
    DatePattern(
        "period",
        re.compile(
            rf"(?:(?P<p>下下个?|下个?|上个?|次)(?P<u>月)|(?P<wp>下下个?|下个?|这个?|本|上个?)"
            rf"(?P<wu>周|星期|礼拜))"
            rf"(?![底末初中\d日天二三四五六七八九十两]|一(?!{_NOT_MONDAY}))"
        ),
        _resolve_period,
    ),
    DatePattern(
        "next_year",
        re.compile(rf"(?:明年|后年)(?![\d{_CN_DIGITS}年底末初])"),
        _resolve_next_year,
    ),
    DatePattern(
        "holiday",
        re.compile(
            rf"(?<![\d{_CN_DIGITS}])(?:{'|'.join(sorted(_HOLIDAYS, key=len, reverse=True))})"
            rf"(?![\d{_CN_DIGITS}个])"
        ),
        _resolve_holiday,
    ),
    DatePattern(
        "in_days",
        re.compile(rf"(?P<n>{_SMALL})\s*(?:个)?\s*(?P<u>天|日|周|星期|礼拜)\s*(?:之后|以后|后)"),
        _resolve_in_days,
    ),
    DatePattern(
        "day",
        re.compile(
            rf"(?<![\d.月/第尾编型几{_CN_DIGITS}])(?:(?P<d>{_DAY})\s*号|(?P<ad>3[01]|[12]\d|0?[1-9])\s*日)"
            r"(?!\s*(?:方案|选项|线|楼|床|码|机|位|房|门|窗口|桌|之内|以内|内|后|以后|之后|\d))"
        ),
        _resolve_day,
    ),
    DatePattern(
        "numeric_month_day",
        re.compile(
            r"(?<![\d.])(?P<m>1[0-2]|0?[1-9])\s*(?P<sep>[/.])\s*(?P<d>3[01]|[12]\d|0?[1-9])"
            r"(?P<suffix>\s*[号日])?(?![\d.%万千百kKwW元块])"
        ),
        _resolve_numeric_month_day,
        needs_context=True,
    ),
)

# 12.5 in free text is a date only when the words around it say so (1.5万 is money).
_DOT_DATE_BEFORE = re.compile(r"(?:在|于|到|截至|截止|等到|最晚|最迟|之前)\s*$")
_DOT_DATE_AFTER = re.compile(r"^\s*(?:号|日|之前|以前|前|那天|当天|还|再|左右)")


def _has_date_context(text: str, match: re.Match) -> bool:
    if match["sep"] == "/" or match["suffix"]:
        return True
    before = text[max(0, match.start() - 4) : match.start()]
    after = text[match.end() : match.end() + 4]
    return bool(_DOT_DATE_BEFORE.search(before) or _DOT_DATE_AFTER.search(after))


@dataclass(frozen=True)
class DateSpan:
    """A date expression found in text."""

    start: int
    end: int
    pattern: DatePattern
    match: re.Match


def find_date_spans(text: str) -> list[DateSpan]:
    """All date expressions in normalised ``text`` (may overlap; callers pick)."""
    spans: list[DateSpan] = []
    for pattern in PATTERNS:
        for match in pattern.regex.finditer(text):
            if pattern.needs_context and not _has_date_context(text, match):
                continue
            spans.append(DateSpan(match.start(), match.end(), pattern, match))
    return spans


def resolve_span(span: DateSpan, today: date) -> date | None:
    """Calendar date of a found expression; None when it names no real day."""
    try:
        return span.pattern.resolve(span.match, today)
    except (ValueError, OverflowError):
        return None


def parse_date(text: str, today: date) -> date | None:
    """Resolve a date expression (whole text first, else the first one found in it)."""
    if not text:
        return None
    cleaned = normalise(text).strip()
    for pattern in PATTERNS:
        match = pattern.regex.fullmatch(cleaned)
        if match:
            resolved = resolve_span(DateSpan(0, len(cleaned), pattern, match), today)
            if resolved is not None:
                return resolved
    spans = sorted(find_date_spans(cleaned), key=lambda s: (s.start, s.start - s.end))
    for span in spans:
        resolved = resolve_span(span, today)
        if resolved is not None:
            return resolved
    return None
