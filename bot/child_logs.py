"""A server's output into its log file: masked, without the libraries' deprecation notices.

Every process masks its own log records (bot/privacy.py), but not what reaches its stderr
without the logging module: a traceback's text, a library's print, a warning. The launcher reads
each child's output through here, so a log file never holds identity digits, whatever a library
does.

What the libraries say about their own future (pkg_resources, pyparsing, distutils, SQLAlchemy
2.0) was 40 of the 58 lines the three logs had after a start, and cannot be silenced at the
source: sanic's import puts ``filterwarnings("once", DeprecationWarning)`` in front of any
PYTHONWARNINGS. So those warnings are dropped here, by the shape Python prints them in
(``file:line: Category: message`` and the source line under it); every other warning stays.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from bot.privacy import mask_log_text

_COLOUR = r"(?:\x1b\[[0-9;]*m)*"
# Python's warning line: "path.py:123: SomeWarning: message"
_WARNING = re.compile(_COLOUR + r"\S+:[0-9]+: (?P<category>\w+): (?P<message>.*)")
_NOISE_CATEGORIES = re.compile(r"\w*DeprecationWarning|FutureWarning")
# Rasa's advice for a setting config.yml chose on purpose (TED with cross-entropy, as trained)
_NOISE_MESSAGES = re.compile(r"constrain_similarities is set to `False`")
# a line that starts a new record: a timestamp (after a colour reset) or another warning
_RECORD_START = re.compile(_COLOUR + r"\[?[0-9]{4}-[0-9]{2}-[0-9]{2}")
MAX_WARNING_LINES = 6  # a notice's message lines and its source line; never more is dropped


def is_noise(line: str) -> bool:
    match = _WARNING.match(line)
    return bool(match) and bool(
        _NOISE_CATEGORIES.fullmatch(match["category"]) or _NOISE_MESSAGES.match(match["message"])
    )


def without_noise(lines: Iterable[str]) -> Iterator[str]:
    """The lines without the noisy warnings: each one's first line, the lines of its message
    and the indented source line Python prints under it."""
    skipping = 0  # lines of a dropped warning still to come, at most
    for line in lines:
        if is_noise(line):
            skipping = MAX_WARNING_LINES
            continue
        if skipping:
            if _RECORD_START.match(line) or _WARNING.match(line):
                skipping = 0
            else:
                skipping -= 1
                if line.startswith("  "):  # the source line ends the warning
                    skipping = 0
                continue
        yield line


def pump(source: IO[bytes], path: Path) -> threading.Thread:
    """Copy ``source`` line by line into ``path`` (appended), masked, until it ends."""

    def lines() -> Iterator[str]:
        for raw in iter(source.readline, b""):
            yield raw.decode("utf-8", errors="replace")

    def run() -> None:
        with source, open(path, "ab") as log:
            for line in without_noise(lines()):
                log.write(mask_log_text(line).encode("utf-8"))
                log.flush()

    thread = threading.Thread(target=run, name=f"log-{path.stem}", daemon=True)
    thread.start()
    return thread
