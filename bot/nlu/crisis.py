"""A high-recall screen for crisis language, applied on top of the intent classifier.

A statistical classifier will sometimes miss an unusual way of saying "I want to die"; a missed
crisis is the one error this product must not make. The phrase list is kept in
``data/crisis_phrases.txt`` so a bank's crisis team can extend it without touching code.
Phrases are matched on the Simplified text; a few that are harmless in debt talk ("最后一期") are
excluded by not listing them, so keep entries specific.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

PHRASES_PATH = Path(__file__).resolve().parent / "data" / "crisis_phrases.txt"


@lru_cache(maxsize=1)
def _pattern() -> re.Pattern[str]:
    phrases = [
        line.strip()
        for line in PHRASES_PATH.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    return re.compile("|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True)))


def crisis_phrase(simplified_text: str) -> str | None:
    """The first crisis phrase in the text, or None."""
    match = _pattern().search(re.sub(r"\s+", "", simplified_text))
    return match.group() if match else None
