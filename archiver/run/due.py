"""When each page is due again: a short interval after a change, growing while nothing changes."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..config import ScheduleConfig
from ..storage.state import Outcome, PageState
from .results import VERSION_OUTCOMES

MINUTE = 60.0


def next_interval(
    config: ScheduleConfig, url: str, outcome: str, previous: PageState | None, now: datetime
) -> float:
    """Minutes until the page is due again, after a check with `outcome`."""
    low, high = config.bounds(url)
    last = previous.interval_minutes if previous and previous.interval_minutes else low
    if outcome in VERSION_OUTCOMES:
        interval = low  # something happened: look again soon
    elif outcome == Outcome.FAILED:
        failures = (previous.failures if previous else 0) + 1
        interval = low * config.growth ** (failures - 1)  # back off while it keeps failing
    else:
        interval = last * config.growth
    interval = min(max(interval, low), high)
    first_seen = datetime.fromisoformat(previous.first_seen) if previous else now
    if now - first_seen > timedelta(days=config.old_after_days):
        interval = max(interval, config.old_interval)
    return interval


def due_at(now: datetime, minutes: float) -> str:
    return (now + timedelta(minutes=minutes)).isoformat()
