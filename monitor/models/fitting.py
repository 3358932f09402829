"""`driftwarden model fit-head`: fit a head on a labelled table and save it with its metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from monitor.errors import SourceError, UsageError
from monitor.models.embedding_head import Head, fit_head
from monitor.models.encoder import SentenceEncoder
from monitor.sources.files import read_table


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
) -> Head:
    """Measure accuracy on a seeded held-out share, then fit on every row and save."""
    table = read_table(data)
    for column in (text_column, label_column):
        if column not in table.columns:
            raise UsageError(
                f"{data} has no column {column!r} (columns: {', '.join(map(str, table.columns))})"
            )
    table = table[[text_column, label_column]].dropna()
    table = table[table[text_column].astype(str).str.strip() != ""]
    if len(table) < 10:
        raise SourceError(f"{data}: {len(table)} usable labelled rows; a head needs at least 10")
    texts = table[text_column].astype(str).tolist()
    labels = table[label_column].astype(str).tolist()
    model = SentenceEncoder(encoder, threads=threads, cache_size=len(texts) + 1)
    order = np.random.default_rng(seed).permutation(len(texts))
    cut = int(len(texts) * (1 - holdout))
    train, test = order[:cut], order[cut:]
    trial = fit_head(model, [texts[i] for i in train], [labels[i] for i in train], seed=seed)
    predicted = trial.classifier.predict(model.encode([texts[i] for i in test]))
    truth = np.array(
        [trial.labels.index(labels[i]) if labels[i] in trial.labels else -1 for i in test]
    )
    accuracy = float(np.mean(predicted == truth)) if len(test) else float("nan")
    head = fit_head(model, texts, labels, seed=seed, metrics={"accuracy": accuracy})
    head.save(out)
    return head
