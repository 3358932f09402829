"""What `once` does per monitor: find out cheaply whether there is anything to score, and
then record every complete window, one cycle each, up to a bound."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

import typer

from monitor.config import MonitorConfig
from monitor.errors import DriftwardenError

if TYPE_CHECKING:
    from monitor.clock import Clock
    from monitor.cycle import CycleOutcome, MonitorRuntime
    from monitor.store import Store


def format_outcome(
    outcome: CycleOutcome, window_rows: int | None, waiting_reason: str | None
) -> str:
    if outcome.status == "waiting":
        tail = "nothing recorded"
        if outcome.quarantined:
            tail = (
                f"{outcome.quarantined} unreadable stream file(s) set aside (see "
                "driftwarden quarantine); no window recorded"
            )
        if waiting_reason is not None:
            return f"{outcome.monitor}: waiting ({waiting_reason}); {tail}"
        return f"{outcome.monitor}: waiting ({_need(window_rows)}); {tail}"
    if outcome.status == "error":
        return f"{outcome.monitor}: ERROR {outcome.error} (run {outcome.run_id})"
    assert outcome.window_start is not None and outcome.window_end is not None
    shown = ", ".join(f"{k} {v:.3f}" for k, v in outcome.key_metrics().items())
    return (
        f"{outcome.monitor}: run {outcome.run_id}, window {outcome.window_start:%Y-%m-%d %H:%M:%S}"
        f" -> {outcome.window_end:%Y-%m-%d %H:%M:%S}, {outcome.rows} rows, "
        f"{outcome.quarantined} quarantined; {shown}"
    )


def _need(window_rows: int | None) -> str:
    return f"fewer than {window_rows} new rows" if window_rows else "no complete window yet"


def nothing_new(config: MonitorConfig, store: Store, now: datetime) -> str | None:
    """Why the monitor has nothing to score, found without its model; None when it may have.

    The stream is read past the stored watermark with the model-free row rule, which
    accepts every row the model's rule accepts, so a window it cannot find is not there.
    A monitor with late labels, a stream file set aside or a source that fails takes the
    full cycle, which joins, records or reports them.
    """
    if config.labels is not None:
        return None
    from monitor.sources.base import SourceContext
    from monitor.sources.registry import build_source
    from monitor.sources.rows import RowCheck
    from monitor.store.repository import watermark

    try:
        with store.reading() as session:
            mark = watermark(session, config.name)
        context = SourceContext(
            config.name, config.columns, config.window, RowCheck(config.columns)
        )
        source = build_source(config.stream, context)
        try:
            window = source.read(mark[0] if mark else None, now)
            unreadable = source.unreadable_files()
            reason = source.waiting_reason()
        finally:
            source.close()
    except DriftwardenError:
        return None
    if window is not None or unreadable:
        return None
    return reason or _need(config.window.rows)


def catch_up(
    runtime: MonitorRuntime,
    store: Store,
    clock: Clock,
    max_windows: int,
    echo: Callable[[str], None],
) -> bool:
    """Run cycles until the monitor waits, fails or has recorded `max_windows` windows; each
    window and the count are echoed. False when a cycle failed."""
    from monitor.cycle import run_cycle
    from monitor.progress import step

    name = runtime.name
    recorded = 0
    while recorded < max_windows:
        try:
            with step(f"{name}: running a cycle"):
                outcome = run_cycle(runtime, store, clock)
        except Exception as exc:  # the store refused even the failed run
            message = (
                str(exc) if isinstance(exc, DriftwardenError) else f"{type(exc).__name__}: {exc}"
            )
            typer.echo(f"error: {name}: the cycle could not be recorded: {message}", err=True)
            return False
        waiting = outcome.status == "waiting"
        if not waiting or recorded == 0 or outcome.quarantined:
            reason = runtime.source.waiting_reason() if waiting else None
            echo(format_outcome(outcome, runtime.config.window.rows, reason))
        labels = outcome.labels.summary() if outcome.labels is not None else None
        if labels is not None:
            echo(f"{outcome.monitor}: {labels}")
        for change in outcome.transitions:
            echo(
                f"{outcome.monitor}: alert {change.rule} {change.state} "
                f"({change.metric} {change.value or 0.0:.3f}, threshold {change.threshold:g})"
            )
        if outcome.status == "error":
            return False
        if waiting:
            break
        recorded += 1
    if recorded:
        bound = recorded == max_windows
        more = " (--max-windows reached: run once again for any more)" if bound else ""
        echo(f"{name}: {recorded} window(s) recorded{more}")
    return True
