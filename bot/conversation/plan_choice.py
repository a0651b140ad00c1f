"""Which of the plans on the table a cardholder means, when they say it in words.

Cardholders rarely press "方案2": they say "选那个36期的", "最便宜的那个", "月供最低的",
"换成第三个".
In issue 15's trial each of these got "没有找到这个编号的方案" or the technical-problem text. This
reads the choice from the words against the options actually shown; a text that names no single
option (e.g. "好的") resolves to None, and the assistant asks which one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.nlu.numerals import parse_number
from bot.nlu.script import to_simplified


@dataclass(frozen=True)
class Shown:
    """What a cardholder saw of one option: its place, its payments and what it costs."""

    rank: int
    payments: int
    monthly: Decimal
    total: Decimal
    cost: Decimal


_NUMBER = r"([0-9]{1,2}|[一二两三四五六七八九十]{1,3})"
_BY_PLACE = (
    re.compile(rf"第\s*{_NUMBER}(?![0-9])\s*(?:个|种|项|条|号)?"),
    re.compile(rf"(?:方案|选项|选)\s*{_NUMBER}(?![0-9])(?!\s*(?:期|个月|月|年))"),
    re.compile(rf"(?<![0-9]){_NUMBER}\s*号(?:方案)?"),
)
_BARE = re.compile(rf"{_NUMBER}\s*(?:个|号|号方案)?\s*[。.!！]?")
_BY_TERM = re.compile(rf"{_NUMBER}\s*(期|个月|月|年)")
_LUMP_SUM = ("一次性", "一次还清", "全部还清", "一口气还")
_CHEAPEST = (
    "最便宜", "最省钱", "最划算", "利息最少", "利息最低", "费用最少", "费用最低", "总共最少",
    "总额最少", "总额最低", "总共还得最少", "还得最少", "最少的钱", "成本最低",
)  # fmt: skip
_LIGHTEST = (
    "月供最低", "月供最少", "每月最少", "每个月最少", "每月还得最少", "每个月还得最少", "每月最低",
    "每个月最低", "压力最小", "最轻松", "负担最小", "负担最轻", "月供最小", "每期最少", "每期最低",
)  # fmt: skip
_SHORTEST = ("最短", "最快", "期数最少", "时间最短", "尽快还完", "最快还完")
_LONGEST = ("最长", "期数最多", "时间最长", "分得最久", "最久")


def _number(token: str) -> int | None:
    value = parse_number(token)
    return int(value) if value is not None and float(value).is_integer() else None


def _by_place(text: str, count: int) -> int | None:
    for pattern in _BY_PLACE:
        for match in pattern.finditer(text):
            value = _number(match.group(1))
            if value is not None and 1 <= value <= count:
                return value
    return None


def _by_term(text: str, shown: list[Shown]) -> int | None:
    if any(word in text for word in _LUMP_SUM):
        ones = [s.rank for s in shown if s.payments == 1]
        return ones[0] if len(ones) == 1 else None
    for match in _BY_TERM.finditer(text):
        value = _number(match.group(1))
        if value is None:
            continue
        months = value * 12 if match.group(2) == "年" else value
        fitting = [s.rank for s in shown if s.payments == months]
        if len(fitting) == 1:
            return fitting[0]
    return None


def _by_property(text: str, shown: list[Shown]) -> int | None:
    for words, key in (
        (_LIGHTEST, lambda s: (s.monthly, s.total)),
        (_CHEAPEST, lambda s: (s.cost, s.total)),
        (_SHORTEST, lambda s: (s.payments, s.monthly)),
        (_LONGEST, lambda s: (-s.payments, s.monthly)),
    ):
        if any(word in text for word in words):
            return min(shown, key=key).rank
    return None


def read_choice(text: str, shown: list[Shown]) -> int | None:
    """The rank of the option the words name, or None when they name no single one.

    The last choice in a text wins where it changes its mind ("第一个…不，换成第三个"): places
    are read from the part after the last change marker."""
    if not shown:
        return None
    simplified = to_simplified(text or "")
    for marker in ("换成", "改成", "改为", "还是选", "还是要", "不如"):
        if marker in simplified:
            simplified = simplified.rsplit(marker, 1)[1]
    bare = _BARE.fullmatch(simplified.strip())
    if bare:  # "2", "二", "2号": typed where the buttons were
        value = _number(bare.group(1))
        return value if value is not None and 1 <= value <= len(shown) else None
    return (
        _by_term(simplified, shown)
        or _by_place(simplified, len(shown))
        or _by_property(simplified, shown)
    )
