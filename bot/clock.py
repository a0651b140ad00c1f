"""One notion of "today" for the whole product.

Dates a cardholder says ("15号", "下周五") and plan schedules are resolved from today. Tests and
demos pin it with ``BOT_TODAY=YYYY-MM-DD`` so results do not change with the calendar.
"""

from __future__ import annotations

import os
from datetime import date, datetime, timezone


def today() -> date:
    """Return the pinned date from ``BOT_TODAY`` or the real local date."""
    pinned = os.environ.get("BOT_TODAY", "").strip()
    if pinned:
        return date.fromisoformat(pinned)
    return date.today()


def now_utc() -> datetime:
    """Timezone-aware UTC now, for timestamps stored in the database."""
    return datetime.now(timezone.utc)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime: SQLite hands back naive datetimes, which
    were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def iso(moment: datetime | None) -> str | None:
    """A stored timestamp (or none) as ISO 8601 in UTC, as the console's JSON gives it."""
    return None if moment is None else as_utc(moment).isoformat()
