"""`runs`, `hooks` and `report`: what the store recorded, read back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli.app import Command, ConfigOption, DbOption, JsonOption, MonitorOption, app
from monitor.cli.stores import open_url, read_target, require_monitor, storage_url
from monitor.cli.tables import number, table
from monitor.errors import DriftwardenError, UsageError

LimitOption = Annotated[
    int | None, typer.Option("--limit", "-n", min=1, help="only the newest N", metavar="N")
]


@app.command(cls=Command)
def runs(
    config: ConfigOption = None,
    db: DbOption = None,
    monitor: MonitorOption = None,
    limit: LimitOption = None,
    as_json: JsonOption = False,
) -> None:
    """Run history with key metrics."""
    from monitor.views.runs import run_summaries

    url, settings = read_target(config, db)
    store = open_url(url)
    try:
        with store.reading() as session:
            require_monitor(monitor, session, settings)
            summaries = run_summaries(session, monitor, limit)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(summaries, indent=2))
        return
    if not summaries:
        typer.echo(f"no runs recorded yet{f' for {monitor}' if monitor else ''}")
        return
    rows = []
    for run in summaries:
        m = run["metrics"]
        rows.append(
            [
                str(run["run_id"]),
                run["monitor"],
                run["window_end"][:19],
                run["status"],
                str(run["rows"]),
                str(run["quarantined"]),
                number(m.get("dataset_drift")),
                number(m.get("drifted_share")),
                number(m.get("embedding_drift_score")),
                number(m.get("accuracy")),
                _note(run),
            ]
        )
    headers = ["run", "monitor", "window_end", "status", "rows", "quar", "drift", "share"]
    headers += ["emb", "acc", ""]
    for line in table(headers, rows, "><<<>>>>>><"):
        typer.echo(line)


def _note(run: dict[str, Any]) -> str:
    if run["error"]:
        return f"error: {run['error']}"
    files = run.get("quarantined_files") or 0
    return f"{files} unreadable stream file(s) set aside" if files else ""


@app.command(cls=Command)
def hooks(
    config: ConfigOption = None,
    db: DbOption = None,
    monitor: MonitorOption = None,
    limit: LimitOption = None,
    as_json: JsonOption = False,
) -> None:
    """Hook deliveries, attempt by attempt.

    Then one line with what the outbox still holds."""
    from monitor.store.outbox import delivery_counts
    from monitor.views.hooks import attempts

    url, settings = read_target(config, db)
    store = open_url(url)
    try:
        with store.reading() as session:
            require_monitor(monitor, session, settings)
            rows = attempts(session, monitor=monitor, limit=limit)
            counts = delivery_counts(session)
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no hook delivery attempted yet")
    else:
        cells = [
            [
                row["started_at"][:19],
                row["hook"],
                f"{row['monitor']}/{row['rule']}",
                row["event"],
                str(row["attempt"]),
                row["outcome"],
                _code(row),
                f"{row['duration_seconds']:.2f}",
                row["delivery_id"][:8],
                row["detail"] or "",
            ]
            for row in rows
        ]
        headers = ["started_at", "hook", "monitor/rule", "event", "try", "outcome", "code"]
        headers += ["secs", "delivery", "detail"]
        for line in table(headers, cells, "<<<<><>><<"):
            typer.echo(line)
    typer.echo(
        f"outbox: {counts['pending']} pending, {counts['delivered']} delivered, "
        f"{counts['failed']} failed"
    )


def _code(row: dict[str, Any]) -> str:
    if row["status_code"] is not None:
        return str(row["status_code"])
    return f"exit {row['exit_status']}" if row["exit_status"] is not None else "-"


@app.command(cls=Command)
def report(
    run_id: Annotated[
        int, typer.Argument(help="run id (see `driftwarden runs`)", metavar="RUN_ID", min=1)
    ],
    out: Annotated[
        Path, typer.Option("--out", "-o", help="HTML file to write", metavar="FILE.html")
    ],
    config: ConfigOption = None,
    db: DbOption = None,
) -> None:
    """Write the HTML report of a run.

    A header with the run's monitor, window, model version and key metrics, then
    Evidently's report, built from what the store kept of the run and its reference."""
    if not out.parent.is_dir():
        raise UsageError(f"--out {out}: folder {out.parent} does not exist")
    if out.is_dir():
        raise UsageError(f"--out {out} is a folder; name the HTML file to write")
    from monitor.store.run_reads import run_exists
    from monitor.views.report import run_report
    from monitor.views.runs import run_summaries

    store = open_url(storage_url(config, db))
    try:
        with store.reading() as session:
            if not run_exists(session, run_id):
                raise UsageError(f"no run {run_id} in the store (see driftwarden runs)")
            summary = run_summaries(session, run_ids=[run_id])[0]
            inputs = run_report(session, run_id, summary["monitor"])
    finally:
        store.close()
    from monitor.progress import step

    with step(f"building the report of run {run_id}"):
        from monitor.metrics.report import report_html

        html = report_html(inputs.snapshot(), summary)
    try:
        out.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise DriftwardenError(f"cannot write {out}: {exc.strerror}") from None
    typer.echo(f"wrote {out}")
