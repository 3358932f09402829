"""`model fit-head`, `model versions`, `model promote`: a monitor's classifier heads."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli.app import Command, DbOption, JsonOption, MonitorOption, RequiredConfig, model_app
from monitor.cli.stores import configured_monitor, open_url
from monitor.cli.tables import table
from monitor.config import Config, MonitorConfig, load_config
from monitor.errors import UsageError
from monitor.models.specs import PACKAGED_ENCODER


def split_labels(value: str | None) -> list[str] | None:
    if value is None:
        return None
    labels = [label.strip() for label in value.split(",") if label.strip()]
    if len(set(labels)) < 2:
        raise UsageError(f"--labels needs at least two class names, comma-separated: {value!r}")
    return labels


def check_data_file(data: Path, *columns: str) -> None:
    """A usage error, before any model or table is loaded, when `--data` is no data file
    driftwarden reads or its header lacks one of `columns`."""
    from monitor.sources.headers import format_of, table_columns

    if not data.is_file():
        raise UsageError(f"--data {data}: no such file")
    if format_of(data) is None:
        raise UsageError(f"--data {data}: not a data file (use .csv, .parquet or .jsonl)")
    names, problem = table_columns(data)
    if problem is not None:
        raise UsageError(f"--data {problem}")
    missing = [c for c in columns if c not in names]
    if missing:
        shown = ", ".join(names[:20]) or "none"
        raise UsageError(f"--data {data} has no column {missing[0]!r} (columns: {shown})")


@model_app.command("fit-head", cls=Command)
def fit_head_command(
    data: Annotated[
        Path,
        typer.Option("--data", help="CSV/Parquet/JSONL with texts and labels", metavar="FILE"),
    ],
    text_column: Annotated[
        str, typer.Option("--text-column", help="column holding the texts", metavar="NAME")
    ],
    label_column: Annotated[
        str, typer.Option("--label-column", help="column holding the labels", metavar="NAME")
    ],
    out: Annotated[Path, typer.Option("--out", help="folder to write the head to", metavar="DIR")],
    encoder: Annotated[
        str, typer.Option("--encoder", help="encoder folder or package:NAME", metavar="ENCODER")
    ] = PACKAGED_ENCODER,
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help="the class names, e.g. negative,positive; rows with other labels are left out",
            metavar="A,B,...",
        ),
    ] = None,
    seed: Annotated[
        int, typer.Option("--seed", help="seed of the held-out split and the fit", metavar="N")
    ] = 0,
    threads: Annotated[
        int | None,
        typer.Option("--threads", min=1, help="torch threads (default: as is)", metavar="N"),
    ] = None,
) -> None:
    """Train a classifier head on an FM's embeddings.

    Prints and saves the held-out accuracy. Refuses label values with too few rows to be a
    class unless --labels names the classes."""
    from monitor.models.fitting import fit_head_from_table, read_training_rows

    check_data_file(data, text_column, label_column)
    rows = read_training_rows(data, text_column, label_column, split_labels(labels))
    if rows.left_out:
        shown = ", ".join(f"{label!r} ({n})" for label, n in rows.left_out.items())
        typer.echo(
            f"left out {sum(rows.left_out.values())} rows with other labels: {shown}", err=True
        )
    head = fit_head_from_table(
        data, text_column, label_column, out, encoder=encoder, seed=seed, threads=threads, rows=rows
    )
    shown = ", ".join(f"{k} {v:.3f}" for k, v in head.metrics.items())
    typer.echo(
        f"wrote head {head.version} to {out} (labels: {', '.join(head.labels)}; held-out {shown})"
    )


def head_monitor(settings: Config, name: str | None) -> MonitorConfig:
    """The named monitor, or the config's only embedding-head monitor."""
    heads = [m for m in settings.monitors if m.model.type == "embedding-head"]
    if name is not None:
        return configured_monitor(settings, name)
    if len(heads) != 1:
        names = ", ".join(m.name for m in heads) or "none"
        raise UsageError(f"give --monitor NAME (monitors with an embedding-head model: {names})")
    return heads[0]


@model_app.command("versions", cls=Command)
def model_versions(
    config: RequiredConfig,
    monitor: MonitorOption = None,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """List a monitor's head versions (* is live)."""
    settings = load_config(config)
    target = head_monitor(settings, monitor)
    from monitor.versions.catalog import list_versions

    store = open_url(db or settings.storage)
    try:
        listed = list_versions(store, target)
    finally:
        store.close()
    for row in listed:
        if "holdout_accuracy" not in row["metrics"]:
            accuracy = _fitted_accuracy(Path(row["path"]))
            if accuracy is not None:  # measured by `model fit-head` or `init`, kept in the head
                row["metrics"] = {**row["metrics"], "holdout_accuracy": accuracy}
    if as_json:
        typer.echo(json.dumps(listed, indent=2))
        return
    rows = [_version_row(row) for row in listed]
    lines = table(["version", "source", "created_at", "held-out acc", "path"], rows, "<<<>")
    marks = [""] + ["*" if row["live"] else "" for row in listed]
    for mark, line in zip(marks, lines, strict=True):
        typer.echo(f"{mark:<2}{line}")


def _fitted_accuracy(folder: Path) -> float | None:
    """The held-out accuracy a head's fit measured and saved in its head.json, if any."""
    from monitor.models.head_files import META_FILE

    try:
        metrics = json.loads((folder / META_FILE).read_text())["metrics"]
        accuracy = metrics.get("holdout_accuracy", metrics.get("accuracy"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return float(accuracy) if isinstance(accuracy, int | float) else None


def _version_row(row: dict[str, Any]) -> list[str]:
    # a retrain-head version's held-out rows, or the later rows a retrain-fm one was shadowed on
    accuracy = row["metrics"].get("holdout_accuracy", row["metrics"].get("shadow_accuracy"))
    return [
        row["version"],
        row["source"],
        (row["created_at"] or "-")[:19],
        f"{accuracy:.3f}" if accuracy is not None else "-",
        str(row["path"]),
    ]


@model_app.command("promote", cls=Command)
def model_promote(
    version: Annotated[
        str,
        typer.Argument(help="a version from `driftwarden model versions`", metavar="VERSION"),
    ],
    config: RequiredConfig,
    monitor: MonitorOption = None,
    db: DbOption = None,
) -> None:
    """Make a head version live.

    Rolls forward or back; a running daemon switches at its next cycle."""
    settings = load_config(config)
    target = head_monitor(settings, monitor)
    from monitor.clock import SystemClock
    from monitor.versions.catalog import promote_version

    store = open_url(db or settings.storage)
    try:
        folder = promote_version(store, target, version, SystemClock().now())
    finally:
        store.close()
    typer.echo(f"{target.name}: head {version} is live ({folder})")


@model_app.command("convert-head", cls=Command)
def model_convert_head(
    folder: Annotated[
        Path, typer.Argument(help="a head folder holding head.joblib", metavar="DIR")
    ],
) -> None:
    """Rewrite a pickled head (head.joblib) as arrays plus JSON.

    Heads written before arrays were pickles, which run code when loaded: run this once,
    on a head you trust; it writes head.npz beside head.joblib, which is then never read."""
    from monitor.models.head_files import convert_pickled_head

    version = convert_pickled_head(folder)
    typer.echo(
        f"wrote {folder / 'head.npz'}: head {version} as arrays; head.joblib is no longer read"
    )
