"""Script conversion and detection (bot.nlu.script)."""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.nlu import script
from bot.nlu.script import (
    detect_script,
    detect_variant,
    is_cantonese,
    to_simplified,
    to_traditional,
    traditional_variant,
    variant_config,
)

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


def test_to_traditional_default_is_opencc_s2tw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADITIONAL_VARIANT", raising=False)
    assert traditional_variant() == "s2tw"
    assert to_traditional("我们可以为您办理分期") == "我們可以為您辦理分期"


@pytest.mark.parametrize(
    ("env", "variant", "expected"),
    [
        ("s2t", "s2t", "我們可以爲您辦理分期"),
        ("tw", "s2tw", "我們可以為您辦理分期"),
        ("s2hk", "s2hk", "我們可以為您辦理分期"),
        ("HK", "s2hk", "我們可以為您辦理分期"),
        ("bogus", "s2tw", "我們可以為您辦理分期"),
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


# --- the forms Taiwan and Hong Kong readers use ---------------------------------------------


@pytest.fixture
def default_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRADITIONAL_VARIANT", raising=False)


@pytest.mark.usefixtures("default_env")
@pytest.mark.parametrize("variant", [None, "tw", "hk"])
@pytest.mark.parametrize(
    ("simplified", "reader_form", "historical_form"),
    [
        ("请先核实一下身份", "核實", "覈實"),
        ("吃饭、房租都要钱", "吃飯", "喫飯"),
        ("核实以后才可以看到", "才", "纔"),
        ("我已经为您登记", "為您", "爲您"),
        ("您刚才说的内容没有丢失", "剛才", "剛纔"),
        ("专员会复核", "複核", "複覈"),
    ],
)
def test_traditional_replies_use_the_forms_readers_write(
    variant: str | None, simplified: str, reader_form: str, historical_form: str
) -> None:
    converted = to_traditional(simplified, variant_config(variant))
    assert reader_form in converted and historical_form not in converted


def test_every_domain_reply_is_free_of_historical_forms(default_env: None) -> None:
    import yaml

    from bot.settings import PROJECT_ROOT

    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    texts = [v["text"] for vs in domain["responses"].values() for v in vs if v.get("text")]
    assert len(texts) > 100
    for variant in ("tw", "hk"):
        converted = "".join(to_traditional(text, variant_config(variant)) for text in texts)
        for form in "覈喫纔爲":
            assert form not in converted, (variant, form)


@pytest.mark.usefixtures("default_env")
@pytest.mark.parametrize(
    ("simplified", "hong_kong", "taiwan"),
    [
        ("您也可以说“转人工”", "説", "說"),
        ("账户信息", "賬户", "賬戶"),
        ("别着急，我在这里", "着急", "著急"),
        ("这里", "這裏", "這裡"),
    ],
)
def test_hong_kong_and_taiwan_forms_differ(simplified: str, hong_kong: str, taiwan: str) -> None:
    assert hong_kong in to_traditional(simplified, variant_config("hk"))
    assert taiwan in to_traditional(simplified, variant_config("tw"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("我冇錢還啊", "hk"),
        ("唔知點算好", "hk"),
        ("佢哋成日打電話嚟", "hk"),
        ("我係咪要坐監", "hk"),
        ("我喺香港返工", "hk"),
        ("份工冇咗", "hk"),
        ("我在香港", "hk"),
        ("我住在臺灣", "tw"),
        ("台灣的法律怎樣", "tw"),
        ("我想辦理分期", None),  # plain Traditional: general (tw) forms
        ("沒關係，我想辦分期", None),  # 係 in 關係 is standard written Chinese
        ("唔，我想想", None),  # a mere "hmm"
        ("我冇钱还", None),  # Simplified (Guangdong): mainland readers
        ("", None),
    ],
)
def test_detect_variant(text: str, expected: str | None) -> None:
    assert detect_variant(text) == expected


def test_is_cantonese() -> None:
    assert is_cantonese("七千幾蚊，唔夠還")
    assert not is_cantonese("沒關係，聯係我")
    assert not is_cantonese("")


def test_variant_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRADITIONAL_VARIANT", "s2t")
    assert variant_config("hk") == "s2hk"
    assert variant_config("tw") == "s2tw"
    assert variant_config(None) == "s2t"  # unknown readers: the bank's setting
    assert variant_config("simplified") == "s2t"


def test_localised_replies_follow_the_reader_variant(default_env: None) -> None:
    from bot.nlg import localise_message

    message = {
        "text": "请说“转人工”，我先核实身份",
        "buttons": [{"title": "转人工", "payload": "/x"}],
    }
    hong_kong = localise_message(message, "traditional", "hk")
    assert hong_kong["text"] == "請説“轉人工”，我先核實身份"
    taiwan = localise_message(message, "traditional", "tw")
    assert taiwan["text"] == "請說“轉人工”，我先核實身份"
    assert localise_message(message, "traditional")["text"] == taiwan["text"]
    assert hong_kong["buttons"] == [{"title": "轉人工", "payload": "/x"}]
    assert localise_message(message, "simplified", "hk") is message


def test_a_character_that_converts_twice_ends_at_its_fixed_point() -> None:
    """薴 -> 苧 -> 苎 in OpenCC's tables: the example hypothesis found."""
    assert to_simplified("薴") == to_simplified(to_simplified("薴")) == "苎"
