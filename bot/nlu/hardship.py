"""Map what a cardholder says about their hardship to a canonical hardship_reason.

The phrases live in ``data/hardship_reasons.yml`` so the bank can extend them without code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from bot.contract import HARDSHIP_REASONS
from bot.nlu.numerals import normalise

DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "hardship_reasons.yml"
TABLE_ENV = "HARDSHIP_REASONS_FILE"


@dataclass(frozen=True)
class ReasonTable:
    """Phrases per reason plus the family-member rule, all in Simplified lower case."""

    phrases: tuple[tuple[str, str], ...]  # (phrase, reason), longest first
    members: tuple[str, ...]
    member_reasons: frozenset[str]
    window: int


@dataclass(frozen=True)
class ReasonMatch:
    """A canonical reason and the span of the phrase that named it."""

    reason: str
    start: int
    end: int


def _clean(phrase: object) -> str:
    return normalise(str(phrase)).strip().lower()


@lru_cache(maxsize=4)
def load_table(path: str | None = None) -> ReasonTable:
    """Read the keyword table (``HARDSHIP_REASONS_FILE`` overrides the bundled one)."""
    source = Path(path or os.environ.get(TABLE_ENV) or DEFAULT_TABLE)
    with open(source, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    phrases: dict[str, str] = {}
    for reason, items in (data.get("reasons") or {}).items():
        if reason not in HARDSHIP_REASONS:
            raise ValueError(f"{source}: unknown hardship reason {reason!r}")
        for item in items or []:
            phrase = _clean(item)
            if phrase:
                phrases.setdefault(phrase, reason)
    rule = data.get("family_emergency_rule") or {}
    ordered = tuple(sorted(phrases.items(), key=lambda item: -len(item[0])))
    return ReasonTable(
        phrases=ordered,
        members=tuple(_clean(m) for m in rule.get("members") or [] if _clean(m)),
        member_reasons=frozenset(rule.get("reasons") or []),
        window=int(rule.get("window", 4)),
    )


def find_hardship_reason(text: str) -> ReasonMatch | None:
    """Longest known phrase in ``text`` (earliest on ties) with its canonical reason."""
    if not text:
        return None
    table = load_table()
    lowered = normalise(text).lower()
    best: ReasonMatch | None = None
    for phrase, reason in table.phrases:
        if best is not None and len(phrase) < best.end - best.start:
            break
        position = lowered.find(phrase)
        if position < 0:
            continue
        if best is None or position < best.start:
            best = ReasonMatch(reason, position, position + len(phrase))
    if best is None:
        return None
    if best.reason in table.member_reasons:
        before = lowered[max(0, best.start - table.window) : best.start]
        if any(member in before for member in table.members):
            return ReasonMatch("family_emergency", best.start, best.end)
    return best


def classify_hardship_reason(text: str) -> str | None:
    """Canonical reason for a phrase (被裁员 -> unemployment); canonical values pass."""
    if not text:
        return None
    stripped = str(text).strip()
    if stripped.lower() in HARDSHIP_REASONS:
        return stripped.lower()
    found = find_hardship_reason(stripped)
    return found.reason if found else None
