"""A one-monitor project on disk: a text classifier, a reference file and a stream folder."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml


def write_text_project(
    folder: Path, model: Path, reference: pd.DataFrame, stream: pd.DataFrame, window_rows: int
) -> Path:
    """`reference.csv`, `stream/001.csv` and `dw.yaml` (SQLite `dw.db`) in `folder`: a
    monitor `reviews` of the transformers classifier at `model`; returns the config's path."""
    reference.to_csv(folder / "reference.csv", index=False)
    (folder / "stream").mkdir()
    stream.to_csv(folder / "stream" / "001.csv", index=False)
    monitor = {
        "name": "reviews",
        "model": {"type": "transformers", "path": str(model), "batch_size": 16},
        "reference": {"path": "reference.csv"},
        "stream": {"path": "stream/*.csv"},
        "columns": {"text": "text", "target": "label"},
        "window": {"rows": window_rows},
    }
    path = folder / "dw.yaml"
    path.write_text(yaml.safe_dump({"storage": "sqlite:///dw.db", "monitors": [monitor]}))
    return path
