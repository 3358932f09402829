"""`status` and `quarantine`: is every monitor well, and which rows were set aside."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer

from monitor.cli.app import Command, ConfigOption, DbOption, JsonOption, MonitorOption, app
from monitor.cli.stores import open_url, read_target, require_monitor
from monitor.cli.tables import number, table
from monitor.errors import UsageError

if TYPE_CHECKING:
    from monitor.config import MonitorConfig
    from monitor.health import MonitorHealth

RAW_SHOWN = 60  # characters of a quarantined row's text in the table (--json has it all)


def quality_below_floor(firing: list[str], config: MonitorConfig | None) -> list[dict[str, Any]]:
    """The firing rules that put a floor under a measured quality metric: what pages as
    DriftwardenQualityBelowThreshold (unknown without the config: [])."""
    if config is None:
        return []
    from monitor.records.catalog import RUN_METRICS

    measured = {
        m.name for m in RUN_METRICS if m.series is not None and m.series.name == "model_quality"
    }
    return [
        {"rule": rule.name, "metric": rule.metric, "floor": rule.below}
        for rule in config.alerts
        if rule.name in firing and rule.below is not None and rule.metric in measured
    ]


def monitor_state(
    health: MonitorHealth, quality: list[dict[str, Any]], config: MonitorConfig | None
) -> str:
    """One word, the worst that holds, in the order of the dashboards' status (the recording
    rule driftwarden:monitor_status): stale, failing, quality below floor, drifting, ok."""
    run = health.last_run
    if health.stale:
        return "stale"
    if run is None:
        return "no run yet"
    if run["status"] != "ok":
        return "failing"
    if quality:
        return "quality below floor"
    drift_rules = {r.name for r in config.alerts if "drift" in r.metric} if config else set()
    if drift_rules & set(health.firing):
        return "drifting"
    return "firing" if health.firing else "ok"


@app.command(cls=Command)
def status(
    config: ConfigOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Is every monitor healthy? (exit 1 if not).

    One line per monitor: its last run (age, window, rows, key metrics), whether it is
    stale (no run for 3 schedule periods), the rules firing and the hook outbox backlog;
    then its status in one word where it is not ok (stale, failing, quality below floor,
    drifting: the dashboards' order) and every quality metric below its rule's floor.
    Exits 0 when every monitor is healthy, 1 otherwise."""
    from monitor.health import assess, format_age
    from monitor.records.catalog import SUMMARY_METRICS
    from monitor.store.status import stored_statuses
    from monitor.views.runs import run_summaries

    url, settings = read_target(config, db)
    store = open_url(url)
    try:
        with store.reading() as session:
            stored = stored_statuses(session)
            run_ids = [s.last_run_id for s in stored.values() if s.last_run_id is not None]
            last_runs = {r["monitor"]: r for r in run_summaries(session, run_ids=run_ids)}
    finally:
        store.close()
    configured = {m.name: m for m in settings.monitors} if settings else {}
    names = list(configured) + sorted(n for n in stored if n not in configured)
    now = datetime.now(UTC)
    healths = [assess(n, stored.get(n), last_runs.get(n), configured.get(n), now) for n in names]
    quality = {h.monitor: quality_below_floor(h.firing, configured.get(h.monitor)) for h in healths}
    states = {
        h.monitor: monitor_state(h, quality[h.monitor], configured.get(h.monitor)) for h in healths
    }
    if as_json:
        documents = [
            h.as_json() | {"state": states[h.monitor], "quality_below_floor": quality[h.monitor]}
            for h in healths
        ]
        typer.echo(json.dumps(documents, indent=2))
    elif not healths:
        typer.echo("no monitor recorded in this store yet")
    else:
        rows = []
        for health in healths:
            run = health.last_run
            metrics = run["metrics"] if run else {}
            shown = ", ".join(
                f"{key} {number(metrics[key])}" for key in SUMMARY_METRICS if key in metrics
            )
            stale = {True: "STALE", False: "fresh", None: "unknown"}[health.stale]
            rows.append(
                [
                    health.monitor,
                    "ok" if health.healthy else "UNHEALTHY",
                    f"{run['run_id']}" if run else "-",
                    format_age(health.age_seconds) if health.age_seconds is not None else "-",
                    stale,
                    f"{run['window_start'][:19]} -> {run['window_end'][11:19]}" if run else "-",
                    str(run["rows"]) if run else "-",
                    ", ".join(health.firing) or "-",
                    f"{health.outbox['pending']}/{health.outbox['failed']}",
                    shown or "-",
                ]
            )
        headers = ["monitor", "health", "run", "age", "stale", "window", "rows", "firing"]
        headers += ["hooks pending/failed", "key metrics"]
        for line in table(headers, rows, "<<>><<><><"):
            typer.echo(line)
        for health in healths:
            if states[health.monitor] not in ("ok", "firing"):
                typer.echo(f"{health.monitor}: status {states[health.monitor]}")
            for problem in health.problems:
                typer.echo(f"{health.monitor}: {problem}")
            metrics = health.last_run["metrics"] if health.last_run else {}
            for low in quality[health.monitor]:
                latest = metrics.get(low["metric"])
                measured = f" ({low['metric']} {number(latest)})" if latest is not None else ""
                typer.echo(
                    f"{health.monitor}: quality below floor: {low['metric']} under "
                    f"{low['floor']} for rule {low['rule']}{measured}"
                )
        if settings is None:
            typer.echo("(staleness unknown without --config: the schedule lives in the config)")
    # an empty store (a mistyped --db creates one) watches nothing: not healthy either
    if not healths or not all(h.healthy for h in healths):
        raise typer.Exit(1)


