"""What `driftwarden report` shows of a run, gathered from the store alone (no data files).

The window: its prediction log (predicted class, probabilities, labels, and the text, from
which the descriptors are derived again exactly), or a tabular run's kept feature values.
The reference: what the run's `reference_key` names in `reference_data`. The drift tests:
the run's own methods and thresholds. Runs recorded before reports were built on demand
show the snapshot they stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
from sqlalchemy.orm import Session

from monitor.errors import UsageError
from monitor.records.results import FEATURE_DRIFT, PREDICTION_DRIFT
from monitor.store.references import load_reference, run_inputs
from monitor.store.run_reads import drift_details, predictions, snapshot
from monitor.store.schema import RunRow

if TYPE_CHECKING:
    from monitor.metrics.evidently_adapter import Snapshot


@dataclass
class LoggedWindow:
    """A run's prediction log, column by column, and a tabular run's kept feature values."""

    texts: list[str | None]
    predicted: list[str]
    probabilities: list[list[float] | None]
    targets: list[str | None]
    inputs: bytes | None


@dataclass
class RunReport:
    """Either the snapshot a run stored, or what to build one from."""

    stored: bytes | None = None
    reference: bytes | None = None
    window: LoggedWindow | None = None
    #: the run's drift tests: (column, method, threshold)
    tests: list[tuple[str, str, float | None]] | None = None

    def snapshot(self) -> Snapshot:
        """Evidently's report of the run (built now, unless the run stored one)."""
        from monitor.metrics.report import stored_snapshot

        if self.stored is not None:
            return stored_snapshot(self.stored)
        assert self.reference is not None and self.window is not None
        return _build(self.reference, self.window, self.tests or [])


def run_report(session: Session, run_id: int, monitor: str) -> RunReport:
    """What the report of `run_id` is made of; a UsageError says why a run has none."""
    body = snapshot(session, run_id)
    if body is not None:
        return RunReport(stored=body)
    run = session.get(RunRow, run_id)
    if run is None or run.status != "ok":
        raise UsageError(f"run {run_id} failed; it measured nothing to report")
    reference_body = (
        None if run.reference_key is None else load_reference(session, monitor, run.reference_key)
    )
    if reference_body is None:
        raise UsageError(f"run {run_id} has no stored reference to compare with")
    logged = predictions(session, run_id)
    kept_inputs = run_inputs(session, run_id)
    if kept_inputs is None and any(p.text is None for p in logged):
        raise UsageError(
            f"run {run_id} kept no feature values (a tabular monitor with `snapshot: false`)"
        )
    tests = [
        (row.feature, row.method or "", row.threshold)
        for row in drift_details(session, run_id)
        if row.name in (FEATURE_DRIFT, PREDICTION_DRIFT)
    ]
    window = LoggedWindow(
        [p.text for p in logged],
        [p.predicted_name for p in logged],
        [p.probabilities for p in logged],
        [p.target for p in logged],
        kept_inputs,
    )
    return RunReport(reference=reference_body, window=window, tests=tests)


def _build(
    reference_body: bytes, window: LoggedWindow, tests: list[tuple[str, str, float | None]]
) -> Snapshot:
    import numpy as np

    from monitor.cycle.reference import ScoredReference, frame_from_bytes
    from monitor.metrics.descriptors import text_descriptors
    from monitor.metrics.drift import CATEGORICAL, NUMERICAL, column_kind
    from monitor.metrics.engine import CONFIDENCE, PREDICTED_CLASS
    from monitor.metrics.report import PinnedTest, ReportSide, build_snapshot

    scored = ScoredReference.from_bytes(reference_body)
    class_names = scored.scores.class_names
    ids = scored.target_ids
    reference = ReportSide(
        scored.features,
        scored.scores.predicted_names,
        scored.scores.confidence,
        None if ids is None else [class_names[i] if i >= 0 else None for i in ids],
    )
    if window.inputs is not None:
        features = frame_from_bytes(window.inputs)
    else:
        features = text_descriptors(pd.Series(window.texts, dtype=object))
    probabilities = window.probabilities
    confidence = (
        None
        if not probabilities or any(p is None for p in probabilities)
        else np.asarray(probabilities, dtype=float).max(axis=1)
    )
    labelled = any(t is not None for t in window.targets)
    current = ReportSide(
        features.reset_index(drop=True),
        window.predicted,
        confidence,
        window.targets if labelled else None,
    )
    pinned = []
    for column, method, threshold in tests:
        if column == PREDICTED_CLASS:
            kind = CATEGORICAL
        elif column == CONFIDENCE:
            kind = NUMERICAL
        else:
            kind = column_kind(scored.features[column])
        pinned.append(PinnedTest(column, kind, method, threshold))
    return build_snapshot(pinned, reference, current, class_names)
