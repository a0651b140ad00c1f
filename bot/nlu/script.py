"""Simplified / Traditional Chinese conversion and detection.

The NLU works on Simplified text, while replies go back in the script the cardholder writes.
Conversion runs on every message and every reply, so converters are built once and texts
that need no conversion take a fast path.
"""

from __future__ import annotations

import logging
import os
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Literal

from opencc import OpenCC

logger = logging.getLogger(__name__)

Script = Literal["traditional", "simplified"]
# Which Traditional readers: Hong Kong (OpenCC s2hk) or Taiwan / general Traditional (s2tw).
Variant = Literal["hk", "tw"]

# s2t writes the historical standard forms (覈實, 喫飯, 纔, 爲) that no Taiwan or Hong Kong reader
# uses; s2tw writes 核實/吃飯/才/為/裡/著 and changes nothing else. Of the 146 reply texts of
# domain.yml, s2t -> s2tw changes 61 (all in such forms); s2twp would also swap vocabulary
# (信息->資訊, 通過->透過, 在線->線上) and garbles some phrases (信息安全 -> 資訊保安,
# 綁定借記卡 -> 繫結簽帳金融卡), so it is not the default.
DEFAULT_VARIANT = "s2tw"
VARIANT_CONFIGS: dict[str, str] = {"hk": "s2hk", "tw": "s2tw"}
VARIANT_ENV = "TRADITIONAL_VARIANT"
# Short names accepted in TRADITIONAL_VARIANT besides OpenCC's own config names.
_VARIANT_ALIASES = {
    "t": "s2t",
    "tw": "s2tw",
    "twp": "s2twp",
    "hk": "s2hk",
    "s2t": "s2t",
    "s2tw": "s2tw",
    "s2twp": "s2twp",
    "s2hk": "s2hk",
}


def _opencc_dictionary_dir() -> Path:
    import opencc

    return Path(opencc.__file__).resolve().parent / "dictionary"


@cache
def _converter(config: str) -> OpenCC:
    """One OpenCC instance per config; building one reads its dictionaries."""
    return OpenCC(config)


def _read_character_table(name: str) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    with open(_opencc_dictionary_dir() / name, encoding="utf-8") as handle:
        for line in handle:
            key, _, values = line.rstrip("\n").partition("\t")
            if len(key) == 1 and values:
                table[key] = tuple(values.split(" "))
    return table


@lru_cache(maxsize=1)
def _t2s_characters() -> dict[str, str]:
    """Traditional character -> its first Simplified form (only characters that change)."""
    table = _read_character_table("TSCharacters.txt")
    return {char: forms[0] for char, forms in table.items() if forms[0] != char}


@lru_cache(maxsize=1)
def _t2s_triggers() -> frozenset[str]:
    """Characters whose presence means t2s may change the text.

    Besides the character table, some phrases convert characters the table keeps
    (回覆 -> 回复, 藉口 -> 借口), so those characters count too.
    """
    triggers = set(_t2s_characters())
    with open(_opencc_dictionary_dir() / "TSPhrases.txt", encoding="utf-8") as handle:
        for line in handle:
            key, _, values = line.rstrip("\n").partition("\t")
            value = values.split(" ")[0]
            if len(value) == len(key):
                triggers.update(k for k, v in zip(key, value, strict=True) if k != v)
    return frozenset(triggers)


@lru_cache(maxsize=1)
def _indicator_sets() -> tuple[frozenset[str], frozenset[str]]:
    """Characters that only occur in one script.

    A character is an indicator when converting it always changes it; characters such as
    后/里/干 are valid in both scripts (OpenCC lists the character itself as a candidate) and
    tell nothing.
    """
    ts = _read_character_table("TSCharacters.txt")
    st = _read_character_table("STCharacters.txt")
    traditional = {c for c, forms in ts.items() if c not in forms and c not in st}
    simplified = {c for c, forms in st.items() if c not in forms and c not in ts}
    return frozenset(traditional), frozenset(simplified)


def _char_by_char(text: str) -> str:
    table = _t2s_characters()
    return "".join(table.get(char, char) for char in text)


