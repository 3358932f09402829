"""Deciding a candidate in shadow: once enough rows of the windows after it was made have
gained labels, score those rows with the candidate and compare with what the live version
predicted for them (stored with each window); promote only on a gain of at least the
margin, else reject. Either way the evidence is stored: a retrain decision with both
accuracies and the number of rows, and the version's metrics.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from monitor.clock import Clock
from monitor.errors import ModelError
from monitor.store import Store
from monitor.store.model_versions import (
    labelled_after,
    live_version,
    record_decision,
    update_metrics,
    versions,
)
from monitor.store.schema_operations import ModelVersionRow
from monitor.versions.catalog import head_config, make_live
from monitor.versions.evidence import compare
from monitor.versions.fm_retrain import SHADOW, SOURCE
from monitor.versions.options import FmRetrainOptions
from monitor.versions.view import MonitorView

log = logging.getLogger("driftwarden.hooks.retrain")


@dataclass(frozen=True)
class ShadowVerdict:
    """`waiting` for labels, `promoted` or `rejected`, with the numbers behind it."""

    state: str
    reason: str
    candidate_version: str
    live_version: str | None
    rows: int = 0
    live_accuracy: float | None = None
    candidate_accuracy: float | None = None

    def summary(self) -> str:
        if self.candidate_accuracy is None or self.live_accuracy is None:
            return f"{self.candidate_version} {self.state}: {self.reason}"
        return (
            f"{self.candidate_version} {self.state}: shadow accuracy "
            f"{self.candidate_accuracy:.3f} vs live {self.live_version} "
            f"{self.live_accuracy:.3f} on {self.rows} later labelled rows ({self.reason})"
        )


def pending_candidate(store: Store, monitor: str) -> ModelVersionRow | None:
    """The newest version still in shadow, if any."""
    with store.reading() as session:
        rows = versions(session, monitor)
    waiting = [r for r in rows if (r.metrics or {}).get(SHADOW) == "pending" and not r.live]
    return waiting[-1] if waiting else None


def decide(
    store: Store,
    monitor: MonitorView,
    candidate: ModelVersionRow,
    options: FmRetrainOptions,
    clock: Clock,
    *,
    delivery_id: str | None = None,
) -> ShadowVerdict:
    """Score the candidate on the labelled rows of the windows after it was made, under the
    version that was live then; promote, reject, or wait for more labels."""
    metrics = candidate.metrics or {}
    against = metrics.get("shadow_against")
    with store.reading() as session:
        live = live_version(session, monitor.name)
        rows = labelled_after(session, monitor.name, int(metrics.get("shadow_after_run", 0)))
    live_now = live.version if live is not None else against
    if live_now != against:
        reason = f"the live version changed from {against} to {live_now} while in shadow"
        return _close(store, monitor, candidate, options, clock, delivery_id, "rejected", reason)
    rows = [r for r in rows if r.model_version == against]
    if len(rows) < options.shadow_rows:
        reason = f"{len(rows)} of {options.shadow_rows} later labelled rows so far"
        return ShadowVerdict("waiting", reason, candidate.version, against, len(rows))
    try:
        predicted = _candidate_predictions(monitor, candidate, [r.text for r in rows])
    except ModelError as exc:  # a folder changed on disk, or an unreadable version
        return _close(store, monitor, candidate, options, clock, delivery_id, "rejected", str(exc))
    comparison = compare(
        np.array([r.target for r in rows]),
        np.array([r.predicted for r in rows]),
        np.array(predicted),
        options.margin,
        options.evidence,
    )
    state = "promoted" if comparison.promoted else "rejected"
    return _close(
        store,
        monitor,
        candidate,
        options,
        clock,
        delivery_id,
        state,
        comparison.reason,
        (len(rows), comparison.live_accuracy, comparison.candidate_accuracy),
    )


def _candidate_predictions(
    monitor: MonitorView, candidate: ModelVersionRow, texts: list[str]
) -> list[str]:
    from monitor.models.embedding_head import fine_tuned_model

    config = head_config(monitor.config)
    model = fine_tuned_model(config, candidate.version, Path(candidate.path), candidate.sha256)
    return model.score(texts).predicted_names


def _close(
    store: Store,
    monitor: MonitorView,
    candidate: ModelVersionRow,
    options: FmRetrainOptions,
    clock: Clock,
    delivery_id: str | None,
    state: str,
    reason: str,
    evidence: tuple[int, float, float] | None = None,
) -> ShadowVerdict:
    """Store the verdict: the version's shadow state, a decision, and the switch if won."""
    rows, live_accuracy, candidate_accuracy = evidence or (0, None, None)
    against = (candidate.metrics or {}).get("shadow_against")
    now = clock.now()
    with store.transaction() as session:
        update_metrics(
            session,
            monitor.name,
            candidate.version,
            {
                SHADOW: state,
                "shadow_rows": rows,
                "shadow_accuracy": candidate_accuracy,
                "shadow_live_accuracy": live_accuracy,
                "shadow_reason": reason,
            },
        )
        if state == "promoted":
            make_live(session, monitor.name, candidate.version, now)
        record_decision(
            session,
            monitor.name,
            now,
            delivery_id=delivery_id,
            current_version=against,
            candidate_version=candidate.version,
            current_accuracy=live_accuracy,
            candidate_accuracy=candidate_accuracy,
            margin=options.margin,
            windows=options.windows,
            train_rows=int((candidate.metrics or {}).get("train_rows", 0)),
            holdout_rows=rows,
            promoted=state == "promoted",
            reason=f"{SOURCE} shadow: {reason}",
        )
    verdict = ShadowVerdict(
        state, reason, candidate.version, against, rows, live_accuracy, candidate_accuracy
    )
    log.info("monitor %s: retrain-fm %s", monitor.name, verdict.summary())
    return verdict
