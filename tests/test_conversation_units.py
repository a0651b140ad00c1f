"""Plain-Python readers behind the off-script turns (no Rasa server)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.conversation.arrangement import asks_about
from bot.conversation.goals import goal_for_intent
from bot.conversation.hardship import is_approximate, read_money
from bot.conversation.identity import names_both_secrets
from bot.conversation.plan_choice import Shown, read_choice

SHOWN = [
    Shown(1, 60, Decimal("618.93"), Decimal("37135.50"), Decimal("0")),
    Shown(2, 36, Decimal("1249.11"), Decimal("44968.00"), Decimal("8270.00")),
    Shown(3, 1, Decimal("36698"), Decimal("36698"), Decimal("0")),
]


@pytest.mark.parametrize(
    ("text", "rank"),
    [
        ("选那个36期的", 2),
        ("就要60期那个", 1),
        ("分五年的", 1),
        ("一次性还清那个", 3),
        ("月供最低的", 1),
        ("每个月还得最少的那个", 1),
        ("最便宜的那个", 3),
        ("最短的", 3),
        ("期数最多的", 1),
        ("等下，我改主意了，换成第三个", 3),
        ("第一个…不对，还是选第二个吧", 2),
        ("方案2", 2),
        ("第二個", 2),
        ("就第一个吧", 1),
    ],
)
def test_a_choice_in_words_names_the_plan(text: str, rank: int) -> None:
    assert read_choice(text, SHOWN) == rank


@pytest.mark.parametrize("text", ["好的", "确认", "嗯", "可以", "那个吧", "第五个", "选24期的", ""])
def test_words_that_name_no_single_plan_name_none(text: str) -> None:
    assert read_choice(text, SHOWN) is None


@pytest.mark.parametrize(
    ("text", "approximate", "value"),
    [
        ("四五千", True, 4500.0),
        ("一个月四五千吧", True, 4500.0),
        ("五六百", True, 550.0),
        ("三千到四千", True, 3500.0),
        ("3000-4000", True, 3500.0),
        ("五千左右", True, 5000.0),
        ("5000", False, 5000.0),
        ("一万二", False, 12000.0),
        ("冇收入", False, 0.0),
    ],
)
def test_ranges_and_estimates_are_read_and_recognised(
    text: str, approximate: bool, value: float
) -> None:
    assert is_approximate(text) is approximate
    assert read_money(text) == value


@pytest.mark.parametrize("text", ["-500", "负五百"])
def test_negative_amounts_are_refused(text: str) -> None:
    assert read_money(text) is None


@pytest.mark.parametrize(
    ("text", "both"),
    [
        ("卡号尾号6217 身份证后四位1234，我想看看欠多少", True),
        ("信用卡6217，身份证123X", True),
        ("我想还3000，下个月再还2000", False),
        ("卡号6217", False),
    ],
)
def test_both_secrets_are_recognised_only_when_named(text: str, both: bool) -> None:
    assert names_both_secrets(text) is both


def test_arrangement_questions_and_goals() -> None:
    assert asks_about("能不能提前还完") == {"early"}
    assert asks_about("漏还一期会怎样") == {"missed"}
    assert asks_about("第一期什么时候还") == set()
    assert goal_for_intent("reject_offers") == goal_for_intent("counter_offer") == "plans"
    assert goal_for_intent("ask_agreement") == "arrangement"
    assert goal_for_intent("greet") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("收入改成5000，开支改成3500", {"monthly_income": 5000.0, "monthly_expenses": 3500.0}),
        ("原因不是失业，是生病了", {"hardship_reason": "illness"}),
        ("等等，收入我说多了，其实只有三千", {"monthly_income": 3000.0}),
        ("我忘了说，每个月还有网贷要还1000", {"other_debt_payments": 1000.0}),
        ("收入講錯咗，應該係六千", {"monthly_income": 6000.0}),
        ("我一个月收入六千", {}),
        ("原因是失业", {}),
    ],
)
def test_every_answer_a_correction_changes(text: str, expected: dict) -> None:
    from bot.conversation.hardship import read_corrections

    assert read_corrections(text) == expected


def test_every_hardship_reason_has_a_name_a_cardholder_reads() -> None:
    from actions.hardship import shown_value
    from bot.contract import HARDSHIP_REASON_NAMES, HARDSHIP_REASONS

    assert set(HARDSHIP_REASON_NAMES) == set(HARDSHIP_REASONS)
    assert shown_value("hardship_reason", "illness") == "生病或受伤"
