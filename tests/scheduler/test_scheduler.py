"""Scheduling on an injected clock: which windows are due, misfires, catch-up order, backoff."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from apscheduler.executors.debug import DebugExecutor
from apscheduler.triggers.cron import CronTrigger
from scheduling_fakes import (
    REFERENCE,
    START,
    FakeModel,
    ManualScheduler,
    fake_runtime,
    monitor_config,
)

from monitor.clock import SimulatedClock
from monitor.config import ScheduleConfig
from monitor.cycle import MonitorRuntime
from monitor.errors import ConfigError, ModelError
from monitor.scheduler.scheduling import MonitorScheduler
from monitor.scheduler.triggers import build_trigger, schedule_period
from monitor.sources.base import SourceContext
from monitor.sources.registry import build_source
from monitor.sources.rows import RowCheck
from monitor.store import Store
from monitor.store.quarantine import quarantined_rows
from monitor.store.repository import watermark
from monitor.views.runs import run_summaries


def summaries(store: Store, monitor: str | None = None) -> list[dict[str, Any]]:
    with store.reading() as session:
        return run_summaries(session, monitor)


def schedule(**fields: Any) -> ScheduleConfig:
    return ScheduleConfig.model_validate(fields)


def test_cron_fires_in_its_own_time_zone() -> None:
    trigger = build_trigger(schedule(cron="30 9 * * *", timezone="Europe/Berlin"))
    assert isinstance(trigger, CronTrigger)
    fire = trigger.get_next_fire_time(None, START)  # 12:00 UTC is 13:00 in Berlin (CET)
    assert fire is not None
    assert fire.astimezone(UTC) == datetime(2025, 3, 4, 8, 30, tzinfo=UTC)


def test_schedule_period_of_interval_and_cron() -> None:
    assert schedule_period(schedule(every="90s"), START) == timedelta(seconds=90)
    assert schedule_period(schedule(cron="*/15 * * * *"), START) == timedelta(minutes=15)
    assert schedule_period(schedule(cron="0 6 * * *"), START) == timedelta(days=1)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"every": "5m", "timezone": "Mars/Olympus"}, "unknown time zone"),
        ({"cron": "61 * * * *"}, "is not valid"),
    ],
)
def test_bad_schedules_are_config_errors_at_start(
    fields: dict[str, Any], message: str, store: Store
) -> None:
    config = monitor_config(schedule=fields)
    with pytest.raises(ConfigError, match=message) as raised:
        MonitorScheduler([config], store, build=fake_runtime)
    assert str(raised.value).startswith("monitors[0].schedule.")


def test_windows_run_when_due_on_the_injected_clock(clock: SimulatedClock, store: Store) -> None:
    config = monitor_config(window={"rows": 10}, catch_up=0)
    runtime = fake_runtime(config, rows=200)
    scheduler = ManualScheduler()
    monitors = MonitorScheduler(
        [config], store, build=lambda _: runtime, clock=clock, scheduler=scheduler
    )
    monitors.start()
    ran = []
    for minutes in (0, 1, 4, 5, 7, 10, 14, 15):
        clock.set(START + timedelta(minutes=minutes))
        before = len(summaries(store))
        scheduler.tick()
        if len(summaries(store)) > before:
            ran.append(minutes)
    # at start-up, then every 5 minutes on the dot, one window each (catch_up=0)
    assert ran == [0, 5, 10, 15]
    ends = [r["window_end"] for r in summaries(store)]
    assert ends == [f"2025-03-03T12:{m:02d}:00Z" for m in (0, 5, 10, 15)]
    monitors.stop(1.0)


def test_catch_up_processes_missed_windows_in_order_up_to_the_limit(
    clock: SimulatedClock, store: Store
) -> None:
    config = monitor_config(window={"rows": 10}, catch_up=2)
    runtime = fake_runtime(config, rows=75)  # 7 complete windows, 5 rows waiting
    scheduler = ManualScheduler()
    monitors = MonitorScheduler(
        [config], store, build=lambda _: runtime, clock=clock, scheduler=scheduler
    )
    monitors.start()
    counts = []
    for minutes in (0, 5, 10, 15):
        clock.set(START + timedelta(minutes=minutes))
        scheduler.tick()
        counts.append(len(summaries(store)))
    assert counts == [3, 6, 7, 7]  # 1 + catch_up each wake-up; never more windows than rows
    runs = summaries(store)
    with store.reading() as session:
        mark = watermark(session, config.name)
    assert mark is not None and json.loads(mark[0])["key"] == ["fake", 70]
    # windows follow one another: each starts where the previous one ended
    assert all(b["window_start"] == a["window_end"] for a, b in pairwise(runs))
    assert [r["rows"] for r in runs] == [10] * 7


def test_a_long_stall_coalesces_into_one_wake_up(clock: SimulatedClock, store: Store) -> None:
    config = monitor_config(window={"rows": 10}, catch_up=0)
    runtime = fake_runtime(config, rows=200)
    scheduler = ManualScheduler()
    monitors = MonitorScheduler(
        [config], store, build=lambda _: runtime, clock=clock, scheduler=scheduler
    )
    monitors.start()
    scheduler.tick()
    clock.set(START + timedelta(minutes=32))  # six wake-ups slept through
    scheduler.tick()
    assert len(summaries(store)) == 2  # coalesced: one wake-up, not six
    assert monitors.counters.scheduler_events() == {}


def test_a_wake_up_later_than_its_grace_is_missed_and_counted(
    clock: SimulatedClock, store: Store
) -> None:
    class LateExecutor(DebugExecutor):
        """Starts each job seven minutes after it was handed over (a blocked thread pool)."""

        def _do_submit_job(self, job: Any, run_times: Any) -> None:
            clock.advance(timedelta(minutes=7))
            super()._do_submit_job(job, run_times)

    config = monitor_config(window={"rows": 10})
    runtime = fake_runtime(config, rows=50)
    monitors = MonitorScheduler(
        [config],
        store,
        build=lambda _: runtime,
        clock=clock,
        scheduler=ManualScheduler(LateExecutor()),
    )
    monitors.start()
    monitors.scheduler.tick()  # type: ignore[attr-defined]
    assert summaries(store) == []  # grace is one period (5 minutes): 7 late is too late
    assert monitors.counters.scheduler_events() == {("fake", "missed"): 1}


def test_a_monitor_that_cannot_load_records_errors_and_backs_off(
    clock: SimulatedClock, store: Store
) -> None:
    config = monitor_config(name="broken", schedule={"every": "1m"})

    def build(_: Any) -> MonitorRuntime:
        raise RuntimeError("weights are corrupt")

    scheduler = ManualScheduler()
    monitors = MonitorScheduler([config], store, build=build, clock=clock, scheduler=scheduler)
    monitors.start()
    attempts = []
    for wake in range(12):
        clock.set(START + timedelta(minutes=wake))
        before = len(summaries(store))
        scheduler.tick()
        if len(summaries(store)) > before:
            attempts.append(wake)
    # after the n-th failure in a row, sit out 2^(n-1) - 1 wake-ups
    assert attempts == [0, 1, 3, 7]
    runs = summaries(store)
    assert {r["status"] for r in runs} == {"error"}
    assert runs[0]["error"] == "cannot load the monitor: RuntimeError: weights are corrupt"
    assert monitors.unloaded() == ["broken"]


def test_backoff_is_capped_and_resets_after_a_success(clock: SimulatedClock, store: Store) -> None:
    config = monitor_config(schedule={"every": "5m"})
    model = FakeModel()
    runtime = fake_runtime(config, model, rows=400)
    monitors = MonitorScheduler(
        [config], store, build=lambda _: runtime, clock=clock, scheduler=ManualScheduler()
    )
    job = monitors.jobs["fake"]
    model.fail = True
    for _ in range(10):
        job.backoff.failures += 1
    job._failed()
    assert job.backoff.skip == 2  # 15 minutes of 5-minute wake-ups: at most 2 skipped
    job.backoff.skip = 0
    model.fail = False
    job.wake()
    assert job.backoff.failures == 0 and job.backoff.skip == 0


def test_a_read_only_store_is_a_counted_failure_not_a_crash(
    clock: SimulatedClock, store: Store, tmp_path: Path
) -> None:
    read_only = Store(f"sqlite:///file:{tmp_path / 'store.db'}?mode=ro&uri=true")
    config = monitor_config(window={"rows": 10})
    runtime = fake_runtime(config, rows=30)
    refused = MonitorScheduler(
        [config], read_only, build=lambda _: runtime, clock=clock, scheduler=ManualScheduler()
    )
    # the write probe before the cycle finds it: no window is scored only to be lost
    assert refused.jobs["fake"].wake() == []
    assert refused.counters.failing_cycles() == {"fake": 1}
    assert "readonly" in (refused.jobs["fake"].last_error or "")
    assert read_only.write_problem() is not None
    read_only.close()
    assert summaries(store) == []  # nothing half-written: the window is still to do ...
    writable = MonitorScheduler(
        [config], store, build=lambda _: runtime, clock=clock, scheduler=ManualScheduler()
    )
    assert [o.status for o in writable.jobs["fake"].wake()] == ["ok", "ok", "ok", "waiting"]
    assert [r["rows"] for r in summaries(store)] == [10, 10, 10]  # ... and is done once


def test_max_cycles_finishes_every_monitor(clock: SimulatedClock, store: Store) -> None:
    configs = [monitor_config(name=n, window={"rows": 10}) for n in ("a", "b")]
    runtimes = {c.name: fake_runtime(c, rows=100) for c in configs}
    scheduler = ManualScheduler()
    monitors = MonitorScheduler(
        configs,
        store,
        build=lambda c: runtimes[c.name],
        clock=clock,
        scheduler=scheduler,
        max_cycles=3,
    )
    monitors.start()
    scheduler.tick()
    assert monitors.finished.is_set()
    assert [len(summaries(store, n)) for n in ("a", "b")] == [3, 3]
    clock.advance(timedelta(minutes=5))
    scheduler.tick()
    assert [len(summaries(store, n)) for n in ("a", "b")] == [3, 3]


def test_missing_then_unreadable_stream_files_are_logged_and_set_aside(
    clock: SimulatedClock,
    store: Store,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = monitor_config(stream={"path": str(tmp_path / "stream" / "*.parquet")})
    check = RowCheck(config.columns)
    source = build_source(
        config.stream, SourceContext(config.name, config.columns, config.window, check)
    )
    runtime = MonitorRuntime(config, source, FakeModel(), REFERENCE)
    monitors = MonitorScheduler(
        [config], store, build=lambda _: runtime, clock=clock, scheduler=ManualScheduler()
    )
    job = monitors.jobs["fake"]
    assert [o.status for o in job.wake()] == ["waiting"]
    assert "no stream files match" in caplog.text
    (tmp_path / "stream").mkdir()
    (tmp_path / "stream" / "part-1.parquet").write_bytes(b"not parquet at all")
    # the file is set aside (quarantined as a file) and the stream waits for good files
    assert [o.status for o in job.wake()] == ["waiting"]
    assert summaries(store) == []
    with store.reading() as session:
        (entry,) = quarantined_rows(session)
    assert (entry["kind"], entry["row_id"], entry["run_id"]) == ("file", "part-1.parquet", None)
    assert "cannot read as Parquet" in entry["reason"]


def test_a_failing_before_cycle_step_is_recorded_and_the_next_wake_up_retries(
    clock: SimulatedClock, store: Store
) -> None:
    config = monitor_config(window={"rows": 10}, catch_up=0)
    runtime = fake_runtime(config, rows=50)
    broken = [True]

    def switch_model(_: MonitorRuntime) -> None:
        if broken[0]:
            raise ModelError("head folder /x/head-2 holds no head")

    monitors = MonitorScheduler(
        [config],
        store,
        build=lambda _: runtime,
        clock=clock,
        scheduler=ManualScheduler(),
        before_cycle=switch_model,
    )
    job = monitors.jobs["fake"]
    assert job.wake() == []
    (run,) = summaries(store)
    assert run["error"] == "cannot prepare the cycle: head folder /x/head-2 holds no head"
    broken[0] = False
    assert [o.status for o in job.wake()] == ["ok"]