@lru_cache(maxsize=4096)
def _to_simplified_cached(text: str) -> str:
    converted = _converter("t2s").convert(text)
    if len(converted) != len(text):
        # Entity offsets are shared between the original and converted text, so the
        # conversion must keep every character in place.
        return _char_by_char(text)
    # a few of OpenCC's mappings lead to a character that maps again (薴 -> 苧 -> 苎, found
    # by the property test): convert until nothing changes, so the result is a fixed point
    for _ in range(3):
        again = _converter("t2s").convert(converted)
        if again == converted or len(again) != len(converted):
            break
        converted = again
    return converted


def to_simplified(text: str) -> str:
    """Return ``text`` in Simplified Chinese with the same length (offsets stay valid)."""
    if not text:
        return text
    triggers = _t2s_triggers()
    if not any(char in triggers for char in text):
        return text
    if len(text) > 512:
        # Long texts are rare and not worth caching.
        return _to_simplified_cached.__wrapped__(text)
    return _to_simplified_cached(text)


def traditional_variant() -> str:
    """OpenCC config for replies whose reader variant is unknown, from ``TRADITIONAL_VARIANT``
    (s2tw by default; s2t, s2twp, s2hk)."""
    raw = os.environ.get(VARIANT_ENV, "").strip().lower()
    if not raw:
        return DEFAULT_VARIANT
    variant = _VARIANT_ALIASES.get(raw)
    if variant is None:
        logger.warning("Unknown %s=%r; using %s.", VARIANT_ENV, raw, DEFAULT_VARIANT)
        return DEFAULT_VARIANT
    return variant


@lru_cache(maxsize=4096)
def _to_traditional_cached(text: str, variant: str) -> str:
    return _converter(variant).convert(text)


def to_traditional(text: str, variant: str | None = None) -> str:
    """Return ``text`` in Traditional Chinese (``variant``: hk, tw or an OpenCC config; the
    env's unless given)."""
    if not text:
        return text
    chosen = _VARIANT_ALIASES.get(variant.lower(), variant) if variant else None
    return _to_traditional_cached(text, chosen or traditional_variant())


def detect_script(text: str) -> Script | None:
    """Tell which script ``text`` is written in, or None when no character tells.

    Counts characters that exist in only one script; a tie (or none) is undecided.
    """
    if not text:
        return None
    traditional, simplified = _indicator_sets()
    trad_count = sum(1 for char in text if char in traditional)
    simp_count = sum(1 for char in text if char in simplified)
    if trad_count > simp_count:
        return "traditional"
    if simp_count > trad_count:
        return "simplified"
    return None


# Written Cantonese: characters standard written Chinese does not use (係 only outside
# 關係/聯係, 唔 only before another character: "唔，" is a mere "hmm").
_CANTONESE = re.compile(
    r"[冇嘅咗佢啲喺乜嘢哋嚟睇嗰咩啱畀攞揾搵嘥]|唔[\u4e00-\u9fff]|(?<![關关聯联連连維维])係"
)
_HONG_KONG_PLACE = re.compile(r"香港|港幣|港币|港元")
_TAIWAN_PLACE = re.compile(r"台灣|臺灣|台湾|台幣|台币|臺幣")


def is_cantonese(text: str) -> bool:
    """True when ``text`` has written-Cantonese wording (冇, 唔知, 嘅, 咗, 佢, 係 …)."""
    return bool(text) and _CANTONESE.search(text) is not None


def detect_variant(text: str) -> Variant | None:
    """Which Traditional readers wrote ``text``: "hk" for Cantonese wording or a Hong Kong
    mention, "tw" for a Taiwan mention, None when nothing tells (plain Traditional text is read
    as general Traditional, i.e. s2tw). Text in Simplified is never "hk": Cantonese speakers in
    Guangdong write Simplified and read mainland forms."""
    if not text or detect_script(text) == "simplified":
        return None
    if _HONG_KONG_PLACE.search(text) or is_cantonese(text):
        return "hk"
    if _TAIWAN_PLACE.search(text):
        return "tw"
    return None


def variant_config(variant: str | None) -> str:
    """OpenCC config for a reader variant (hk -> s2hk, tw -> s2tw; unknown -> the env's)."""
    return VARIANT_CONFIGS.get(variant or "", traditional_variant())
