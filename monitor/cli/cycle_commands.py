"""`once`, `run` and `replay`: the commands that score windows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli.app import (
    Command,
    ConfigOption,
    DbOption,
    JsonOption,
    MonitorOption,
    RequiredConfig,
    app,
)
from monitor.cli.stores import configured_monitor, open_url
from monitor.config import load_config
from monitor.errors import DriftwardenError


def format_outcome(outcome: Any, window_rows: int | None, waiting_reason: str | None) -> str:
    if outcome.status == "waiting":
        tail = "nothing recorded"
        if outcome.quarantined:
            tail = (
                f"{outcome.quarantined} unreadable stream file(s) set aside (see "
                "driftwarden quarantine); no window recorded"
            )
        if waiting_reason is not None:
            return f"{outcome.monitor}: waiting ({waiting_reason}); {tail}"
        need = f"fewer than {window_rows} new rows" if window_rows else "no complete window yet"
        return f"{outcome.monitor}: waiting ({need}); {tail}"
    if outcome.status == "error":
        return f"{outcome.monitor}: ERROR {outcome.error} (run {outcome.run_id})"
    shown = ", ".join(f"{k} {v:.3f}" for k, v in outcome.key_metrics().items())
    return (
        f"{outcome.monitor}: run {outcome.run_id}, window {outcome.window_start:%Y-%m-%d %H:%M:%S}"
        f" -> {outcome.window_end:%Y-%m-%d %H:%M:%S}, {outcome.rows} rows, "
        f"{outcome.quarantined} quarantined; {shown}"
    )


@app.command(cls=Command)
def once(
    config: RequiredConfig,
    monitor: MonitorOption = None,
    db: DbOption = None,
) -> None:
    """Run one cycle of each monitor now.

    Prints a summary per monitor and its alert transitions, then delivers the hook events
    they raised (retries included) before it exits."""
    settings = load_config(config)  # a bad config costs a second, not a model load
    monitors = [configured_monitor(settings, monitor)] if monitor else settings.monitors
    from monitor.clock import SystemClock
    from monitor.cycle import MonitorRuntime, run_cycle
    from monitor.cycle.recording import record_outside_failure
    from monitor.cycle.versions import activate_live_version
    from monitor.hooks import Dispatcher
    from monitor.progress import step

    store = open_url(db or settings.storage)
    clock = SystemClock()
    failed: list[str] = []
    runtimes = {}
    for monitor_config in monitors:
        name = monitor_config.name
        try:
            with step(f"{name}: loading the model and scoring the reference"):
                runtime = MonitorRuntime.build(monitor_config)
                activate_live_version(store, runtime)  # a promoted head wins over the configured
        except Exception as exc:  # one broken monitor must not keep the others from running
            message = describe_failure(exc)
            run_id = record_outside_failure(
                store, name, clock.now(), f"cannot load the monitor: {message}"
            )
            typer.echo(
                f"error: {name}: cannot load the monitor: {message} (run {run_id})", err=True
            )
            failed.append(name)
            continue
        runtimes[runtime.name] = runtime
        try:
            with step(f"{name}: running a cycle"):
                outcome = run_cycle(runtime, store, clock)
        except Exception as exc:  # the store refused even the failed run
            message = describe_failure(exc)
            typer.echo(f"error: {name}: the cycle could not be recorded: {message}", err=True)
            failed.append(name)
            continue
        reason = runtime.source.waiting_reason() if outcome.status == "waiting" else None
        typer.echo(format_outcome(outcome, monitor_config.window.rows, reason))
        labels = outcome.labels.summary() if outcome.labels is not None else None
        if labels is not None:
            typer.echo(f"{outcome.monitor}: {labels}")
        for change in outcome.transitions:
            typer.echo(
                f"{outcome.monitor}: alert {change.rule} {change.state} "
                f"({change.metric} {change.value or 0.0:.3f}, threshold {change.threshold:g})"
            )
        if outcome.status == "error":
            failed.append(name)
    # no cycle runs from here on, so a retrain may reuse the loaded encoder
    dispatcher = Dispatcher(store, settings.hooks, clock, monitors=runtimes, share_models=True)
    with step("delivering hook events"):
        report = dispatcher.deliver_pending()
    if report.delivered or report.retried or report.failed or report.pending:
        typer.echo(report.summary())
    for runtime in runtimes.values():
        runtime.close()
    store.close()
    if failed:
        typer.echo(
            f"error: {len(failed)} of {len(monitors)} monitor(s) failed: {', '.join(failed)}",
            err=True,
        )
        raise typer.Exit(1)


def describe_failure(exc: Exception) -> str:
    """An error as one line: ours as worded, anything else with its type."""
    if isinstance(exc, DriftwardenError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@app.command(cls=Command)
def run(
    config: ConfigOption = None,
    db: DbOption = None,
    metrics_host: Annotated[
        str | None,
        typer.Option("--metrics-host", help="address to serve /metrics on", metavar="HOST"),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option("--metrics-port", min=0, max=65535, help="port for /metrics", metavar="PORT"),
    ] = None,
    max_cycles: Annotated[
        int | None,
        typer.Option(
            "--max-cycles", min=1, help="run N cycles of each monitor, then exit", metavar="N"
        ),
    ] = None,
) -> None:
    """Run the daemon (without --config: the demo).

    Every monitor on its schedule, metrics on /metrics; Ctrl-C or SIGTERM stops it after the
    running cycles."""
    if config is not None:
        load_config(config)  # fail in a second on a bad config, before the heavy imports
    from monitor.daemon import DaemonOptions, run_daemon

    code = run_daemon(DaemonOptions(config, db, metrics_host, metrics_port, max_cycles))
    if code:
        raise typer.Exit(code)


@app.command(cls=Command)
def replay(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file", metavar="SCENARIO.yaml")],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            "-o",
            help="folder for summary.json, timeline.png, metrics.om",
            metavar="DIR",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="SQLAlchemy URL to keep the runs in (default: memory)", metavar="URL"
        ),
    ] = None,
    as_json: JsonOption = False,
    allow_hooks: Annotated[
        bool,
        typer.Option(
            "--allow-hooks", help="run the scenario's command and python hooks (trusted files)"
        ),
    ] = False,
    allow_pickle: Annotated[
        bool,
        typer.Option("--allow-pickle", help="load a pickled head the scenario names (trusted)"),
    ] = False,
) -> None:
    """Replay a drift scenario on a simulated clock.

    Writes summary.json, timeline.png and metrics.om; exits 1 when its `expect:` block
    fails, 2 when the scenario file is invalid. A scenario file is untrusted: its command
    and python hooks, and a pickled head, are refused unless --allow-hooks / --allow-pickle
    say so on the command line."""
    from monitor.replay import replay_command

    replay_command(
        scenario,
        out=out,
        db=db,
        as_json=as_json,
        echo=typer.echo,
        allow_hooks=allow_hooks,
        allow_pickle=allow_pickle,
    )
