"""Script conversion and detection (bot.nlu.script)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu import script
from bot.nlu.script import detect_script, to_simplified, to_traditional, traditional_variant

# CJK unified ideographs plus digits, punctuation and emoji, as cardholders type them.
cjk_text = st.text(
    alphabet=st.one_of(
        st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),
        st.sampled_from(list("0123456789０１２，。！？ ab😀\n")),
    ),
    max_size=60,
)


@pytest.mark.parametrize(
    ("traditional", "simplified"),
    [
        ("我想辦理個性化分期", "我想办理个性化分期"),
        ("下個月5號還三千五塊", "下个月5号还三千五块"),
        ("會不會上徵信", "会不会上征信"),
        ("停息掛賬", "停息挂账"),
        ("請回覆我", "请回复我"),  # phrase-level conversion (覆 stays 覆 character-wise)
        ("謝謝你們", "谢谢你们"),
    ],
)
def test_to_simplified_converts_traditional(traditional: str, simplified: str) -> None:
    assert to_simplified(traditional) == simplified


@pytest.mark.parametrize("text", ["", "6217", "我想还钱", "OK 好的 😀", "后天还", "干嘛"])
def test_to_simplified_leaves_simplified_text_alone(text: str) -> None:
    assert to_simplified(text) == text


@given(cjk_text)
@settings(max_examples=300, deadline=None)
def test_to_simplified_keeps_length_and_is_idempotent(text: str) -> None:
    simplified = to_simplified(text)
    assert len(simplified) == len(text)  # entity offsets stay valid
    assert to_simplified(simplified) == simplified


def test_to_simplified_falls_back_to_characters_when_length_would_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Widening:
        def convert(self, text: str) -> str:
            return text + "!"

    monkeypatch.setattr(script, "_converter", lambda config: Widening())
    script._to_simplified_cached.cache_clear()
    try:
        assert to_simplified("還錢給銀行") == "还钱给银行"
    finally:
        script._to_simplified_cached.cache_clear()


def test_to_traditional_default_is_opencc_s2t(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADITIONAL_VARIANT", raising=False)
    assert traditional_variant() == "s2t"
    assert to_traditional("我们可以为您办理分期") == "我們可以爲您辦理分期"


@pytest.mark.parametrize(
    ("env", "variant", "expected"),
    [
        ("s2tw", "s2tw", "我們可以為您辦理分期"),
        ("tw", "s2tw", "我們可以為您辦理分期"),
        ("s2hk", "s2hk", "我們可以為您辦理分期"),
        ("HK", "s2hk", "我們可以為您辦理分期"),
        ("bogus", "s2t", "我們可以爲您辦理分期"),
    ],
)
def test_traditional_variant_from_env(
    monkeypatch: pytest.MonkeyPatch, env: str, variant: str, expected: str
) -> None:
    monkeypatch.setenv("TRADITIONAL_VARIANT", env)
    assert traditional_variant() == variant
    assert to_traditional("我们可以为您办理分期") == expected


def test_to_traditional_explicit_variant_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADITIONAL_VARIANT", "s2t")
    assert to_traditional("为什么", variant="tw") == "為什麼"
    assert to_traditional("") == ""


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我想辦理分期", "traditional"),
        ("我想办理分期", "simplified"),
        ("下週五還錢", "traditional"),
        ("下周五还钱", "simplified"),
        ("謝謝", "traditional"),
        ("号", "simplified"),
        ("號", "traditional"),
        ("6217", None),
        ("好", None),
        ("好的", None),
        ("后天", None),  # 后 is valid in both scripts
        ("OK 👍", None),
        ("", None),
        ("我們还", None),  # one of each: undecided
        ("我們還钱", "traditional"),
    ],
)
def test_detect_script(text: str, expected: str | None) -> None:
    assert detect_script(text) == expected


@given(cjk_text)
@settings(max_examples=200, deadline=None)
def test_detected_script_survives_round_trips(text: str) -> None:
    simplified = to_simplified(text)
    assert detect_script(simplified) in ("simplified", None)
    if detect_script(simplified) == "simplified":
        assert detect_script(to_traditional(simplified)) in ("traditional", None)


def test_conversion_is_fast_enough_for_every_message() -> None:
    sentence = "我想辦理個性化分期，下個月5號還三千五塊，可以嗎？"
    to_simplified(sentence)  # warm the converter
    started = time.perf_counter()
    for index in range(2000):
        to_simplified(f"{sentence}{index}")
        detect_script(sentence)
    assert time.perf_counter() - started < 2.0
