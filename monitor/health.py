"""Whether each monitor is healthy, for `driftwarden status`.

A monitor is healthy when it has recorded a run, its last run succeeded, it is not stale
(a run within 3 schedule periods; unknown without the config's schedule), none of its
alert rules is firing and no file still in its stream is set aside whole. The hook outbox
backlog is shown, and failed deliveries too, but they do not make a monitor unhealthy:
`driftwarden hooks` tells their story.
"""

from __future__ import annotations

import glob
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitor.config import MonitorConfig
from monitor.scheduler.triggers import schedule_period
from monitor.store.status import StoredStatus

STALE_PERIODS = 3


@dataclass
class MonitorHealth:
    """One monitor's line of `status`, and the object of `status --json`."""

    monitor: str
    healthy: bool
    problems: list[str]
    last_run: dict[str, Any] | None
    age_seconds: float | None
    schedule_seconds: float | None
    stale: bool | None  # None: the schedule is unknown (no config given)
    firing: list[str] = field(default_factory=list)
    outbox: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def assess(
    name: str,
    stored: StoredStatus | None,
    last_run: dict[str, Any] | None,
    config: MonitorConfig | None,
    now: datetime,
) -> MonitorHealth:
    """The health of one monitor from its stored status, last run summary and config."""
    stored = stored or StoredStatus(name)
    period = schedule_period(config.schedule, now) if config is not None else None
    age = (now - stored.last_finished_at).total_seconds() if stored.last_finished_at else None
    problems = []
    stale: bool | None = None
    if last_run is None:
        problems.append("no run recorded yet")
    elif last_run["status"] != "ok":
        problems.append(f"last run failed: {last_run['error']}")
    if period is not None and age is not None:
        stale = age > STALE_PERIODS * period.total_seconds()
        if stale:
            limit = STALE_PERIODS * period.total_seconds()
            problems.append(
                f"stale: no run for {format_age(age)} "
                f"(more than {STALE_PERIODS} schedule periods, {format_age(limit)})"
            )
    if stored.firing:
        problems.append(f"firing: {', '.join(stored.firing)}")
    set_aside = still_set_aside(stored.set_aside, config)
    if set_aside:
        problems.append(
            f"stream file(s) set aside whole: {', '.join(set_aside)} (their rows are not "
            "scored; see driftwarden quarantine)"
        )
    outbox = {
        "pending": stored.deliveries.get("pending", 0),
        "failed": stored.deliveries.get("failed", 0),
    }
    return MonitorHealth(
        monitor=name,
        healthy=not problems,
        problems=problems,
        last_run=last_run,
        age_seconds=round(age, 3) if age is not None else None,
        schedule_seconds=period.total_seconds() if period is not None else None,
        stale=stale,
        firing=list(stored.firing),
        outbox=outbox,
    )


def still_set_aside(set_aside: dict[str, datetime], config: MonitorConfig | None) -> list[str]:
    """The files set aside that the stream still holds unchanged since (a file that changed
    is read again); without the config, every file set aside."""
    path = getattr(config.stream, "path", None) if config is not None else None
    if not set_aside or not isinstance(path, str):
        return list(set_aside)
    present = {Path(match).name: Path(match) for match in glob.glob(path)}
    return [
        name
        for name, when in set_aside.items()
        if Path(name).name in present and not _changed_since(present[Path(name).name], when)
    ]


def _changed_since(path: Path, when: datetime) -> bool:
    moment = when if when.tzinfo is not None else when.replace(tzinfo=UTC)
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, UTC) > moment
    except OSError:
        return True  # gone meanwhile: not set aside any more


def format_age(seconds: float) -> str:
    """`45s`, `12m`, `3h20m`, `2d4h`: an age at a glance."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours}h{rest // 60:02d}m" if rest >= 60 else f"{hours}h"
    days, rest = divmod(seconds, 86400)
    return f"{days}d{rest // 3600}h" if rest >= 3600 else f"{days}d"
