"""Crisis replies through the real NLG: Hong Kong and Taiwan readers get their own hotlines first
(docs/regulation.md), in their own Traditional forms; mainland readers keep 12356."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlg import ScriptAwareNLG, reader_variant
from bot.settings import PROJECT_ROOT

HONG_KONG = ("18111", "2389 2222", "2896 0000", "999")
TAIWAN = ("1925", "1995", "1980", "119")
CRISIS_REPLIES = ("utter_crisis_support", "utter_crisis_followup")


@pytest.fixture(scope="module")
def domain() -> Domain:
    return Domain.load(str(PROJECT_ROOT / "domain.yml"))


@pytest.fixture(autouse=True)
def default_variant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADITIONAL_VARIANT", raising=False)


def tracker(domain: Domain, text: str, **slots: Any) -> DialogueStateTracker:
    events: list[Event] = [ActionExecuted("action_listen"), UserUttered(text)]
    events += [SlotSet(name, value) for name, value in slots.items()]
    return DialogueStateTracker.from_events("crisis-test", events, slots=domain.slots)


def reply(domain: Domain, name: str, conversation: DialogueStateTracker) -> str:
    message = asyncio.run(ScriptAwareNLG(domain=domain).generate(name, conversation, "rest"))
    assert message is not None
    return message["text"]


@pytest.mark.parametrize("name", CRISIS_REPLIES)
def test_hong_kong_readers_get_hong_kong_hotlines_first(domain: Domain, name: str) -> None:
    conversation = tracker(domain, "我真係頂唔順", script="traditional", script_variant="hk")
    text = reply(domain, name, conversation)
    for number in HONG_KONG:
        assert number in text
    assert text.index("18111") < text.index("12356")  # the mainland line comes after
    assert "情緒通" in text and "撒瑪利亞" in text
    assert "説" in text and "說" not in text  # Hong Kong forms (s2hk)
    assert not any(number in text for number in ("1925", "1995", "1980"))


@pytest.mark.parametrize("name", CRISIS_REPLIES)
def test_taiwan_readers_get_taiwan_hotlines_first(domain: Domain, name: str) -> None:
    conversation = tracker(domain, "我真的撐不下去了", script="traditional", script_variant="tw")
    text = reply(domain, name, conversation)
    for number in TAIWAN:
        assert number in text
    assert text.index("1925") < text.index("12356")
    assert "安心專線" in text and "張老師" in text
    assert "說" in text and "説" not in text  # Taiwan forms (s2tw)
    assert "18111" not in text


@pytest.mark.parametrize("name", CRISIS_REPLIES)
def test_mainland_readers_keep_12356(domain: Domain, name: str) -> None:
    conversation = tracker(domain, "我真的撑不下去了", script="simplified")
    text = reply(domain, name, conversation)
    assert "12356" in text and "110" in text and "120" in text
    assert not any(number in text for number in ("18111", "1925", "999"))


def test_a_stale_hong_kong_slot_does_not_change_a_simplified_reply(domain: Domain) -> None:
    conversation = tracker(domain, "我冇钱", script="simplified", script_variant="hk")
    assert "18111" not in reply(domain, "utter_crisis_support", conversation)


def test_the_variant_is_read_from_the_messages_while_the_slot_is_unset(domain: Domain) -> None:
    cantonese = tracker(domain, "我唔想再活落去", script="traditional")
    assert reader_variant(cantonese) == "hk"
    assert "18111" in reply(domain, "utter_crisis_support", cantonese)
    plain = tracker(domain, "我真的撐不下去了", script="traditional")
    assert reader_variant(plain) == "tw"
    assert "1925" in reply(domain, "utter_crisis_support", plain)


def test_reader_variant_reads_rasa_sdk_event_dicts() -> None:
    class SdkTracker:
        events = [{"event": "user", "text": "佢哋成日打嚟"}, {"event": "bot", "text": "好"}]

        def get_slot(self, key: str) -> Any:
            return {"script": "traditional"}.get(key)

    assert reader_variant(SdkTracker()) == "hk"


def test_traditional_topic_answers_use_reader_forms_and_the_card_number(domain: Domain) -> None:
    conversation = tracker(domain, "你們是不是騙子", script="traditional")
    text = reply(domain, "utter_topic_official_number", conversation)
    assert "信用卡背面" in text and "{bank_hotline}" not in text
    assert "核實" in text and "覈" not in text
