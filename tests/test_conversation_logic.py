"""Plain-Python conversation decisions: consequences, readers, corrections, masking, replies."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest

from bot.conversation.consequences import overdraft_threshold_reached, report_code, stage
from bot.conversation.escalation import URGENT, priority_of, reason_for_intent
from bot.conversation.goals import goal_for_intent
from bot.conversation.hardship import (
    read_correction,
    read_dependents,
    read_money,
    read_reason,
    read_recovery_months,
)
from bot.conversation.identity import read_card_and_id, read_id_last4
from bot.nlg import localise_message
from bot.privacy import MaskingFilter, mask


@pytest.mark.parametrize(
    ("days", "code"),
    [(0, "N"), (1, "1"), (30, "1"), (31, "2"), (45, "2"), (95, "4"), (180, "6"), (181, "7")],
)
def test_report_codes_follow_thirty_day_buckets(days: int, code: str) -> None:
    assert report_code(days)[0] == code


def test_stage_texts_are_calm_and_factual() -> None:
    assert "宽限期" in stage(2).next_stage
    assert "下一档" in stage(45).next_stage
    assert "5年" in stage(200).next_stage
    for days in (2, 45, 200):
        assert not any(word in stage(days).next_stage for word in ("坐牢", "抓", "一定会"))


def test_malicious_overdraft_counts_principal_only() -> None:
    assert not overdraft_threshold_reached(Decimal("35000"))
    assert overdraft_threshold_reached(Decimal("50000"))
    assert overdraft_threshold_reached(Decimal("120000"))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("4500", 4500.0),
        ("三千五", 3500.0),
        ("一万二", 12000.0),
        ("没有", 0.0),
        ("无", 0.0),
        ("大概五千左右吧", 5000.0),
        ("1.5万", 15000.0),
    ],
)
def test_money_answers(text: str, value: float) -> None:
    assert read_money(text) == value


@pytest.mark.parametrize("text", ["不告诉你", "很多", "-500", "999999999"])
def test_nonsense_money_is_refused(text: str) -> None:
    assert read_money(text) is None


def test_dependents_and_recovery() -> None:
    assert read_dependents("两个孩子") == 2
    assert read_dependents("没有") == 0
    assert read_dependents("很多很多") is None
    assert read_recovery_months("半年") == 6
    assert read_recovery_months("三个月左右") == 3
    assert read_recovery_months("说不准") == 12
    assert read_recovery_months("一百年") is None


def test_reasons_from_buttons_or_words() -> None:
    assert read_reason("illness", "") == "illness"
    assert read_reason("被裁了", "我被公司裁员了") == "unemployment"
    assert read_reason(None, "今天天气不错") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("刚才收入说错了，应该是六千", ("monthly_income", 6000.0)),
        ("不对，房租是两千不是一千五", ("monthly_expenses", 2000.0)),
        ("改一下，孩子是两个", ("dependents", 2)),
        ("剛才收入說錯了，應該是六千", ("monthly_income", 6000.0)),
        ("我一个月收入六千", None),
    ],
)
def test_corrections(text: str, expected: object) -> None:
    assert read_correction(text) == expected


def test_identity_readers() -> None:
    assert read_card_and_id("卡号后四位6217") == ("6217", None)
    assert read_card_and_id("卡6217，身份证567x") == ("6217", "567X")
    assert read_card_and_id("６２１７") == ("6217", None)  # full-width digits
    assert read_card_and_id("不知道") == (None, None)
    assert read_id_last4("身份证尾号是567X") == "567X"


def test_goals_and_escalation_priorities() -> None:
    assert goal_for_intent("request_waiver") == "plans"
    assert goal_for_intent("already_paid") == "paid"
    assert goal_for_intent("greet") is None
    assert reason_for_intent("express_distress") == "distress"
    assert priority_of("distress") == URGENT
    assert priority_of("distress") < priority_of("request_human") < priority_of("no_plan_fits")


def test_masking_hides_card_and_id_digits() -> None:
    assert mask("card 6217 id 567X phone 13812345678") == "card **** id **** phone ***********"
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "verify %s/%s", ("6217", "1234"), None
    )
    MaskingFilter().filter(record)
    assert record.getMessage() == "verify ****/****"


def test_replies_follow_the_cardholder_script() -> None:
    message = {
        "text": "您的欠款合计",
        "buttons": [{"title": "转人工", "payload": "/request_human"}],
    }
    traditional = localise_message(message, "traditional")
    assert traditional["text"] == "您的欠款合計"
    assert traditional["buttons"][0] == {"title": "轉人工", "payload": "/request_human"}
    assert localise_message(message, "simplified") is message
    assert localise_message(message, None) is message


async def test_intent_payloads_are_sent_as_written_and_slots_still_fill(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.nlg import ScriptAwareNLG
    from bot.settings import PROJECT_ROOT

    domain = Domain.load(str(PROJECT_ROOT / "domain.yml"))
    tracker = DialogueStateTracker("nlg", domain.slots)
    nlg = ScriptAwareNLG(domain=domain)
    message = await nlg.generate("utter_ask_hardship_reason", tracker, "rest")
    payloads = [button["payload"] for button in message["buttons"]]
    assert payloads[0] == '/inform_hardship{"hardship_reason": "unemployment"}'
    assert len(payloads) == len(domain.responses["utter_ask_hardship_reason"][0]["buttons"])
    logged = capsys.readouterr()
    assert "interpolat" not in logged.out + logged.err  # Rasa logs an error for every button
    filled = nlg._fill_response(
        {"text": "{name}您好", "buttons": [{"title": "{name}", "payload": '/x{"a": 1}'}]},
        {"name": "张伟"},
    )
    assert filled == {"text": "张伟您好", "buttons": [{"title": "张伟", "payload": '/x{"a": 1}'}]}
