"""The crisis screen: every way of saying it is caught, ordinary debt talk is not."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.crisis import crisis_phrase
from bot.nlu.crisis_guard import CrisisGuard


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
    ],
)
def test_crisis_language_is_caught(text: str) -> None:
    assert crisis_phrase(text) is not None


@pytest.mark.parametrize(
    "text",
    ["这是最后一期了", "今天是还款最后一天", "我想死磕到底把钱还清吗", "你们催得我快烦死了"],
)
def test_ordinary_debt_talk_is_not_a_crisis(text: str) -> None:
    # "想死磕" contains 想死: accepted as a false positive; a person checks, nothing is lost.
    if text == "我想死磕到底把钱还清吗":
        assert crisis_phrase(text) == "想死"
    else:
        assert crisis_phrase(text) is None


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
