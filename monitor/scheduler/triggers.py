"""When each monitor wakes: an interval or a crontab trigger in the schedule's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from monitor.config import ScheduleConfig
from monitor.errors import ConfigError


def _timezone(schedule: ScheduleConfig) -> ZoneInfo:
    try:
        return ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"schedule.timezone: unknown time zone {schedule.timezone!r}") from None


def build_trigger(schedule: ScheduleConfig) -> BaseTrigger:
    """An interval trigger for `every:`, a crontab trigger for `cron:`, in the schedule's zone."""
    zone = _timezone(schedule)
    if schedule.every is not None:
        return IntervalTrigger(seconds=schedule.every.total_seconds(), timezone=zone)
    assert schedule.cron is not None
    try:
        return CronTrigger.from_crontab(schedule.cron, timezone=zone)
    except ValueError as exc:
        raise ConfigError(f"schedule.cron: {schedule.cron!r} is not valid: {exc}") from None


def schedule_period(schedule: ScheduleConfig, now: datetime) -> timedelta:
    """Time between wake-ups: the interval, or the gap between a cron's next two fire times."""
    if schedule.every is not None:
        return schedule.every
    trigger = build_trigger(schedule)
    first = trigger.get_next_fire_time(None, now)
    second = trigger.get_next_fire_time(first, first) if first else None
    if first is None or second is None:
        return timedelta(days=1)
    return second - first
