"""Is a person available now, and if not, when can the cardholder honestly expect contact?"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select

from bot.clock import now_utc
from bot.db import models
from bot.db.store import Store
from bot.settings import PROJECT_ROOT

HANDOFF_POLICY_PATH = PROJECT_ROOT / "policy" / "handoff.yml"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Hours:
    timezone: ZoneInfo
    by_day: dict[int, tuple[time, time]]
    online_window: timedelta

    def is_open(self, moment: datetime) -> bool:
        local = moment.astimezone(self.timezone)
        span = self.by_day.get(local.weekday())
        return span is not None and span[0] <= local.time() < span[1]

    def next_opening(self, moment: datetime) -> datetime | None:
        """The next start of working hours after ``moment`` (within two weeks)."""
        local = moment.astimezone(self.timezone)
        for offset in range(0, 15):
            day = local.date() + timedelta(days=offset)
            span = self.by_day.get(day.weekday())
            if span is None:
                continue
            start = datetime.combine(day, span[0], tzinfo=self.timezone)
            if start > local:
                return start
        return None


@lru_cache(maxsize=4)
def load_hours(path: Path = HANDOFF_POLICY_PATH) -> Hours:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    by_day = {}
    for name, span in (data.get("working_hours") or {}).items():
        start, end = (time.fromisoformat(part.strip()) for part in str(span).split("-"))
        by_day[DAYS.index(name)] = (start, end)
    return Hours(
        timezone=ZoneInfo(data.get("timezone", "Asia/Shanghai")),
        by_day=by_day,
        online_window=timedelta(seconds=int(data.get("online_window_seconds", 120))),
    )


@dataclass(frozen=True)
class Availability:
    available: bool
    specialists_online: int
    within_hours: bool
    next_contact: datetime | None


def availability(
    store: Store, hours: Hours | None = None, at: datetime | None = None
) -> Availability:
    hours = hours or load_hours()
    moment = at or now_utc()
    with store._session() as session:
        online = session.execute(
            select(func.count())
            .select_from(models.Specialist)
            .where(models.Specialist.last_seen_at >= moment - hours.online_window)
        ).scalar_one()
    within = hours.is_open(moment)
    if within and online:
        return Availability(True, online, True, None)
    upcoming = moment if within else hours.next_opening(moment)
    return Availability(False, online, within, upcoming)


def describe_next_contact(result: Availability, hours: Hours | None = None) -> str:
    """Words a cardholder reads: "今天 14:00 前" style, in the bank's timezone."""
    hours = hours or load_hours()
    if result.within_hours or result.next_contact is None:
        return "今天工作时间内尽快"
    local = result.next_contact.astimezone(hours.timezone)
    weekday = "一二三四五六日"[local.weekday()]
    return f"{local.month}月{local.day}日（周{weekday}）{local:%H:%M} 以后"
