"""Scoring a window's rows: the model's inputs and targets, and rows the model raises on.

A model that raises on a few rows has them found by halving and quarantined; one that
raises on most is broken, and the cycle fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from monitor.config import MonitorConfig
from monitor.errors import ModelError
from monitor.metrics.descriptors import text_descriptors
from monitor.metrics.identity import row_keys
from monitor.models.base import Model, ModelInputs
from monitor.records.rows import ROW_ID, LabelCheck, Rejected
from monitor.records.scores import Scores
from monitor.sources.rows import RowCheck

# Above this share of rows failing alone, the model is broken, not the rows.
_MAX_FAILING_SHARE = 0.5


def model_inputs(model: Model, rows: pd.DataFrame, config: MonitorConfig) -> ModelInputs:
    if model.reads == "text":
        assert config.columns.text is not None
        return rows[config.columns.text].astype(str).tolist()
    return rows[list(config.columns.features or [])]


def input_features(rows: pd.DataFrame, config: MonitorConfig) -> pd.DataFrame:
    """The columns drift is tested on: text descriptors, or the tabular features."""
    if config.columns.text is not None:
        return text_descriptors(rows[config.columns.text]).reset_index(drop=True)
    return rows[list(config.columns.features or [])].reset_index(drop=True)


def input_keys(rows: pd.DataFrame, config: MonitorConfig) -> np.ndarray:
    """A content key per row, from what the model reads (the window's identity)."""
    if config.columns.text is not None:
        return row_keys(rows[config.columns.text])
    return row_keys(rows[list(config.columns.features or [])])


def unknown_label(model: Model, column: str, value: object) -> str:
    return (
        f"label {value!r} in column {column!r} is not "
        f"one the model knows ({', '.join(model.class_names)})"
    )


def label_check(model: Model, config: MonitorConfig) -> LabelCheck | None:
    """The label half of the row rule: a label must be a class `model` knows."""
    column = config.columns.target
    if column is None:
        return None

    def problem(value: object) -> str | None:
        return None if model.class_id(value) is not None else unknown_label(model, column, value)

    return problem


def row_check(
    model: Model, config: MonitorConfig, reference: pd.DataFrame | None = None
) -> RowCheck:
    """Which rows a source may put in a window of this monitor: input and label usable, and
    a number in each feature the reference holds numbers in."""
    numeric = frozenset(
        name
        for name in config.columns.features or []
        if reference is not None
        and name in reference.columns
        and pd.api.types.is_numeric_dtype(reference[name])
        and not pd.api.types.is_bool_dtype(reference[name])
    )
    return RowCheck(config.columns, label_check(model, config), numeric)


def target_ids(
    model: Model, rows: pd.DataFrame, config: MonitorConfig
) -> tuple[np.ndarray | None, list[Rejected]]:
    """Class ids of the target column (-1: unlabelled) and the rows whose label is unknown
    (none when the source applied `row_check`; a source that did not is caught here)."""
    column = config.columns.target
    if column is None or column not in rows.columns:
        return None, []
    ids = np.full(len(rows), -1, dtype=int)
    rejected = []
    for i, (row_id, value) in enumerate(zip(rows[ROW_ID], rows[column], strict=True)):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            continue
        class_id = model.class_id(value)
        if class_id is None:
            reason = unknown_label(model, column, value)
            rejected.append(Rejected(str(row_id), reason, {column: str(value)}))
        else:
            ids[i] = class_id
    return ids, rejected


def score_isolating(model: Model, inputs: ModelInputs) -> tuple[Scores, list[int]]:
    """Score all rows; when the model raises, find the rows it raises on by halving.

    Returns scores for the rows that scored and the positions of those that did not. A
    model failing on most rows is broken, and that is an error of the whole cycle.
    """
    try:
        return model.score(inputs), []
    except ModelError as first_error:
        failing: list[int] = []
        parts: list[Scores] = []
        kept: list[int] = []

        def take(positions: list[int]) -> None:
            subset = _subset(inputs, positions)
            try:
                parts.append(model.score(subset))
                kept.extend(positions)
            except ModelError:
                if len(positions) == 1:
                    failing.append(positions[0])
                else:
                    middle = len(positions) // 2
                    take(positions[:middle])
                    take(positions[middle:])

        take(list(range(len(inputs))))
        if len(failing) > _MAX_FAILING_SHARE * len(inputs) or not parts:
            raise first_error
        return _concat(parts, kept, len(inputs)), sorted(failing)


def _subset(inputs: ModelInputs, positions: list[int]) -> ModelInputs:
    if isinstance(inputs, pd.DataFrame):
        return inputs.iloc[positions]
    return [inputs[i] for i in positions]


def _concat(parts: list[Scores], kept: list[int], total: int) -> Scores:
    order = np.argsort(kept, kind="stable")

    def join(arrays: list[np.ndarray | None]) -> np.ndarray | None:
        if any(a is None for a in arrays):
            return None
        return np.concatenate([a for a in arrays if a is not None])[order]

    predicted = join([p.predicted_ids for p in parts])
    assert predicted is not None
    versions = sorted({str(p.version) for p in parts})
    if len(versions) > 1:  # a head promoted while the rows were being isolated
        raise ModelError(
            f"the model changed while this window was scored ({' -> '.join(versions)}); "
            "its rows are scored again by one version at the next cycle"
        )
    return Scores(
        predicted,
        parts[0].class_names,
        join([p.probabilities for p in parts]),
        join([p.embeddings for p in parts]),
        parts[0].version,
    )


NON_FINITE_SCORES = "the model gave this row non-finite scores (NaN or infinite probabilities)"


def finite_rows(scores: Scores) -> np.ndarray:
    """Which rows have finite probabilities and embeddings (extreme inputs such as 1e308
    make some models give NaN: the row is set aside, the window goes on)."""
    finite = np.ones(len(scores), dtype=bool)
    for values in (scores.probabilities, scores.embeddings):
        if values is not None and len(values):
            finite &= np.isfinite(np.asarray(values, dtype=float)).reshape(len(values), -1).all(1)
    return finite


def scores_of(scores: Scores, keep: np.ndarray) -> Scores:
    """The scores of the rows `keep` marks."""
    return Scores(
        scores.predicted_ids[keep],
        scores.class_names,
        None if scores.probabilities is None else scores.probabilities[keep],
        None if scores.embeddings is None else scores.embeddings[keep],
        scores.version,
    )
