"""The crisis screen: every way of saying it is caught, ordinary debt talk is not.

The held-out figures (hundreds of lines) are in test_crisis_precision.py; these are the cases
each pattern or exclusion of bot/nlu/data/crisis_phrases.txt was written for.
"""

from __future__ import annotations

import re

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.crisis_guard import PHRASES_PATH, REGEX_PREFIX, CrisisGuard, crisis_phrase


@pytest.mark.parametrize(
    "text",
    [
        "我不想活了",
        "活着 没意思",
        "欠这么多还不如死了算了",
        "下辈子再还吧",
        "我已经写好遗书了",
        "想从楼上跳下去，跳楼算了",
        "今晚是最后一晚",
        # indirect, Traditional, Cantonese, English, with spaces and emoji
        "我不想再活了",
        "我好想去死😭",
        "活著真沒意思",
        "我唔想再活落去",
        "现在站在天台上",
        "I want to end my life",
        "I wanna die",
        "想 die",
        "人死了是不是就不用还了",
        "我的命就值这点钱",
        "以后再也不会麻烦你们了",
        "再见了，老婆孩子",
    ],
)
def test_crisis_language_is_caught(text: str) -> None:
    assert crisis_phrase(text) is not None


@pytest.mark.parametrize(
    "text",
    [
        "这是最后一期了",
        "今天是还款最后一天",
        "我想死磕到底把钱还清吗",
        "你们催得我快烦死了",
        "要死了这么多钱",
        "放心，我不会想不开的",
        "我不會做傻事，只是想分期",
        "车子跳楼价卖了",
        "一次性还清，一了百了",
        "今晚是最后一晚值夜班",
        "小店快活不下去了，生意太差",
        "新闻说有人被催收逼得跳楼，你们不怕吗",
        "我在天台收衣服，晚点说",
        "这么高的利息是想逼死人吗",
        "你哋日日打嚟，頂唔順",
        "我是张伟老婆，他欠你们多少钱",
        "lost my job 😩",
        "1 kid",
        "this interest is killing me",
        "can I spend it next month",
        "我爸不在了，家里就靠我",
    ],
)
def test_ordinary_debt_talk_is_not_a_crisis(text: str) -> None:
    assert crisis_phrase(text) is None


@pytest.mark.parametrize(
    "text",
    [
        "我不会想不开的，但是真的不想活了",
        "车子跳楼价卖了也还不上，不如跳楼算了",
        "一次性还清，一了百了，然后我就去死",
        "我在天台收衣服，想跳下去",
        "听说有人欠债自杀，我也想自杀",
    ],
)
def test_a_harmless_reading_never_hides_a_real_one(text: str) -> None:
    assert crisis_phrase(text) is not None


def test_every_regular_expression_in_the_phrase_file_compiles() -> None:
    for line in PHRASES_PATH.read_text(encoding="utf-8").splitlines():
        entry = line.strip().removeprefix("!")
        if entry.startswith(REGEX_PREFIX):
            re.compile(entry[len(REGEX_PREFIX) :])  # raises on a typo


def test_the_guard_overrides_the_classifier_and_keeps_its_ranking() -> None:
    message = Message(
        data={
            TEXT: "今晚就是我的最后一晚了",
            INTENT: {"name": "promise_to_pay", "confidence": 0.68},
            INTENT_RANKING_KEY: [{"name": "promise_to_pay", "confidence": 0.68}],
        }
    )
    (processed,) = CrisisGuard().process([message])
    assert processed.get(INTENT) == {"name": "express_distress", "confidence": 1.0}
    assert [r["name"] for r in processed.get(INTENT_RANKING_KEY)] == [
        "express_distress",
        "promise_to_pay",
    ]


def test_the_guard_leaves_ordinary_messages_to_the_classifier() -> None:
    intent = {"name": "inform", "confidence": 0.91}
    message = Message(data={TEXT: "我是他老婆，他欠了多少", INTENT: intent})
    (processed,) = CrisisGuard().process([message])
    assert processed.get(INTENT) == intent


def test_the_classifiers_distress_on_a_harmless_reading_gives_way_to_its_next_guess() -> None:
    from rasa.shared.nlu.training_data.message import Message

    from bot.nlu.crisis_guard import CrisisGuard

    def parsed(text: str) -> Message:
        ranking = [
            {"name": "express_distress", "confidence": 0.9},
            {"name": "request_installment", "confidence": 0.08},
        ]
        return Message(data={"text": text, "intent": dict(ranking[0]), "intent_ranking": ranking})

    guard = CrisisGuard()
    harmless, crisis, unclear = (
        parsed("我不会做傻事的，就是想问问怎么还"),
        parsed("我不想活了，别再打了"),
        parsed("这辈子都还不完了吧"),
    )
    guard.process([harmless, crisis, unclear])
    assert harmless.get("intent")["name"] == "request_installment"
    assert [r["name"] for r in harmless.get("intent_ranking")] == ["request_installment"]
    assert crisis.get("intent")["name"] == "express_distress"  # a crisis phrase: never demoted
    assert unclear.get("intent")["name"] == "express_distress"  # no harmless reading: kept
