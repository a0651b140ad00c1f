"""Normalised values of the numeric entities: amount, months, count, plan choice, date.

Each parser accepts the expression itself ("三千五块", "12期", "第二个", "15号") and, failing
that, the first expression of its kind inside a longer text, so a slightly too wide entity
span still yields its value. Simplified and Traditional input are both accepted.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

from bot.nlu.dates import parse_date
from bot.nlu.numerals import (
    BIG_UNITS,
    CN_DIGIT_CHARS,
    CN_NUMBER_CHARS,
    DIGITS,
    NUMBER,
    SMALL_UNITS,
    normalise,
    parse_number,
)

__all__ = [
    "AMOUNT_RE",
    "MONTHS_RE",
    "PLAN_RE",
    "parse_amount",
    "parse_count",
    "parse_date",
    "parse_months",
    "parse_number",
    "parse_plan_choice",
]

CURRENCY_PREFIX = r"(?:[¥$]|rmb|RMB|人民币)"
CURRENCY_SUFFIX = r"(?:块钱|元钱|块|元|圆|蚊|rmb|RMB|人民币)"
# 一块五 / 三元五角: a digit after the yuan unit is tenths.
_TENTHS = (
    rf"(?P<tenths>[{CN_DIGIT_CHARS}]|\d)"
    rf"(?![\d{CN_DIGIT_CHARS}十百千万号日月期个天年周点kKwW])(?:毛|角)?钱?"
)
# An explicit range: 三千到四千, 3000-4000, 三到四千 (not a date such as 2026-11-22).
_RANGE_SEP = r"\s*(?:到|至|~|-|—)\s*"


def _amount_pattern(range_part: str) -> re.Pattern:
    # 二十多万 (a magnitude after 多), 三千多块 / 五万多 / 七千几 (多, 几: "and a bit").
    return re.compile(
        rf"(?P<prefix>{CURRENCY_PREFIX}\s*)?(?P<num>{NUMBER}){range_part}"
        rf"(?:[多来几](?P<mag>[万千百亿kKwW]))?"
        rf"(?:(?P<approx>多|来|几)?\s*(?P<suffix>{CURRENCY_SUFFIX})(?:{_TENTHS})?"
        rf"|[多几](?![\d{CN_DIGIT_CHARS}十百千万]))?"
    )


class _AmountPattern:
    """AMOUNT_RE: a close range (三千到四千) is one amount; a wide one (三千到五千) stays two.

    Both patterns have the same groups (``num2`` never matches in the single one), so a
    caller sees ordinary ``re.Match`` objects whichever pattern produced them.
    """

    def __init__(self) -> None:
        self.ranged = _amount_pattern(rf"(?:{_RANGE_SEP}(?P<num2>{NUMBER})(?![\d\-/.月号日]))?")
        self.single = _amount_pattern(r"(?P<num2>(?!))?")

    def _checked(self, match: re.Match | None, endpos: int) -> re.Match | None:
        """A wide range found by ``ranged`` becomes its first number alone."""
        if match is None or match["num2"] is None or amount_value(match) is not None:
            return match
        return self.single.match(match.string, match.start(), endpos)

    def fullmatch(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> re.Match | None:
        match = self.ranged.fullmatch(text, pos, endpos)
        return None if match is not None and amount_value(match) is None else match

    def finditer(self, text: str, pos: int = 0, endpos: int = sys.maxsize) -> Iterator[re.Match]:
        while pos <= min(len(text), endpos):
            match = self._checked(self.ranged.search(text, pos, endpos), endpos)
            if match is None:
                return
            yield match
            pos = match.end() if match.end() > match.start() else match.start() + 1


AMOUNT_RE = _AmountPattern()
# 四五千 / 五六百 / 三千四五 / 十五六万: two neighbouring digits, read as the range between.
_ADJACENT_RANGE = re.compile(
    rf"(?P<head>(?:[{CN_NUMBER_CHARS}]*[十拾百佰千仟万亿])?)"
    rf"(?P<low>[{CN_DIGIT_CHARS}])(?P<high>[{CN_DIGIT_CHARS}])(?P<tail>[十拾百佰千仟万亿]*)"
)
# A range is read as its midpoint only when its ends are close (high <= 1.5 x low, so
# 四五千 -> 4500 and 两三千 -> 2500); 一两千 or 三到五千 are too vague to act on.
_MAX_RANGE_RATIO = 1.5
_LONE_UNITS = {"百": 100, "千": 1000, "万": 10**4}
_MAGNITUDES = {**SMALL_UNITS, **BIG_UNITS}
_MONTH_NUM = rf"(?:\d{{1,3}}(?:\.5)?|[{CN_DIGIT_CHARS}十]{{1,3}})"
MONTHS_RE = re.compile(
    rf"(?<![\d.第{CN_DIGIT_CHARS}十])(?:"
    rf"(?P<years>{_MONTH_NUM})\s*年\s*零?\s*(?P<months>{_MONTH_NUM})\s*个\s*多?月"
    rf"|(?P<n_years>{_MONTH_NUM})\s*年(?P<half>半)?"
    rf"|(?P<half_year>半)\s*年"
    rf"|(?P<n_half_months>{_MONTH_NUM})\s*个\s*半\s*月"
    rf"|(?P<n_months>{_MONTH_NUM})\s*个\s*多?月"
    rf"|(?P<n_terms>{_MONTH_NUM})\s*期)"
)
_PLAN_NUM = rf"(?:\d{{1,2}}|[{CN_DIGIT_CHARS}十]{{1,2}}|[A-Da-d])"
_ORDINAL_NOT_PLAN = "次天期年月周日号步笔张位名届章节楼层时"
PLAN_RE = re.compile(
    rf"第\s*(?P<ordinal>{_PLAN_NUM})"
    rf"(?![个种套项条档]?[{_ORDINAL_NOT_PLAN}]|方(?!案))"
    r"(?:[个种套项条档])?"
    rf"|(?:方案|选项|计划)\s*(?P<named>{_PLAN_NUM})(?![个期年月\d])"
    rf"|(?P<numbered>{_PLAN_NUM})\s*号?\s*(?:方案|选项)"
    # after 选 / plan / option the span is the number alone ("选 2", "plan 2")
    rf"|(?:(?<=选)|(?<=选择)|(?<=选 )|(?<=选择 )|(?<=plan)|(?<=plan )|(?<=option)|(?<=option ))"
    rf"(?P<picked>[1-9一二三四五六七八九两]|(?<=n )[A-Da-d]|(?<=n)[A-Da-d])(?:号|个)?"
    rf"(?![\d{CN_DIGIT_CHARS}十百千万块元期月年天日kKwWA-Za-z])",
    re.IGNORECASE,
)
_COUNT_RE = re.compile(rf"(?P<num>{NUMBER})\s*(?P<unit>个|口|位|名|人|只|张|笔|家|套|辆|次)?")
_APPROX_SUFFIX = re.compile(r"\s*(?:左右|上下|以内|以上|以下|而已)$")
_NONE_WORDS = re.compile(r"没有|没|无|木有|^不$")
_MAX_MONTHS = 600


def _whole(value: float | None) -> int | None:
    return int(value) if value is not None and float(value).is_integer() else None


def amount_value(match: re.Match) -> float | None:
    """Yuan value of an AMOUNT_RE match (a close range -> its midpoint)."""
    if match["num2"]:
        value = _explicit_range(match["num"], match["num2"])
    else:
        value = _numeral_value(
            match["num"], bool(match["approx"] or match.group().endswith(("多", "几")))
        )
    if value is None:
        return None
    if match["mag"]:
        value *= _MAGNITUDES[match["mag"]]
    if match["tenths"]:
        tenths = parse_number(match["tenths"])
        if tenths is None or value != int(value):
            return None
        value += tenths / 10
    return value


def _numeral_value(text: str, approximate: bool = False) -> float | None:
    """A numeral, a range of neighbouring digits (四五千), or 千几 / 万多 (a lone unit)."""
    value = parse_number(text)
    if value is not None:
        return value
    if approximate and text in _LONE_UNITS:
        return float(_LONE_UNITS[text])
    match = _ADJACENT_RANGE.fullmatch(normalise(text))
    if match is None or not (match["head"] or match["tail"]):
        return None  # a bare 五六 is a count, not money
    if DIGITS[match["high"]] != DIGITS[match["low"]] + 1:
        return None
    low = parse_number(match["head"] + match["low"] + match["tail"])
    high = parse_number(match["head"] + match["high"] + match["tail"])
    return _midpoint(low, high)


def _explicit_range(first: str, second: str) -> float | None:
    """三千到四千 -> 3500; 三到四千 takes the unit of its upper end (3000 to 4000)."""
    high = parse_number(second)
    low = parse_number(first)
    unit = re.search(r"[十拾百佰千仟万亿kKwW]+$", normalise(second))
    if (
        low is not None
        and high is not None
        and unit
        and not re.search(r"[十拾百佰千仟万亿kKwW]", normalise(first))
    ):
        low = parse_number(first + unit.group())
    return _midpoint(low, high)


def _midpoint(low: float | None, high: float | None) -> float | None:
    if low is None or high is None or not 0 < low < high <= low * _MAX_RANGE_RATIO:
        return None
    return (low + high) / 2


def parse_amount(text: str) -> float | None:
    """Yuan in an amount expression: 三千五块 -> 3500, 1.5万 -> 15000, ¥3000 -> 3000."""
    if not text:
        return None
    cleaned = _APPROX_SUFFIX.sub("", normalise(text).strip())
    match = AMOUNT_RE.fullmatch(cleaned)
    if match:
        return amount_value(match)
    found = list(AMOUNT_RE.finditer(cleaned))
    candidates = [m for m in found if amount_value(m) is not None]
    marked = [m for m in candidates if _looks_like_money(m)]
    if marked:
        return amount_value(marked[0])
    # An unmarked numeral counts only in Arabic digits (还50); 一些 / 一下 are not amounts.
    # (2026-11-22 holds three numbers, one of them read as an invalid range 11-22)
    if len(found) == 1 and len(candidates) == 1 and re.search(r"\d", candidates[0]["num"]):
        return amount_value(candidates[0])
    return None


def _looks_like_money(match: re.Match) -> bool:
    """Currency sign/unit or a magnitude (千/万/k) marks a numeral as money."""
    if match["prefix"] or match["suffix"] or match["mag"]:
        return True
    number = match["num"] + (match["num2"] or "")
    return any(unit in number for unit in _MAGNITUDES if unit not in "十拾")


def months_value(match: re.Match) -> int | None:
    """Whole months of a MONTHS_RE match (一年半 -> 18, 两年三个月 -> 27)."""
    if match["half_year"]:
        return 6
    if match["years"] is not None:
        years, months = parse_number(match["years"]), parse_number(match["months"])
        if years is None or months is None:
            return None
        total = years * 12 + months
    elif match["n_years"] is not None:
        years = parse_number(match["n_years"])
        if years is None:
            return None
        total = years * 12 + (6 if match["half"] else 0)
    elif match["n_half_months"] is not None:
        count = parse_number(match["n_half_months"])
        if count is None:
            return None
        total = count + 1  # 一个半月: whole months, rounded up to cover the time asked for
    else:
        count = parse_number(match["n_months"] or match["n_terms"])
        if count is None:
            return None
        total = count
    months = _whole(total)
    return months if months is not None and 0 < months <= _MAX_MONTHS else None


def parse_months(text: str) -> int | None:
    """Whole months: 12期 -> 12, 两年 -> 24, 一年半 -> 18, 三个月 -> 3, 半年 -> 6."""
    if not text:
        return None
    cleaned = normalise(text).strip()
    bare = _whole(parse_number(cleaned))
    if bare is not None:
        return bare if 0 < bare <= _MAX_MONTHS else None
    match = MONTHS_RE.fullmatch(cleaned)
    if match:
        return months_value(match)
    for found in MONTHS_RE.finditer(cleaned):
        value = months_value(found)
        if value is not None:
            return value
    return None


def plan_value(match: re.Match) -> int | None:
    """1-based plan number of a PLAN_RE match (方案B -> 2)."""
    raw = next(
        group
        for group in (match["ordinal"], match["named"], match["numbered"], match["picked"])
        if group is not None
    )
    if len(raw) == 1 and raw.isascii() and raw.isalpha():
        return ord(raw.lower()) - ord("a") + 1
    value = _whole(parse_number(raw))
    return value if value is not None and 1 <= value <= 20 else None


def parse_plan_choice(text: str) -> int | None:
    """Plan number: 第二个 -> 2, 方案三 -> 3, 2号方案 -> 2, 选1 -> 1, a bare 2 -> 2."""
    if not text:
        return None
    cleaned = normalise(text).strip()
    bare = _whole(parse_number(cleaned))
    if bare is not None:
        return bare if 1 <= bare <= 20 else None
    for match in PLAN_RE.finditer(cleaned):
        value = plan_value(match)
        if value is not None:
            return value
    return None


def parse_count(text: str) -> int | None:
    """How many of something: 两个孩子 -> 2, 三口人 -> 3, 没有 -> 0."""
    if not text:
        return None
    cleaned = normalise(text).strip()
    if re.search(r"一个(?:都|也)没", cleaned):
        return 0
    count = _first_count(cleaned)
    if count is None and _NONE_WORDS.search(cleaned):
        return 0
    return count


def _first_count(text: str) -> int | None:
    """Numeral with a measure word (两个孩子), or the whole text as a numeral (两)."""
    for match in _COUNT_RE.finditer(text):
        whole_text = match.start() == 0 and match.end() == len(text)
        if match["unit"] is None and not whole_text:
            continue
        value = _whole(parse_number(match["num"]))
        if value is not None and value >= 0:
            return value
    return None
