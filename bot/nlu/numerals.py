"""Chinese and Arabic numerals -> numbers.

Cardholders write 三千五, 一万二, 1.5万, 2k, ３０００ or 两千; the bank needs plain numbers.
Everything here works on text passed through :func:`normalise`, which keeps the length of the
text so that offsets found on the normalised text are valid on the original.
"""

from __future__ import annotations

import math
import re

from bot.nlu.script import to_simplified

# Full-width ASCII (！ .. ～) and the ideographic space map to their half-width forms.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_HALF_WIDTH[0x3000] = 0x20
_HALF_WIDTH[0xFFE5] = ord("¥")  # full-width yen sign

DIGITS: dict[str, int] = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "壹": 1,
    "幺": 1,
    "二": 2,
    "贰": 2,
    "两": 2,
    "俩": 2,
    "三": 3,
    "叁": 3,
    "仨": 3,
    "四": 4,
    "肆": 4,
    "五": 5,
    "伍": 5,
    "六": 6,
    "陆": 6,
    "七": 7,
    "柒": 7,
    "八": 8,
    "捌": 8,
    "九": 9,
    "玖": 9,
}
SMALL_UNITS: dict[str, int] = {
    "十": 10,
    "拾": 10,
    "百": 100,
    "佰": 100,
    "千": 1000,
    "仟": 1000,
    "k": 1000,
    "K": 1000,
}
BIG_UNITS: dict[str, int] = {"万": 10**4, "w": 10**4, "W": 10**4, "亿": 10**8}
# Digits that only mean "two"/"three" as a count; a run like 一两 or 两三 is a range.
_RANGE_DIGITS = frozenset("两俩仨")

MAX_NUMBER = 1e15
CN_DIGIT_CHARS = "".join(DIGITS)
CN_NUMBER_CHARS = CN_DIGIT_CHARS + "十拾百佰千仟万亿"
ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
_UNIT = r"(?:[十拾百佰千仟万亿]|[kKwW](?![A-Za-z]))"
# Arabic-led: 3000, 1.5万, 2k, 1万2, 3千5, 1万2000 (an Arabic number then units, never a
# Chinese digit, so 1500一个月 stops after 1500). Chinese-led: 三千五, 一点五万, 二零二六.
NUMBER = (
    rf"(?:{ARABIC}(?:{_UNIT}(?:{ARABIC}|{_UNIT})*)?"
    rf"|[{CN_NUMBER_CHARS}](?:[{CN_NUMBER_CHARS}]|点(?=[{CN_DIGIT_CHARS}]))*)"
)
NUMBER_RE = re.compile(NUMBER)
_ARABIC_RE = re.compile(ARABIC)


def normalise(text: str) -> str:
    """Simplified script and half-width digits/letters, same length as ``text``."""
    return to_simplified(text).translate(_HALF_WIDTH)


def _tokenise(text: str) -> list[tuple[str, float, bool]] | None:
    """Split a numeral into (kind, value, single_digit) tokens; None if not a numeral."""
    tokens: list[tuple[str, float, bool]] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        arabic = _ARABIC_RE.match(text, pos)
        if arabic:
            literal = arabic.group().replace(",", "")
            single = len(literal) == 1
            tokens.append(("num", float(literal), single))
            pos = arabic.end()
            continue
        if char in DIGITS:
            tokens.append(("digit", float(DIGITS[char]), True))
        elif char in SMALL_UNITS:
            tokens.append(("small", float(SMALL_UNITS[char]), False))
        elif char in BIG_UNITS:
            tokens.append(("big", float(BIG_UNITS[char]), False))
        elif char == "点":
            tokens.append(("point", 0.0, False))
        else:
            return None
        pos += 1
    return tokens


def _digit_string(tokens: list[tuple[str, float, bool]], text: str) -> float | None:
    """二零二六 -> 2026; short runs like 三五 or 一两 are ranges, not numbers."""
    if len(tokens) == 1:
        return tokens[0][1]
    if any(char in _RANGE_DIGITS for char in text):
        return None
    if len(tokens) < 3 and not any(char in "零〇" for char in text):
        return None
    return float("".join(str(int(value)) for _, value, _ in tokens))


def _integer_part(tokens: list[tuple[str, float, bool]]) -> float | None:
    """Positional evaluation with units, including 一万二 / 三千五 abbreviations."""
    total = 0.0
    section = 0.0
    pending: float | None = None
    pending_single = False
    last_unit: float | None = None
    last_small = math.inf
    last_big = math.inf
    zero_gap = False
    for kind, value, single in tokens:
        if kind in ("num", "digit"):
            if pending is not None:
                return None
            if kind == "digit" and value == 0:
                zero_gap = True
                continue
            pending, pending_single = value, single
        elif kind == "small":
            if pending is None:
                if value != 10 or section:
                    return None
                pending = 1.0
            if value >= last_small:
                return None
            section += pending * value
            pending, last_small, last_unit, zero_gap = None, value, value, False
        elif kind == "big":
            group = section + (pending or 0.0)
            if group == 0:
                return None
            if value >= last_big:
                total = (total + group) * value
            else:
                total += group * value
            section, pending, last_unit, zero_gap = 0.0, None, value, False
            last_small, last_big = math.inf, value
        else:
            return None
    if pending is None:
        return total + section
    if last_unit is None:
        return pending
    if pending_single and not zero_gap:
        # 一万二 = 12000, 三千五 = 3500, 两百五 = 250: a trailing digit fills the next unit.
        return total + section + pending * last_unit / 10
    if pending < last_unit:
        return total + section + pending
    return None


def parse_number(text: str) -> float | None:
    """Value of a numeral such as 三千五, 一万二, 1.5万, 2k, 二十, 零, ３０００; else None."""
    if not text:
        return None
    cleaned = normalise(text).strip()
    if not cleaned or not NUMBER_RE.fullmatch(cleaned):
        return None
    tokens = _tokenise(cleaned)
    if not tokens:
        return None
    kinds = [kind for kind, _, _ in tokens]
    if "point" in kinds:
        value = _decimal(tokens)
    elif all(kind == "digit" for kind in kinds):
        value = _digit_string(tokens, cleaned)
    else:
        value = _integer_part(tokens)
    # a 400-digit "number" is not a quantity, and inf would break JSON slots
    return value if value is not None and value <= MAX_NUMBER else None


def _decimal(tokens: list[tuple[str, float, bool]]) -> float | None:
    """一点五万 = 15000, 十二点五 = 12.5: fraction digits, then an optional unit."""
    index = [kind for kind, _, _ in tokens].index("point")
    whole = _integer_part(tokens[:index]) if index else None
    rest = tokens[index + 1 :]
    if whole is None or not rest:
        return None
    multiplier = 1.0
    if rest[-1][0] in ("small", "big"):
        multiplier = rest[-1][1]
        rest = rest[:-1]
    if not rest or any(kind != "digit" for kind, _, _ in rest):
        return None
    fraction = float("0." + "".join(str(int(value)) for _, value, _ in rest))
    return (whole + fraction) * multiplier


def as_int_if_whole(value: float) -> int | float:
    """3500.0 -> 3500 so slots and replies do not show a spurious .0."""
    return int(value) if float(value).is_integer() else value
