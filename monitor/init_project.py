"""`driftwarden init`: from one labelled CSV, a project that `once` runs as it is.

The CSV's rows are shuffled (seeded) and split: most become the reference, on which the
head is fitted; the rest become the first stream file, so the first `once` records windows
at once. New data goes into the stream folder as more files with the same columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from monitor.errors import SourceError, UsageError
from monitor.models.fitting import TrainingRows
from monitor.models.specs import PACKAGED_ENCODER

CONFIG_FILE = "driftwarden.yaml"
REFERENCE_FILE = Path("data") / "reference.csv"
STREAM_DIR = Path("data") / "stream"
FIRST_STREAM_FILE = STREAM_DIR / "0001.csv"
HEAD_DIR = Path("models") / "head"
MIN_ROWS = 60
STREAM_SHARE = 0.3
ID = "id"


@dataclass
class Project:
    """What `init` wrote, for its summary."""

    folder: Path
    monitor: str
    reference_rows: int
    stream_rows: int
    window_rows: int
    labels: list[str]
    holdout_accuracy: float

    @property
    def config(self) -> Path:
        return self.folder / CONFIG_FILE


def planned_files(folder: Path) -> list[Path]:
    return [folder / p for p in (CONFIG_FILE, REFERENCE_FILE, FIRST_STREAM_FILE, HEAD_DIR)]


def refuse_overwrite(folder: Path) -> None:
    """A usage error naming every file `init` would write that already exists."""
    existing = [str(p) for p in planned_files(folder) if p.exists()]
    if existing:
        raise UsageError(
            f"init writes nothing over existing files: {', '.join(existing)} "
            "(pick another --out folder or move them away)"
        )


def monitor_name(data: Path) -> str:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", data.stem).strip("-.") or "monitor"
    return name[:100]


def window_size(stream_rows: int) -> int:
    """Rows per window: the first stream file holds three windows, 500 rows at most."""
    return max(10, min(500, stream_rows // 3))


def write_project(
    data: Path,
    rows: TrainingRows,
    folder: Path,
    *,
    text_column: str,
    label_column: str,
    encoder: str = PACKAGED_ENCODER,
    seed: int = 0,
) -> Project:
    """Split the rows, write reference, first stream file, head and config; return a summary."""
    if len(rows.texts) < MIN_ROWS:
        raise SourceError(
            f"{data}: {len(rows.texts)} usable labelled rows; init needs at least {MIN_ROWS} "
            "(a reference to fit the head on, and windows to score)"
        )
    refuse_overwrite(folder)
    import numpy as np
    import pandas as pd

    from monitor.models.fitting import fit_head_from_table

    order = np.random.default_rng(seed).permutation(len(rows.texts))
    cut = len(order) - max(30, int(len(order) * STREAM_SHARE))
    table = pd.DataFrame({text_column: rows.texts, label_column: rows.labels})
    table.insert(0, ID, range(1, len(table) + 1))
    reference, stream = table.iloc[order[:cut]], table.iloc[order[cut:]]
    (folder / STREAM_DIR).mkdir(parents=True, exist_ok=True)
    reference.to_csv(folder / REFERENCE_FILE, index=False)
    stream.to_csv(folder / FIRST_STREAM_FILE, index=False)
    head = fit_head_from_table(
        folder / REFERENCE_FILE,
        text_column,
        label_column,
        folder / HEAD_DIR,
        encoder=encoder,
        seed=seed,
    )
    accuracy = float(head.metrics.get("accuracy", float("nan")))
    project = Project(
        folder=folder,
        monitor=monitor_name(data),
        reference_rows=len(reference),
        stream_rows=len(stream),
        window_rows=window_size(len(stream)),
        labels=list(head.labels),
        holdout_accuracy=accuracy,
    )
    project.config.write_text(
        config_text(project, text_column, label_column, encoder), encoding="utf-8"
    )
    return project


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def config_text(project: Project, text_column: str, label_column: str, encoder: str) -> str:
    """The config `init` writes: the README's Configuration example, commented
    for a first reader."""
    floor = round(max(0.5, project.holdout_accuracy - 0.1), 2)
    return f"""\
# Written by `driftwarden init`; every key is explained in the README's Configuration.
# Paths are relative to this file. Check it with: driftwarden check-config {CONFIG_FILE}
storage: sqlite:///driftwarden.db
metrics: {{host: 127.0.0.1, port: 9108}}
monitors:
  - name: {project.monitor}
    model: {{type: embedding-head, encoder: {_quoted(encoder)}, head: {HEAD_DIR.as_posix()}}}
    # {project.reference_rows} rows of the CSV; the head was fitted on them
    reference: {{path: {REFERENCE_FILE.as_posix()}}}
    # new data: more CSV files here, with the columns {ID}, {text_column}, {label_column}
    stream: {{type: files, path: "{STREAM_DIR.as_posix()}/*.csv"}}
    columns: {{text: {_quoted(text_column)}, target: {_quoted(label_column)}, id: {ID}}}
    schedule: {{every: 5m}}
    window: {{rows: {project.window_rows}}}
    # dataset_drift: a window without drift is flagged with probability at most alpha
    drift: {{alpha: 0.01, method: auto}}
    alerts:
      - {{name: dataset-drift, metric: dataset_drift, above: 0.5, for: 1}}
      # the last 5 windows pooled: a drift too small for one window (1 false alarm per 1,000)
      - {{name: gradual-drift, metric: sequential_drift, above: 0.5, for: 1}}
      # the head's held-out accuracy was {project.holdout_accuracy:.3f}
      - {{name: accuracy-drop, metric: accuracy, below: {floor}, for: 2}}
"""
