"""The scored reference a process keeps in the store, found again by what made it.

Scoring the reference is the slow part of starting a monitor (every `once` from cron, every
restarted daemon). What it gives depends only on the reference's rows, the model version
and the model's settings, so it is kept in the store under a key of exactly those, and a
process that starts with the same three reuses it instead of scoring again. The store,
rather than a cache folder, because every process of a monitor already shares it (a
daemon and `once`, processes on other machines against one PostgreSQL), and because
`driftwarden report` needs the reference's features, predictions and labels from the
store alone.
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from monitor.config import MonitorConfig
from monitor.models.base import Model
from monitor.records.scores import Scores
from monitor.store import Store
from monitor.store.references import load_reference, save_reference

#: bumped when what `ScoredReference` keeps changes shape
_FORMAT = 1


def reference_key(config: MonitorConfig, model: Model, rows: pd.DataFrame) -> str:
    """A digest of the reference's rows (as used: inputs and labels, in order), the model
    version and the model's settings: equal keys give equal scores."""
    digest = hashlib.sha256()
    settings = {
        "format": _FORMAT,
        "model": config.model.model_dump(mode="json"),
        "version": model.version,
        "classes": list(model.class_names),
        "columns": config.columns.model_dump(mode="json"),
    }
    digest.update(json.dumps(settings, sort_keys=True, default=str).encode())
    used = [c for c in (config.columns.text, *(config.columns.features or [])) if c]
    if config.columns.target and config.columns.target in rows.columns:
        used.append(config.columns.target)
    hashes = pd.util.hash_pandas_object(rows[used].astype(str), index=False)
    digest.update(hashes.to_numpy(np.uint64).tobytes())
    return digest.hexdigest()


@dataclass
class ScoredReference:
    """The reference as one model version scored it: features, scores and label ids."""

    features: pd.DataFrame
    scores: Scores
    target_ids: np.ndarray | None

    def to_bytes(self) -> bytes:
        arrays: dict[str, Any] = {
            **_column_arrays(self.features),
            "predicted_ids": self.scores.predicted_ids,
            "meta": _json_array(
                {
                    "classes": list(self.scores.class_names),
                    "version": self.scores.version,
                    "columns": [str(c) for c in self.features.columns],
                }
            ),
        }
        for name in ("probabilities", "embeddings"):
            value = getattr(self.scores, name)
            if value is not None:
                arrays[name] = value
        if self.target_ids is not None:
            arrays["target_ids"] = self.target_ids
        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, body: bytes) -> ScoredReference:
        with np.load(io.BytesIO(body), allow_pickle=False) as stored:
            arrays = {name: stored[name] for name in stored.files}
        meta = json.loads(arrays["meta"].tobytes())
        features = _frame(arrays, meta["columns"])
        scores = Scores(
            arrays["predicted_ids"],
            tuple(meta["classes"]),
            arrays.get("probabilities"),
            arrays.get("embeddings"),
            meta["version"],
        )
        return cls(features, scores, arrays.get("target_ids"))


def frame_bytes(frame: pd.DataFrame) -> bytes:
    """A table of feature values as a numpy archive (no pickles, no Parquet engine)."""
    buffer = io.BytesIO()
    arrays: dict[str, Any] = {
        "meta": _json_array({"columns": [str(c) for c in frame.columns]}),
        **_column_arrays(frame),
    }
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def frame_from_bytes(body: bytes) -> pd.DataFrame:
    with np.load(io.BytesIO(body), allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    return _frame(arrays, json.loads(arrays["meta"].tobytes())["columns"])


def _json_array(value: Any) -> np.ndarray:
    return np.frombuffer(json.dumps(value).encode(), dtype=np.uint8)


def _column_arrays(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """Numbers and booleans as they are; anything else as text with a mask of missing values
    (a report reads such a column as categories either way)."""
    arrays: dict[str, np.ndarray] = {}
    for i, column in enumerate(frame.columns):
        values = frame[column]
        if pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            arrays[f"column_{i}"] = values.to_numpy()
        else:
            missing = values.isna().to_numpy()
            arrays[f"column_{i}"] = np.where(missing, "", values.astype(str)).astype(str)
            arrays[f"missing_{i}"] = missing
    return arrays


def _frame(arrays: dict[str, np.ndarray], columns: list[str]) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for i, column in enumerate(columns):
        values = arrays[f"column_{i}"]
        missing = arrays.get(f"missing_{i}")
        if missing is not None:
            values = values.astype(object)
            values[missing] = None
        data[column] = values
    return pd.DataFrame(data, columns=columns)


class StoredReferences:
    """Scored references kept in a store, by monitor and key."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def load(self, monitor: str, key: str) -> ScoredReference | None:
        with self.store.reading() as session:
            body = load_reference(session, monitor, key)
        return None if body is None else ScoredReference.from_bytes(body)

    def save(self, monitor: str, key: str, reference: ScoredReference) -> None:
        body = reference.to_bytes()
        with self.store.transaction() as session:
            save_reference(
                session, monitor, key, reference.scores.version, len(reference.features), body
            )
