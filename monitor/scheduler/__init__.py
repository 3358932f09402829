"""The daemon's scheduling: APScheduler wiring, one job per monitor, backoff, counters.

- `scheduling.py`: `MonitorScheduler`, every monitor's job on one APScheduler
- `job.py`: `MonitorJob`, one monitor's wake-up (load, due windows, catch-up)
- `backoff.py`: how long a failing monitor sits out
- `triggers.py`: interval and crontab triggers, and a schedule's period
- `counters.py`: what the store cannot count (scheduler events, unrecorded failures)
- `cycle_log.py`: the log line per cycle; `memory.py`: returning freed memory to the OS

Import from the modules themselves: `triggers` is light (APScheduler and the config),
while `job` and `scheduling` import the whole cycle.
"""