@app.command(cls=Command)
def quarantine(
    config: ConfigOption = None,
    db: DbOption = None,
    monitor: MonitorOption = None,
    run_id: Annotated[
        int | None,
        typer.Option("--run", min=1, help="only the rows this run set aside", metavar="RUN_ID"),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="only the newest N", metavar="N")
    ] = None,
    labels: Annotated[
        bool, typer.Option("--labels", help="the late labels set aside instead of rows")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """The rows and files windows set aside, with reasons.

    Rows a cycle could not use (empty or non-text input, an unknown label, a bad
    timestamp, a line that cannot be read, a row the model raised on) and stream files
    that cannot be read at all (`file`, by name), newest last; with --labels, the late
    labels the label join set aside (unknown id, duplicate, conflicting, ambiguous,
    invalid)."""
    from monitor.store.quarantine import quarantined_label_rows, quarantined_rows
    from monitor.store.run_reads import run_exists

    if labels and run_id is not None:
        raise UsageError("--run and --labels do not go together: labels belong to no run")
    url, settings = read_target(config, db)
    store = open_url(url)
    try:
        with store.reading() as session:
            require_monitor(monitor, session, settings)
            if run_id is not None and not run_exists(session, run_id):
                raise UsageError(f"no run {run_id} in the store (see driftwarden runs)")
            if labels:
                rows = quarantined_label_rows(session, monitor=monitor, limit=limit)
            else:
                rows = quarantined_rows(session, monitor=monitor, run_id=run_id, limit=limit)
    finally:
        store.close()
    if labels:
        _show_labels(rows, as_json)
        return
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no row quarantined")
        return
    cells = [
        [
            str(row["run_id"]) if row["run_id"] is not None else "-",
            row["monitor"],
            row["row_id"] if row["kind"] == "row" else f"{row['row_id']} (file)",
            row["reason"],
            _excerpt(row["raw"]),
        ]
        for row in rows
    ]
    for line in table(["run", "monitor", "row", "reason", "row data"], cells, ">"):
        typer.echo(line)


def _show_labels(rows: list[dict[str, object]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        typer.echo("no label quarantined")
        return
    cells = [
        [
            str(row["monitor"]),
            str(row["row_id"]),
            str(row["label"]),
            str(row["kind"]) + (" (released)" if row["released"] else ""),
            str(row["reason"]),
        ]
        for row in rows
    ]
    for line in table(["monitor", "row", "label", "kind", "reason"], cells, ">"):
        typer.echo(line)


def _excerpt(raw: object) -> str:
    text = json.dumps(raw, ensure_ascii=False, default=str) if raw is not None else "-"
    return text if len(text) <= RAW_SHOWN else text[: RAW_SHOWN - 3] + "..."
