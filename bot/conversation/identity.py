"""Reading the two identity secrets from what a cardholder types.

Card last-4 is four digits; ID last-4 is three digits and a digit or X. One message may carry
both ("卡号6217，身份证1234"), in half- or full-width characters.
"""

from __future__ import annotations

import re
import unicodedata

VERIFIED_MARK = "verified"
# the card slot's value once the card was given: its digits wait on the server (bot.identity)
CARD_GIVEN = "given"

_GROUP = re.compile(r"(?<![0-9A-Za-z])([0-9]{3}[0-9Xx])(?![0-9A-Za-z])")


def _groups(text: str) -> list[str]:
    normalised = unicodedata.normalize("NFKC", text or "")
    return [group.upper() for group in _GROUP.findall(normalised)]


def read_card_and_id(text: str) -> tuple[str | None, str | None]:
    """(card_last4, id_last4) found in the text; either may be None."""
    groups = _groups(text)
    card = groups[0] if groups and groups[0].isdigit() else None
    ident = groups[1] if card and len(groups) > 1 else None
    return card, ident


def read_id_last4(text: str) -> str | None:
    groups = _groups(text)
    return groups[0] if groups else None


_CARD_WORDS = ("卡", "尾号")
_ID_WORDS = ("身份证", "证件", "身份")


def names_both_secrets(text: str) -> bool:
    """A message that gives card and ID last-4 by name, not just any two numbers ("3000元")."""
    card, ident = read_card_and_id(text)
    if card is None or ident is None:
        return False
    normalised = unicodedata.normalize("NFKC", text)
    return any(w in normalised for w in _CARD_WORDS) and any(w in normalised for w in _ID_WORDS)
