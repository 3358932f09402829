"""The daemon's scheduling: APScheduler wiring, one job per monitor, backoff, counters.

- `scheduling.py`: `MonitorScheduler`, every monitor's job on one APScheduler
- `job.py`: `MonitorJob`, one monitor's wake-up (load, due windows, catch-up)
- `backoff.py`: how long a failing monitor sits out
- `triggers.py`: interval and crontab triggers, and a schedule's period
- `counters.py`: what the store cannot count (scheduler events, unrecorded failures)
- `cycle_log.py`: the log line per cycle; `memory.py`: returning freed memory to the OS
"""

from monitor.scheduler.backoff import MAX_BACKOFF
from monitor.scheduler.counters import DaemonCounters
from monitor.scheduler.cycle_log import describe, log_outcome
from monitor.scheduler.job import Builder, MonitorJob
from monitor.scheduler.memory import return_free_memory
from monitor.scheduler.scheduling import MonitorScheduler
from monitor.scheduler.triggers import build_trigger, schedule_period

__all__ = [
    "MAX_BACKOFF",
    "Builder",
    "DaemonCounters",
    "MonitorJob",
    "MonitorScheduler",
    "build_trigger",
    "describe",
    "log_outcome",
    "return_free_memory",
    "schedule_period",
]
