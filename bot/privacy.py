"""Masking personal data in logs: card and ID digits, phone numbers, long digit runs."""

from __future__ import annotations

import logging
import re

_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9]{4,}[0-9Xx]?(?![0-9])")
_ID_TAIL = re.compile(r"(?<![0-9A-Za-z])[0-9]{3}[Xx](?![0-9A-Za-z])")


def mask(text: str) -> str:
    """Replace runs of four or more digits (and ID tails like 567X) with asterisks."""
    masked = _DIGIT_RUN.sub(lambda m: "*" * len(m.group()), text)
    return _ID_TAIL.sub("****", masked)


class MaskingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.msg = record.getMessage()
            record.args = ()
        record.msg = mask(str(record.msg))
        return True


def install_log_masking() -> None:
    """Attach the filter to every root handler (idempotent), so all loggers are covered."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(level=logging.INFO)
    for handler in root.handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
