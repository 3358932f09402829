"""`once`, `run` and `replay`: the commands that score windows."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from monitor.cli.app import (
    Command,
    ConfigOption,
    DbOption,
    JsonOption,
    MonitorOption,
    RequiredConfig,
    app,
    checked_db,
)
from monitor.cli.config_commands import preflight
from monitor.cli.stores import configured_monitor, open_url
from monitor.config import MonitorConfig, load_config
from monitor.errors import DriftwardenError

if TYPE_CHECKING:
    from monitor.clock import Clock
    from monitor.cycle import MonitorRuntime
    from monitor.store import Store

MaxWindowsOption = Annotated[
    int,
    typer.Option(
        "--max-windows",
        min=1,
        help="record at most N windows of each monitor (default 100)",
        metavar="N",
    ),
]


@app.command(cls=Command)
def once(
    config: RequiredConfig,
    monitor: MonitorOption = None,
    db: DbOption = None,
    max_windows: MaxWindowsOption = 100,
) -> None:
    """Catch each monitor up now: every complete window, up to --max-windows.

    Checks the config as `check-config` does before it opens the store; a monitor with no
    complete window is answered without loading its model. Prints each window recorded,
    how many, and the alert transitions, then delivers the hook events they raised
    (retries included) before it exits."""
    settings = load_config(config)
    monitors = [configured_monitor(settings, monitor)] if monitor else settings.monitors
    preflight(settings, config)  # a config mistake is exit 2 before the store is touched
    from monitor.cli.catch_up import catch_up, nothing_new
    from monitor.clock import SystemClock

    store = open_url(db or settings.storage)
    clock = SystemClock()
    failed: list[str] = []
    runtimes = {}
    for monitor_config in monitors:
        name = monitor_config.name
        quiet = nothing_new(monitor_config, store, clock.now())
        if quiet is not None:
            typer.echo(f"{name}: nothing new ({quiet}); nothing recorded")
            continue
        runtime = _load(monitor_config, store, clock)
        if runtime is None:
            failed.append(name)
            continue
        runtimes[runtime.name] = runtime
        if not catch_up(runtime, store, clock, max_windows, typer.echo):
            failed.append(name)
    _deliver(store, settings, clock, runtimes)
    for runtime in runtimes.values():
        runtime.close()
    store.close()
    if failed:
        typer.echo(
            f"error: {len(failed)} of {len(monitors)} monitor(s) failed: {', '.join(failed)}",
            err=True,
        )
        raise typer.Exit(1)


def _load(config: MonitorConfig, store: Store, clock: Clock) -> MonitorRuntime | None:
    """The monitor's model and reference loaded, with the store's live model version; None
    (with the failure recorded as a run and reported) when it cannot be loaded."""
    from monitor.cycle import MonitorRuntime
    from monitor.cycle.recording import record_outside_failure
    from monitor.progress import step
    from monitor.versions.switch import activate_live_version

    try:
        with step(f"{config.name}: loading the model and scoring the reference"):
            runtime = MonitorRuntime.build(config)
            activate_live_version(store, runtime)  # a promoted head wins over the configured
    except Exception as exc:  # one broken monitor must not keep the others from running
        message = describe_failure(exc)
        run_id = record_outside_failure(
            store, config.name, clock.now(), f"cannot load the monitor: {message}"
        )
        typer.echo(
            f"error: {config.name}: cannot load the monitor: {message} (run {run_id})", err=True
        )
        return None
    return runtime


def _deliver(store: Any, settings: Any, clock: Any, runtimes: dict[str, Any]) -> None:
    """Deliver the hook events raised so far (no cycle runs from here on, so a retrain may
    reuse the loaded encoder)."""
    from monitor.hooks import Dispatcher
    from monitor.progress import step

    dispatcher = Dispatcher(store, settings.hooks, clock, monitors=runtimes, share_models=True)
    with step("delivering hook events"):
        report = dispatcher.deliver_pending()
    if report.delivered or report.retried or report.failed or report.pending:
        typer.echo(report.summary())


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
        preflight(load_config(config), config)  # exit 2 on a mistake, before the store opens
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
            "--db",
            help="SQLAlchemy URL to keep the runs in (default: memory)",
            metavar="URL",
            callback=checked_db,
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
