"""`label-requests`: the unlabelled rows of recent windows most worth a label, written as a
Label Studio task file (`.json`) or CSV (`.csv`), and remembered so none is asked twice."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Annotated, Any

import typer

from monitor.cli.app import Command, MonitorOption, RequiredConfig, app
from monitor.cli.stores import configured_monitor
from monitor.errors import UsageError

OutOption = Annotated[
    Path,
    typer.Option(
        "--out", "-o", help="task file to write: .json (Label Studio) or .csv", metavar="FILE"
    ),
]
BudgetOption = Annotated[
    int | None,
    typer.Option(
        "--budget",
        "-n",
        min=1,
        help="rows to ask for (default: label_requests.budget)",
        metavar="N",
    ),
]


@app.command("label-requests", cls=Command)
def label_requests(
    config: RequiredConfig,
    out: OutOption,
    monitor: MonitorOption = None,
    budget: BudgetOption = None,
) -> None:
    """Write the rows of recent windows worth labelling (unlike the reference, uncertain)."""
    from monitor.config import load_config
    from monitor.store import open_store
    from monitor.views.label_requests import LabelRequestPlan, plan_requests

    if out.suffix.lower() not in (".json", ".csv"):
        raise UsageError(f"--out {out}: write a .json (Label Studio tasks) or a .csv file")
    settings = load_config(config)
    if monitor is None:
        if len(settings.monitors) > 1:
            names = ", ".join(m.name for m in settings.monitors)
            raise UsageError(f"the config has several monitors ({names}); name one with --monitor")
        monitor = settings.monitors[0].name
    chosen = configured_monitor(settings, monitor)
    if chosen.columns.text is None:
        raise UsageError(
            f"monitor {monitor} reads no text (columns.text): label requests are rows of text"
        )
    store = open_store(settings.storage)
    try:
        plan: LabelRequestPlan = plan_requests(store, chosen, budget)
        _write(out, plan.tasks if out.suffix.lower() == ".json" else None, plan.table)
        plan.record(store)
    finally:
        store.close()
    typer.echo(
        f"{len(plan.table)} label requests from {plan.windows} windows of {monitor} "
        f"({plan.candidates} unlabelled rows) written to {out}"
    )


def _write(out: Path, tasks: list[dict[str, Any]] | None, table: list[dict[str, Any]]) -> None:
    """Write whole or not at all: a reader never sees half a file."""
    if tasks is not None:
        body = json.dumps(tasks, indent=2, ensure_ascii=False)
    else:
        buffer = io.StringIO()
        fields = list(table[0]) if table else ["row_id", "text"]
        writer = csv.DictWriter(buffer, fieldnames=fields)
        writer.writeheader()
        writer.writerows(table)
        body = buffer.getvalue()
    partial = out.with_name(f".{out.name}.partial")
    try:
        partial.write_text(body, encoding="utf-8")
        os.replace(partial, out)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise UsageError(f"cannot write {out}: {exc.strerror or exc}") from None
