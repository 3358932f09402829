"""`init`: a working project (config, reference, head, first stream file) from a CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import Command, app
from monitor.cli.model_commands import check_data_file, split_labels
from monitor.models.specs import PACKAGED_ENCODER


@app.command(cls=Command)
def init(
    data: Annotated[
        Path,
        typer.Option("--data", help="labelled CSV/Parquet/JSONL to start from", metavar="FILE"),
    ],
    text_column: Annotated[
        str, typer.Option("--text-column", help="column holding the texts", metavar="NAME")
    ],
    label_column: Annotated[
        str, typer.Option("--label-column", help="column holding the labels", metavar="NAME")
    ],
    out: Annotated[
        Path, typer.Option("--out", help="folder to write the project to", metavar="DIR")
    ] = Path("."),
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels",
            help="the class names, e.g. negative,positive; rows with other labels are left out",
            metavar="A,B,...",
        ),
    ] = None,
    encoder: Annotated[
        str, typer.Option("--encoder", help="encoder folder or package:NAME", metavar="ENCODER")
    ] = PACKAGED_ENCODER,
) -> None:
    """Start a project from a labelled CSV.

    Writes driftwarden.yaml, a reference sample, a fitted head and a first stream file,
    ready for `driftwarden once`; never overwrites a file."""
    from monitor.init_project import refuse_overwrite, write_project
    from monitor.models.fitting import read_training_rows

    refuse_overwrite(out)
    check_data_file(data, text_column, label_column)
    rows = read_training_rows(data, text_column, label_column, split_labels(labels))
    project = write_project(
        data, rows, out, text_column=text_column, label_column=label_column, encoder=encoder
    )
    typer.echo(
        f"wrote {project.config}: monitor {project.monitor}, {project.reference_rows} reference "
        f"rows, a head for {', '.join(project.labels)} (held-out accuracy "
        f"{project.holdout_accuracy:.3f}), {project.stream_rows} rows in the first stream file "
        f"({project.window_rows}-row windows)"
    )
    typer.echo(f"next: driftwarden once --config {project.config}")
