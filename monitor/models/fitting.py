"""`driftwarden model fit-head`: fit a head on a labelled table and save it with its metrics.

The table is read and its labels checked before the encoder (torch, transformers) is
imported, so a wrong file, column or label costs a second, not a model load.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.errors import SourceError, UsageError

if TYPE_CHECKING:
    from monitor.models.embedding_head import Head

MIN_ROWS = 10
# A label value needs this many rows (and this share of the table) to count as a class: one
# stray value ("neutral", "?", a typo) would otherwise silently become a class of its own.
MIN_CLASS_ROWS = 5
MIN_CLASS_SHARE = 0.01


@dataclass
class TrainingRows:
    """The texts and labels a head is fitted on, and the rows left out by `--labels`."""

    texts: list[str]
    labels: list[str]
    left_out: dict[str, int] = field(default_factory=dict)

    def classes(self) -> list[str]:
        return sorted(set(self.labels))


def min_class_rows(rows: int) -> int:
    return max(MIN_CLASS_ROWS, math.ceil(MIN_CLASS_SHARE * rows))


def _shown(counts: dict[str, int]) -> str:
    return ", ".join(f"{label!r} ({n} row{'s' if n != 1 else ''})" for label, n in counts.items())


def read_training_rows(
    data: Path, text_column: str, label_column: str, labels: Sequence[str] | None = None
) -> TrainingRows:
    """The usable labelled rows of `data`; refuses label values too rare to be a class.

    With `labels`, rows whose label is not one of them are left out (and counted).
    """
    if not data.is_file():
        raise UsageError(f"--data {data}: no such file")
    from monitor.sources.files import read_table

    table = read_table(data)
    for column in (text_column, label_column):
        if column not in table.columns:
            raise UsageError(
                f"{data} has no column {column!r} (columns: {', '.join(map(str, table.columns))})"
            )
    table = table[[text_column, label_column]].dropna()
    table = table[table[text_column].astype(str).str.strip() != ""]
    texts = table[text_column].astype(str).tolist()
    values = [_label_text(v) for v in table[label_column].tolist()]
    left_out: dict[str, int] = {}
    if labels is not None:
        wanted = set(labels)
        left_out = dict(Counter(v for v in values if v not in wanted).most_common())
        kept = [i for i, v in enumerate(values) if v in wanted]
        texts, values = [texts[i] for i in kept], [values[i] for i in kept]
    if len(texts) < MIN_ROWS:
        raise SourceError(
            f"{data}: {len(texts)} usable labelled rows; a head needs at least {MIN_ROWS}"
        )
    counts = Counter(values)
    needed = min_class_rows(len(values))
    if labels is not None:
        absent = {label: counts.get(label, 0) for label in labels if counts.get(label, 0) < needed}
        if absent:
            raise UsageError(
                f"{data}: --labels names classes with fewer than {needed} rows: {_shown(absent)}"
            )
    else:
        rare = {label: n for label, n in sorted(counts.items()) if n < needed}
        if rare:
            common = ",".join(sorted(label for label in counts if label not in rare))
            raise UsageError(
                f"{data}: column {label_column!r} has values with too few rows to be a class "
                f"(fewer than {needed}): {_shown(rare)}; name the classes with "
                f"--labels {common} (rows with other labels are then left out)"
            )
    if len(counts) < 2:
        raise UsageError(f"{data}: column {label_column!r} holds one class only; a head needs two")
    return TrainingRows(texts, values, left_out)


def _label_text(value: object) -> str:
    """A label as text: 1.0 read from a column with gaps is the label `1`, as in the CSV."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def fit_head_from_table(
    data: Path,
    text_column: str,
    label_column: str,
    out: Path,
    *,
    encoder: str,
    seed: int = 0,
    threads: int | None = None,
    holdout: float = 0.2,
    labels: Sequence[str] | None = None,
    rows: TrainingRows | None = None,
) -> Head:
    """Measure accuracy on a seeded held-out share, then fit on every row and save."""
    rows = rows or read_training_rows(data, text_column, label_column, labels)
    import numpy as np

    from monitor.models.embedding_head import fit_head
    from monitor.models.encoder import SentenceEncoder
    from monitor.progress import step

    texts, values = rows.texts, rows.labels
    with step(f"loading the encoder {encoder}"):
        model = SentenceEncoder(encoder, threads=threads, cache_size=len(texts) + 1)
    order = np.random.default_rng(seed).permutation(len(texts))
    cut = int(len(texts) * (1 - holdout))
    train, test = order[:cut], order[cut:]
    with step(f"embedding {len(texts)} texts and fitting the head"):
        trial = fit_head(model, [texts[i] for i in train], [values[i] for i in train], seed=seed)
        predicted = trial.classifier.predict(model.encode([texts[i] for i in test]))
        truth = np.array(
            [trial.labels.index(values[i]) if values[i] in trial.labels else -1 for i in test]
        )
        accuracy = float(np.mean(predicted == truth)) if len(test) else float("nan")
        head = fit_head(model, texts, values, seed=seed, metrics={"accuracy": accuracy})
    head.save(out)
    return head
