"""Numerals, amounts, months, counts, plan choices and dates (bot.nlu.numbers)."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu.numbers import (
    AMOUNT_RE,
    parse_amount,
    parse_count,
    parse_date,
    parse_months,
    parse_number,
    parse_plan_choice,
)
from bot.nlu.script import to_traditional

TODAY = date(2026, 11, 22)  # a Sunday
CN_DIGITS = "零一二三四五六七八九"
FULL_WIDTH = str.maketrans("0123456789.,", "０１２３４５６７８９．，")


def chinese(number: int) -> str:
    """Reference rendering of 0 <= number < 10**8 in standard Chinese numerals."""

    def section(value: int) -> str:
        out, gap = "", False
        for unit_value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
            digit = value // unit_value % 10
            if digit:
                out += ("零" if gap else "") + CN_DIGITS[digit] + unit
                gap = False
            elif out:
                gap = True
        return out

    if number == 0:
        return "零"
    high, low = divmod(number, 10000)
    text = section(high) + "万" if high else ""
    if low:
        text += ("零" if high and low < 1000 else "") + section(low)
    return text


# --- parse_number -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("零", 0),
        ("〇", 0),
        ("十", 10),
        ("十二", 12),
        ("二十", 20),
        ("二十五", 25),
        ("一百", 100),
        ("一百零五", 105),
        ("一百一十", 110),
        ("两百五", 250),
        ("三千五", 3500),
        ("一万二", 12000),
        ("一万零五百", 10500),
        ("一千零五", 1005),
        ("两千", 2000),
        ("俩", 2),
        ("仨", 3),
        ("十万", 100000),
        ("三千五百万", 35_000_000),
        ("一亿二千万", 120_000_000),
        ("壹万贰仟", 12000),
        ("兩千", 2000),
        ("一萬二", 12000),
        ("1.5万", 15000),
        ("1.5w", 15000),
        ("5W", 50000),
        ("2k", 2000),
        ("10K", 10000),
        ("1.5k", 1500),
        ("3千5", 3500),
        ("1万2", 12000),
        ("1万2000", 12000),
        ("2k5", 2500),
        ("1,000", 1000),
        ("12,345.5", 12345.5),
        ("３０００", 3000),
        ("１．５万", 15000),
        ("一点五万", 15000),
        ("十二点五", 12.5),
        ("零点五", 0.5),
        ("二零二六", 2026),
        ("  42 ", 42),
    ],
)
def test_parse_number(text: str, expected: float) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "万",
        "千万",
        "百",
        "三五",
        "一两千",
        "两三",
        "几千",
        "abc",
        "5块",
        "2kg",
        "1万20000",
    ],
)
def test_parse_number_rejects_non_numerals_and_ranges(text: str) -> None:
    assert parse_number(text) is None


@given(st.integers(min_value=0, max_value=99_999_999))
@settings(max_examples=500, deadline=None)
def test_parse_number_reads_every_chinese_numeral(number: int) -> None:
    assert parse_number(chinese(number)) == number
    assert parse_number(to_traditional(chinese(number))) == number


@given(st.integers(min_value=0, max_value=10**12))
@settings(max_examples=300, deadline=None)
def test_parse_number_reads_arabic_half_and_full_width(number: int) -> None:
    assert parse_number(str(number)) == number
    assert parse_number(str(number).translate(FULL_WIDTH)) == number
    assert parse_number(f"{number:,}") == number


@given(
    st.integers(min_value=1, max_value=9),
    st.integers(min_value=1, max_value=9),
    st.sampled_from([("百", 100), ("千", 1000), ("万", 10000)]),
)
def test_trailing_digit_fills_the_next_unit(lead: int, tail: int, unit: tuple[str, int]) -> None:
    name, value = unit
    expected = lead * value + tail * value // 10
    assert parse_number(f"{CN_DIGITS[lead]}{name}{CN_DIGITS[tail]}") == expected
    assert parse_number(f"{lead}{name}{tail}") == expected


@given(st.integers(min_value=1, max_value=999), st.sampled_from(["万", "w", "千", "k"]))
def test_decimal_with_magnitude(tenths: int, unit: str) -> None:
    value = tenths / 10
    magnitude = 10000 if unit in ("万", "w") else 1000
    assert parse_number(f"{value}{unit}") == pytest.approx(value * magnitude)


# --- parse_amount -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("三千五", 3500),
        ("三千五块", 3500),
        ("一万二", 12000),
        ("1.5万", 15000),
        ("2k", 2000),
        ("两千块", 2000),
        ("两千块钱", 2000),
        ("5000元", 5000),
        ("¥3000", 3000),
        ("￥３０００", 3000),
        ("RMB 500", 500),
        ("人民币800元", 800),
        ("三千多块", 3000),
        ("五万多", 50000),
        ("二十多万", 200000),
        ("三千来块", 3000),
        ("五千左右", 5000),
        ("一块五", 1.5),
        ("3块5毛", 3.5),
        ("兩千塊", 2000),
        ("800", 800),
        # a span slightly too wide still yields its amount
        ("还三千五块", 3500),
        ("我一个月赚五千", 5000),
    ],
)
def test_parse_amount(text: str, expected: float) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize("text", ["", "块", "钱", "很多钱", "一两千", "三五百"])
def test_parse_amount_none(text: str) -> None:
    assert parse_amount(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # neighbouring digits: the midpoint of the range
        ("四五千", 4500),
        ("五六百", 550),
        ("七八百块", 750),
        ("两三千", 2500),
        ("三千四五", 3450),
        ("一万五六", 15500),
        ("四五十万", 450000),
        ("一个月四五千吧", 4500),
        ("大概五六千左右", 5500),
        ("四五千塊錢", 4500),
        # explicit ranges
        ("三千到四千", 3500),
        ("3000-4000", 3500),
        ("3000~4000元", 3500),
        ("三千至三千五", 3250),
        ("三到四千", 3500),
        ("每个月三千到四千吧", 3500),
        # 几 / 多 after a magnitude, Cantonese 蚊
        ("七千幾", 7000),
        ("七千几块", 7000),
        ("二十几万", 200000),
        ("千几", 1000),
        ("千幾蚊", 1000),
        ("萬多", 10000),
        ("五百蚊", 500),
    ],
)
def test_parse_amount_ranges_and_approximations(text: str, expected: float) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    "text",
    # too vague to act on (high > 1.5 x low), a bare count, not neighbours, no magnitude
    ["一两千", "三五百", "五六", "二三", "四六千", "几千", "2026-11-22"],
)
def test_parse_amount_rejects_vague_ranges(text: str) -> None:
    assert parse_amount(text) is None


def test_wide_range_stays_two_amounts_close_range_is_one() -> None:
    assert [m.group() for m in AMOUNT_RE.finditer("三千到五千")] == ["三千", "五千"]
    assert [m.group() for m in AMOUNT_RE.finditer("一个月三千到四千")] == ["一", "三千到四千"]
    # a date is not a range of amounts
    assert [m.group() for m in AMOUNT_RE.finditer("2026-11-22")] == ["2026", "11", "22"]
    assert parse_amount("三千到五千") == 3000  # the lower end, never a made-up midpoint


# --- parse_months -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12期", 12),
        ("十二期", 12),
        ("24期", 24),
        ("两年", 24),
        ("2年", 24),
        ("一年半", 18),
        ("1.5年", 18),
        ("三个月", 3),
        ("3个月", 3),
        ("半年", 6),
        ("6个月", 6),
        ("三个多月", 3),
        ("两年三个月", 27),
        ("一年零三个月", 15),
        ("一個月", 1),
        ("一个半月", 2),  # whole months, rounded up
        ("兩年", 24),
        ("12", 12),
        ("分24期吧", 24),
    ],
)
def test_parse_months(text: str, expected: int) -> None:
    assert parse_months(text) == expected


@pytest.mark.parametrize("text", ["", "第3期", "2026年", "半个月", "几个月", "0", "1000"])
def test_parse_months_none(text: str) -> None:
    assert parse_months(text) is None


# --- parse_count --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("两个孩子", 2),
        ("三口人", 3),
        ("有两个", 2),
        ("2", 2),
        ("两", 2),
        ("没有", 0),
        ("没", 0),
        ("无", 0),
        ("一个都没有", 0),
        ("我一直没有孩子", 0),
        ("兩個孩子", 2),
    ],
)
def test_parse_count(text: str, expected: int) -> None:
    assert parse_count(text) == expected


@pytest.mark.parametrize("text", ["", "不知道", "好几个"])
def test_parse_count_none(text: str) -> None:
    assert parse_count(text) is None


# --- parse_plan_choice --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("第二个", 2),
        ("第1个", 1),
        ("第一个方案", 1),
        ("我要第三种", 3),
        ("第三方案", 3),
        ("我选 plan 2", 2),
        ("方案三", 3),
        ("方案2", 2),
        ("方案B", 2),
        ("2号方案", 2),
        ("二号方案", 2),
        ("选1", 1),
        ("选择2号", 2),
        ("plan 2", 2),
        ("Option 3", 3),
        ("3", 3),
        ("第二個", 2),
        ("方案三吧", 3),
    ],
)
def test_parse_plan_choice(text: str, expected: int) -> None:
    assert parse_plan_choice(text) == expected


@pytest.mark.parametrize(
    "text", ["", "第二个月", "第一次", "两个方案", "0", "都不要", "第三方催收"]
)
def test_parse_plan_choice_none(text: str) -> None:
    assert parse_plan_choice(text) is None


# --- parse_date ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("15号", "2026-12-15"),
        ("十五号", "2026-12-15"),
        ("22号", "2026-11-22"),  # today still counts
        ("30号", "2026-11-30"),
        ("31号", "2026-11-30"),  # November has no 31st: its last day
        ("下周五", "2026-11-27"),
        ("周五", "2026-11-27"),
        ("这周五", "2026-11-27"),
        ("星期五", "2026-11-27"),
        ("礼拜一", "2026-11-23"),
        ("周日", "2026-11-22"),
        ("周末", "2026-11-28"),
        ("下下周一", "2026-11-30"),
        ("上周五", "2026-11-13"),  # the previous ISO week (Mon 9 - Sun 15)
        ("今天", "2026-11-22"),
        ("明天", "2026-11-23"),
        ("后天", "2026-11-24"),
        ("大后天", "2026-11-25"),
        ("昨天", "2026-11-21"),
        ("月底", "2026-11-30"),
        ("这个月底", "2026-11-30"),
        ("下个月底", "2026-12-31"),
        ("月初", "2026-12-01"),
        ("月中", "2026-12-15"),
        ("年底", "2026-12-31"),
        ("12月5日", "2026-12-05"),
        ("12月15号", "2026-12-15"),
        ("十二月十五日", "2026-12-15"),
        ("1月5号", "2027-01-05"),  # already past this year: next year
        ("11月1日", "2027-11-01"),
        ("明年1月5号", "2027-01-05"),
        ("12.5", "2026-12-05"),
        ("12/5", "2026-12-05"),
        ("下个月5号", "2026-12-05"),
        ("下月5号", "2026-12-05"),
        ("这个月25号", "2026-11-25"),
        ("2026-12-05", "2026-12-05"),
        ("2027/1/3", "2027-01-03"),
        ("2026年12月5日", "2026-12-05"),
        ("三天后", "2026-11-25"),
        ("一周后", "2026-11-29"),
        ("下週五", "2026-11-27"),
        ("15號", "2026-12-15"),
        ("下個月5號", "2026-12-05"),
        ("１５号", "2026-12-15"),
        ("下个月", "2026-12-01"),  # a period: its first day
        ("下下个月", "2027-01-01"),
        ("上个月", "2026-10-01"),
        ("下周", "2026-11-23"),
        ("下个星期", "2026-11-23"),
        ("上周", "2026-11-09"),
        ("这周", "2026-11-22"),
        ("明年", "2027-01-01"),
        ("元旦", "2027-01-01"),
        ("国庆", "2027-10-01"),
        ("圣诞节", "2026-12-25"),
        ("聽日", "2026-11-23"),
        ("尋日", "2026-11-21"),
        ("昨晚", "2026-11-21"),
        ("上个月25号", "2026-10-25"),
        ("上个月底", "2026-10-31"),
        # inside a longer text
        ("我15号之前还", "2026-12-15"),
        ("下周五我还三千", "2026-11-27"),
    ],
)
def test_parse_date(text: str, expected: str) -> None:
    assert parse_date(text, TODAY) == date.fromisoformat(expected)


@pytest.mark.parametrize(
    "text", ["", "这个月", "2月30号", "13月5日", "过几天", "1.5万", "好的", "春节", "一日"]
)
def test_parse_date_none(text: str) -> None:
    assert parse_date(text, TODAY) is None


def test_month_end_on_the_last_day_is_today() -> None:
    assert parse_date("月底", date(2026, 11, 30)) == date(2026, 11, 30)
    assert parse_date("月底", date(2027, 2, 3)) == date(2027, 2, 28)


days = st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31))


@given(days, st.integers(min_value=1, max_value=31))
@settings(max_examples=300, deadline=None)
def test_day_of_month_resolves_forward(today: date, day: int) -> None:
    resolved = parse_date(f"{day}号", today)
    assert resolved is not None
    assert today <= resolved <= today + timedelta(days=31)
    assert resolved.day == min(day, calendar.monthrange(resolved.year, resolved.month)[1])


@given(days, st.integers(min_value=0, max_value=6))
@settings(max_examples=100, deadline=None)
def test_weekday_is_the_coming_one(today: date, weekday: int) -> None:
    name = "一二三四五六日"[weekday]
    coming = parse_date(f"周{name}", today)
    assert coming is not None and coming.weekday() == weekday
    assert 0 <= (coming - today).days <= 6
    following = parse_date(f"下周{name}", today)
    assert following is not None and following.weekday() == weekday
    assert following.isocalendar()[:2] == (today + timedelta(weeks=1)).isocalendar()[:2]


@given(days, days)
@settings(max_examples=200, deadline=None)
def test_explicit_dates_round_trip(today: date, target: date) -> None:
    assert parse_date(target.isoformat(), today) == target
    assert parse_date(f"{target.year}年{target.month}月{target.day}日", today) == target


@given(days, st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=28))
@settings(max_examples=200, deadline=None)
def test_month_day_lies_within_a_year_ahead(today: date, month: int, day: int) -> None:
    resolved = parse_date(f"{month}月{day}日", today)
    assert resolved is not None and (resolved.month, resolved.day) == (month, day)
    assert today <= resolved < today + timedelta(days=366)


@given(days)
def test_relative_days(today: date) -> None:
    assert parse_date("明天", today) == today + timedelta(days=1)
    assert parse_date("後天", today) == today + timedelta(days=2)
    month_end = parse_date("月底", today)
    assert month_end is not None and month_end >= today
    assert (month_end + timedelta(days=1)).day == 1
