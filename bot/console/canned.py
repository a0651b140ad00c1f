"""Canned replies (policy/canned_replies.yml): the bank's own wording a specialist starts from.

Rendered for one case: the cardholder's name and figures filled in from the verified account,
money in the one format the cardholder reads everywhere (bot.plans.money). A reply that needs
the account is offered only when the case has one. ``python -m bot.console.canned`` checks the
file (an unknown variable names the reply and the variable).
"""

from __future__ import annotations

import string
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bot.clock import today
from bot.db.store import AccountView
from bot.plans.money import fmt_yuan, to_cents
from bot.settings import PROJECT_ROOT

CANNED_PATH = PROJECT_ROOT / "policy" / "canned_replies.yml"
ACCOUNT_VARIABLES = {"name", "total_due", "minimum_payment", "overdue_days"}
VARIABLES = ACCOUNT_VARIABLES | {"specialist"}
MAX_TEXT = 2000


class CannedError(ValueError):
    """The file cannot be used; the message names the reply and what is wrong."""


@dataclass(frozen=True)
class Canned:
    title: str
    text: str
    variables: frozenset[str]


def load_canned(path: Path = CANNED_PATH) -> tuple[Canned, ...]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("replies")
    if not isinstance(entries, list):
        raise CannedError(f"{path}: replies must be a list of {{title, text}}")
    replies = []
    for index, entry in enumerate(entries):
        where = f"{path}: replies[{index}]"
        if not isinstance(entry, dict) or not entry.get("title") or not entry.get("text"):
            raise CannedError(f"{where}: needs a title and a text")
        title, text = str(entry["title"]), str(entry["text"])
        if len(text) > MAX_TEXT:
            raise CannedError(f"{where} ({title}): text longer than {MAX_TEXT} characters")
        try:
            names = {field for _, field, _, _ in string.Formatter().parse(text) if field}
        except ValueError as error:
            raise CannedError(f"{where} ({title}): {error}") from error
        unknown = names - VARIABLES
        if unknown:
            raise CannedError(
                f"{where} ({title}): unknown variable {', '.join(sorted(unknown))}; "
                f"one of {', '.join(sorted(VARIABLES))}"
            )
        replies.append(Canned(title, text, frozenset(names)))
    return tuple(replies)


@lru_cache(maxsize=1)
def current_canned() -> tuple[Canned, ...]:
    return load_canned()


def rendered(account: AccountView | None, specialist: str) -> list[dict[str, Any]]:
    """The replies this case can use, filled in."""
    values: dict[str, Any] = {"specialist": specialist}
    if account is not None:
        values.update(
            name=account.holder_name,
            total_due=fmt_yuan(to_cents(account.total_due)),
            minimum_payment=fmt_yuan(to_cents(account.minimum_payment)),
            overdue_days=account.overdue_days(today()),
        )
    return [
        {"title": reply.title, "text": reply.text.format(**values)}
        for reply in current_canned()
        if reply.variables <= values.keys()
    ]


def main() -> int:
    try:
        replies = load_canned()
    except (CannedError, OSError, yaml.YAMLError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{CANNED_PATH.name}: {len(replies)} replies, all variables known")
    return 0


if __name__ == "__main__":
    sys.exit(main())
