"""Rule-based entity scanner and hardship keywords (bot.nlu.entities)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu import hardship
from bot.nlu.entities import classify_hardship_reason, extract_entities, protected_spans
from bot.nlu.script import to_traditional

TODAY = date(2026, 11, 22)


def found(text: str) -> list[tuple[str, object, str]]:
    return [
        (e["entity"], e["value"], text[e["start"] : e["end"]])
        for e in extract_entities(text, TODAY)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "我下个月5号还三千五块",
            [("date", "2026-12-05", "下个月5号"), ("amount", 3500, "三千五块")],
        ),
        ("能不能分12期", [("months", 12, "12期")]),
        ("我想还两千块钱", [("amount", 2000, "两千块钱")]),
        ("每月还1.5万", [("amount", 15000, "1.5万")]),
        ("我工资2k", [("amount", 2000, "2k")]),
        ("¥3000可以吗", [("amount", 3000, "¥3000")]),
        ("12月15日还款", [("date", "2026-12-15", "12月15日")]),
        ("月底之前还5000元", [("date", "2026-11-30", "月底"), ("amount", 5000, "5000元")]),
        ("我选第二个", [("plan_choice", 2, "第二个")]),
        ("方案三吧", [("plan_choice", 3, "方案三")]),
        ("2号方案", [("plan_choice", 2, "2号方案")]),
        ("我要第一个方案", [("plan_choice", 1, "第一个")]),
        ("选2号", [("plan_choice", 2, "2号")]),
        ("我选1", [("plan_choice", 1, "1")]),
        ("一年半", [("months", 18, "一年半")]),
        ("我想分两年三个月", [("months", 27, "两年三个月")]),
        ("两年还清", [("months", 24, "两年")]),
        ("能不能推迟一个月还", [("months", 1, "一个月")]),
        ("我一个月赚五千", [("amount", 5000, "五千")]),  # a rate, not a duration
        ("我一年才赚十万", [("amount", 100000, "十万")]),
        ("每月房租一千五", [("amount", 1500, "一千五")]),
        ("下周一我还三千", [("date", "2026-11-23", "下周一"), ("amount", 3000, "三千")]),
        ("十五号还一万二", [("date", "2026-12-15", "十五号"), ("amount", 12000, "一万二")]),
        ("明天还两千", [("date", "2026-11-23", "明天"), ("amount", 2000, "两千")]),
        ("在12.5号前还", [("date", "2026-12-05", "12.5号")]),
        ("2026年12月5日还", [("date", "2026-12-05", "2026年12月5日")]),
        ("分3期每期1000", [("months", 3, "3期"), ("amount", 1000, "1000")]),
        ("还1000块2号", [("amount", 1000, "1000块"), ("date", "2026-12-02", "2号")]),
        ("三千到五千", [("amount", 3000, "三千"), ("amount", 5000, "五千")]),
        ("我还50", [("amount", 50, "50")]),
        ("我欠了一万多", [("amount", 10000, "一万多")]),
        ("去年开饭店亏了二十多万", [("amount", 200000, "二十多万")]),
        ("三千来块吧", [("amount", 3000, "三千来块")]),
        # bare numbers where the words around make them money
        ("交通费300", [("amount", 300, "300")]),
        ("每个月吃饭要1500", [("amount", 1500, "1500")]),
        ("每月还网贷2500", [("amount", 2500, "2500")]),
        ("income 5000", [("amount", 5000, "5000")]),
        ("能减免800的违约金吗", [("amount", 800, "800")]),
        ("4500我大后天还", [("amount", 4500, "4500"), ("date", "2026-11-25", "大后天")]),
        ("孩子补习班1500一个月", [("amount", 1500, "1500")]),
        ("我的收入是三千八一个月", [("amount", 3800, "三千八")]),
        ("收入写错了，是5000", [("amount", 5000, "5000")]),
        # 一个月 next to money is a rate
        ("她一个月三千八", [("amount", 3800, "三千八")]),
        ("我一个月花销最少也要三千五", [("amount", 3500, "三千五")]),
        ("推迟一个月还两千", [("months", 1, "一个月"), ("amount", 2000, "两千")]),
        ("还款能往后推一个半月吗", [("months", 2, "一个半月")]),
        # periods, holidays and Cantonese day words
        ("下个月再还行吗", [("date", "2026-12-01", "下个月")]),
        ("下周一定还上", [("date", "2026-11-23", "下周")]),
        ("能不能下个月一起还", [("date", "2026-12-01", "下个月")]),
        ("上个礼拜就还了", [("date", "2026-11-09", "上个礼拜")]),
        (
            "上个月25号还的三千块钱",
            [("date", "2026-10-25", "上个月25号"), ("amount", 3000, "三千块钱")],
        ),
        ("元旦前还", [("date", "2027-01-01", "元旦")]),
        ("我聽日還", [("date", "2026-11-23", "聽日")]),
        ("我尋日還咗2000", [("date", "2026-11-21", "尋日"), ("amount", 2000, "2000")]),
        ("我昨晚在柜台还了三千五", [("date", "2026-11-21", "昨晚"), ("amount", 3500, "三千五")]),
        ("选 2", [("plan_choice", 2, "2")]),
        ("我选 plan 2", [("plan_choice", 2, "2")]),
        (
            "第一个方案不行，我选第二个",
            [("plan_choice", 1, "第一个"), ("plan_choice", 2, "第二个")],
        ),
        ("一块五", [("amount", 1.5, "一块五")]),
        ("我失业三个月了", [("months", 3, "三个月")]),
        # Traditional and full-width input keep their own offsets
        (
            "下個月5號還三千五塊",
            [("date", "2026-12-05", "下個月5號"), ("amount", 3500, "三千五塊")],
        ),
        ("１２期", [("months", 12, "１２期")]),
        ("我想辦理24期", [("months", 24, "24期")]),
    ],
)
def test_extract_entities(text: str, expected: list[tuple[str, object, str]]) -> None:
    assert found(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "尾号6217",
        "我的卡号后四位是6217",
        "6217",
        "我手机号13812345678",
        "我有两个孩子",
        "逾期90天了",
        "利息18%太高",
        "帮我查一下",
        "还了2次",
        "第二个月开始还",
        "第一次逾期",
        "我今年35岁",
        "是6217",  # card tail, not money
        "卡是1379，身份证是662X",
        "我要打12378投诉",
        "打了十几个电话都没人接",
        "差几十块没还会上征信吗",
        "心里压着一块石头",
        "会不会转给第三方催收",
        "这个月要还多少",  # this month is not a date to resolve
        "收數公司一日打十幾次",
        "一直在还",
        "你好",
        "",
    ],
)
def test_extract_entities_ignores_non_entities(text: str) -> None:
    assert found(text) == []


def test_values_have_contract_types() -> None:
    entities = extract_entities("下个月5号还1.5万，分12期，选第二个，再还一块五", TODAY)
    by_type = {e["entity"]: e["value"] for e in entities if e["entity"] != "amount"}
    amounts = [e["value"] for e in entities if e["entity"] == "amount"]
    assert by_type == {"date": "2026-12-05", "months": 12, "plan_choice": 2}
    assert amounts == [15000, 1.5]
    assert isinstance(amounts[0], int) and isinstance(amounts[1], float)


fragments = st.sampled_from(
    [
        "我",
        "还",
        "下个月5号",
        "三千五块",
        "12期",
        "第二个",
        "方案三",
        "明天",
        "一年半",
        "1.5万",
        "2k",
        "尾号6217",
        "，",
        "15号",
        "两年",
        "工资",
        "😀",
        " ",
        "一",
        "万",
        "第",
        "号",
        "期",
        "个月",
        "7",
        "吗",
    ]
)


@given(st.lists(fragments, max_size=12).map("".join))
@settings(max_examples=300, deadline=None)
def test_spans_are_sorted_disjoint_and_script_independent(text: str) -> None:
    entities = extract_entities(text, TODAY)
    for entity in entities:
        assert 0 <= entity["start"] < entity["end"] <= len(text)
        assert entity["entity"] in {"amount", "months", "date", "plan_choice"}
    for left, right in zip(entities, entities[1:], strict=False):
        assert left["end"] <= right["start"]
    assert extract_entities(to_traditional(text), TODAY) == entities
    assert protected_spans(text) == [(e["start"], e["end"]) for e in entities]


def test_scanner_handles_long_and_odd_input() -> None:
    text = "我下个月5号还三千五块。" * 500
    entities = extract_entities(text, TODAY)
    assert len(entities) == 1000
    assert extract_entities("😀" * 50, TODAY) == []
    assert extract_entities("\x00\n\t", TODAY) == []


# --- hardship reasons ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("被裁员", "unemployment"),
        ("我被裁员了", "unemployment"),
        ("失业", "unemployment"),
        ("最近失業了", "unemployment"),
        ("公司倒闭了", "unemployment"),
        ("got fired", "unemployment"),
        ("住院", "illness"),
        ("我生病住院了", "illness"),
        ("做了个手术", "illness"),
        ("生意亏了", "business_loss"),
        ("店倒闭了", "business_loss"),
        ("降薪", "income_drop"),
        ("工资少了一半", "income_drop"),
        ("家里出事", "family_emergency"),
        ("我爸住院了", "family_emergency"),  # a family member's illness
        ("孩子生病了", "family_emergency"),
        ("网贷", "other_debts"),
        ("欠了好多网贷", "other_debts"),
        ("借呗和花呗都逾期", "other_debts"),
        ("洪水", "disaster"),
        ("老家发洪水了", "disaster"),
        ("地震把房子震塌了", "disaster"),
        ("unemployment", "unemployment"),  # canonical values pass through
        ("Illness", "illness"),
    ],
)
def test_classify_hardship_reason(text: str, expected: str) -> None:
    assert classify_hardship_reason(text) == expected


@pytest.mark.parametrize("text", ["", "随便说说", "我想分期", "你好"])
def test_classify_hardship_reason_none(text: str) -> None:
    assert classify_hardship_reason(text) is None


def test_every_canonical_reason_has_phrases() -> None:
    table = hardship.load_table()
    assert {reason for _, reason in table.phrases} == set(hardship.HARDSHIP_REASONS)


def test_bank_can_extend_the_keyword_table(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    extended = tmp_path / "reasons.yml"
    extended.write_text(
        hardship.DEFAULT_TABLE.read_text(encoding="utf-8").replace(
            "  disaster:\n    [", "  disaster:\n    [蝗灾, "
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv(hardship.TABLE_ENV, str(extended))
    hardship.load_table.cache_clear()
    try:
        assert classify_hardship_reason("今年闹蝗灾") == "disaster"
    finally:
        monkeypatch.delenv(hardship.TABLE_ENV)
        hardship.load_table.cache_clear()
    assert classify_hardship_reason("今年闹蝗灾") is None


def test_unknown_reason_in_table_is_rejected(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("reasons:\n  laziness: [懒]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="laziness"):
        hardship.load_table(str(bad))
