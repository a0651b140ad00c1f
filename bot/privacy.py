"""Masking personal data: in logs (card and ID digits, phone numbers, long digit runs) and in
what the tracker store keeps of identity answers (bot.tracker_store).

Full-width digits (６２１７) count as digits: they are folded to ASCII before matching.
"""

from __future__ import annotations

import logging
import re
import unicodedata

_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{4,}[0-9Xx]?(?![0-9])")
_ID_TAIL = re.compile(r"(?<![0-9A-Za-z])[0-9]{3}[Xx](?![0-9A-Za-z])")
# a group a cardholder gives as card or ID last-4: four digits, or three and an X
_IDENTITY_GROUP = re.compile(r"(?<![0-9A-Za-z])[0-9]{3}[0-9Xx](?![0-9A-Za-z])")
# words that say a message carries identity digits, in Simplified and Traditional
_IDENTITY_WORDS = re.compile(r"卡号|卡號|尾号|尾號|后四位|後四位|身份证|身份證|证件|證件")
MASK = "****"


def _fold(text: str) -> str:
    """Full-width digits and letters to ASCII (NFKC); punctuation and everything else as it
    was."""
    return "".join(
        unicodedata.normalize("NFKC", ch) if ch.isalnum() and "\uff10" <= ch <= "\uff5a" else ch
        for ch in text
    )


def mask(text: str) -> str:
    """Replace runs of four or more digits (and ID tails like 567X) with asterisks."""
    masked = _DIGIT_RUN.sub(lambda m: "*" * len(m.group()), _fold(text))
    return _ID_TAIL.sub(MASK, masked)


# What a log line carries that is not a person's digits, kept as it is: timestamps (with a
# zone offset), host:port and file:line, a traceback's "line N", sanic's process id.
_LOG_FIELDS = (
    r"(?<![0-9])[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[ T][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]+)?)?"
    r"(?: ?[+-][0-9]{4})?)?(?![0-9])"
    r"|(?:localhost|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|\[[0-9a-fA-F:]*\]|[\w-]+\.(?:py|pyx|js)):[0-9]{1,5}"
    r"(?![0-9])"
    r"|\bline [0-9]+"
    r"|(?<=\] \[)[0-9]{1,7}(?=\])|(?<=worker \[)[0-9]{1,7}(?=\])"  # sanic's [pid]
)
_LOG_TEXT = re.compile(f"(?P<kept>{_LOG_FIELDS})|{_DIGIT_RUN.pattern}")


def mask_log_text(text: str) -> str:
    """``mask`` for a log line: the same digits masked, but a line's own timestamps, ports,
    file:line and process ids kept (masking them made the servers' logs unreadable: every
    date, port and traceback line number came out as ****)."""
    folded = _fold(text)
    masked = _LOG_TEXT.sub(lambda m: m.group() if m.group("kept") else "*" * len(m.group()), folded)
    return _ID_TAIL.sub(MASK, masked)


def mentions_identity(text: str) -> bool:
    return bool(_IDENTITY_WORDS.search(text or ""))


def mask_identity_digits(text: str) -> str:
    """An identity answer without its digits ("卡号6217，身份证1234" → "卡号****，身份证****")."""
    return _IDENTITY_GROUP.sub(MASK, _fold(text or ""))


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = ()
        record.msg = mask_log_text(str(record.msg))
        return True


def install_log_masking() -> None:
    """Mask every log record of this process as it is made (idempotent): handlers that a
    library adds later (Rasa and sanic configure their own) are covered too."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "_masks", False):
        return

    def masked_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        try:
            record.msg, record.args = mask_log_text(record.getMessage()), ()
        except Exception:  # noqa: BLE001 - a broken format string is logged as it was
            pass
        return record

    masked_record._masks = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(masked_record)
