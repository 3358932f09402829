"""Retraining an embedding-head monitor's head (the `retrain-head` hook): refit on recent
labelled rows, compare with the live head on the newest of them, and write the candidate
as the live version only when it wins by the margin. The decision is recorded whatever it is.

A retrain writes to the store and the head's versions folder; the monitor takes a promoted
head up before its next cycle.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from monitor.atomic import publish_folder
from monitor.clock import Clock
from monitor.errors import ModelError
from monitor.models.base import TextEncoder
from monitor.models.embedding_head import Head, fit_head
from monitor.models.head_files import META_FILE
from monitor.models.specs import EmbeddingHeadModelConfig
from monitor.store import Store
from monitor.store.model_versions import LabelledRow, labelled_rows, record_decision
from monitor.versions.catalog import live_head_folder, make_live, register_version
from monitor.versions.evidence import compare
from monitor.versions.folders import versions_folder
from monitor.versions.options import HeadRetrainOptions
from monitor.versions.view import MonitorView

log = logging.getLogger("driftwarden.hooks.retrain")
MIN_TRAIN_ROWS = 20
MIN_HOLDOUT_ROWS = 10


@dataclass(frozen=True)
class RetrainDecision:
    """What a retrain measured and decided (also stored in `retrain_decisions`)."""

    promoted: bool
    reason: str
    current_version: str | None
    candidate_version: str | None = None
    current_accuracy: float | None = None
    candidate_accuracy: float | None = None
    margin: float = 0.0
    windows: int = 0
    evidence: float = 0.2
    train_rows: int = 0
    holdout_rows: int = 0

    def summary(self) -> str:
        if self.candidate_accuracy is None or self.current_accuracy is None:
            return f"not retrained: {self.reason}"
        verdict = "promoted" if self.promoted else "kept the live head"
        return (
            f"{verdict}: candidate {self.candidate_version} held-out accuracy "
            f"{self.candidate_accuracy:.3f} vs live {self.current_version} "
            f"{self.current_accuracy:.3f}; {self.reason}; "
            f"{self.train_rows} recent rows trained, {self.holdout_rows} held out"
        )


def head_config(monitor: MonitorView) -> EmbeddingHeadModelConfig:
    model = monitor.config.model
    if not isinstance(model, EmbeddingHeadModelConfig):
        raise ModelError(
            f"monitor {monitor.name} runs a {model.type} model; "
            "retrain-head needs an embedding-head model"
        )
    return model


def retrain(
    store: Store,
    monitor: MonitorView,
    options: HeadRetrainOptions,
    clock: Clock,
    encoder: TextEncoder,
    *,
    delivery_id: str | None = None,
    cancelled: threading.Event | None = None,
) -> RetrainDecision:
    """Refit, compare on the newest `holdout` share of recent labelled rows, maybe promote.

    Training rows: the reference's labelled rows plus the older part of the labelled rows of
    the newest `windows` runs; the newest part is held out, since it is the data the next
    windows will look like. The live head is the store's live version (else the configured
    head), as the monitor's next cycle will score with it. Once `cancelled` is set (the
    attempt's deadline passed), it records nothing.
    """
    config = head_config(monitor)
    current = Head.load(live_head_folder(store, monitor.config))
    with store.reading() as session:
        recent = labelled_rows(session, monitor.name, options.windows)
    recent = [r for r in recent if r.target in current.labels]
    held = max(MIN_HOLDOUT_ROWS, round(len(recent) * options.holdout))
    train, holdout = recent[: len(recent) - held], recent[len(recent) - held :]
    decision = RetrainDecision(
        False,
        f"{len(recent)} labelled rows in the newest {options.windows} windows; "
        f"need {MIN_TRAIN_ROWS + MIN_HOLDOUT_ROWS}",
        current.version,
        margin=options.margin,
        windows=options.windows,
        evidence=options.evidence,
    )
    candidate: Head | None = None
    if len(train) >= MIN_TRAIN_ROWS:
        texts, labels = monitor.labelled_reference()
        texts += [r.text for r in train]
        labels += [r.target for r in train]
        decision, candidate = _fit_and_compare(
            current, encoder, texts, labels, holdout, replace(decision, train_rows=len(train))
        )
    if cancelled is not None and cancelled.is_set():  # past the hook's deadline: keep nothing
        raise ModelError("the retrain ran past its deadline; nothing was recorded")
    _record(store, monitor, config, current, decision, candidate, clock, delivery_id)
    log.info("monitor %s: retrain %s", monitor.name, decision.summary())
    return decision


def _record(
    store: Store,
    monitor: MonitorView,
    config: EmbeddingHeadModelConfig,
    current: Head,
    decision: RetrainDecision,
    candidate: Head | None,
    clock: Clock,
    delivery_id: str | None,
) -> None:
    """The decision, and a promoted candidate as the live version, in one transaction."""
    now = clock.now()
    with store.transaction() as session:
        if decision.promoted and candidate is not None:
            path = _save_version(candidate, versions_folder(config.head))
            register_version(
                session,
                monitor.config,
                current.version,
                candidate.version,
                path,
                "retrain",
                now,
                candidate.metrics,
            )
            make_live(session, monitor.name, candidate.version, now)
        record_decision(
            session,
            monitor.name,
            now,
            delivery_id=delivery_id,
            current_version=decision.current_version,
            candidate_version=decision.candidate_version,
            current_accuracy=decision.current_accuracy,
            candidate_accuracy=decision.candidate_accuracy,
            margin=decision.margin,
            windows=decision.windows,
            train_rows=decision.train_rows,
            holdout_rows=decision.holdout_rows,
            promoted=decision.promoted,
            reason=decision.reason,
        )


def _save_version(head: Head, folder: Path) -> Path:
    """Write the head atomically: a half-written version folder never exists."""
    target = folder / head.version
    publish_folder(target, head.save, done=META_FILE)
    return target


def _predicted_labels(head: Head, embeddings: np.ndarray) -> np.ndarray:
    """The head's predictions as label names: two heads may know different classes, or
    order them differently, so they are compared with the targets by name."""
    return np.asarray(head.labels)[np.asarray(head.classifier.predict(embeddings))]


def _fit_and_compare(
    current: Head,
    encoder: TextEncoder,
    texts: list[str],
    labels: list[str],
    holdout: list[LabelledRow],
    decision: RetrainDecision,
) -> tuple[RetrainDecision, Head | None]:
    decision = replace(decision, holdout_rows=len(holdout))
    candidate = fit_head(encoder, texts, labels, seed=0)
    if candidate.labels != current.labels:
        reason = (
            f"the training rows have classes {list(candidate.labels)}, "
            f"the live head {list(current.labels)}"
        )
        return replace(decision, reason=reason), None
    embeddings = encoder.encode([r.text for r in holdout])
    # a target neither head knows is simply wrong for both (no index to look up)
    comparison = compare(
        np.array([r.target for r in holdout]),
        _predicted_labels(current, embeddings),
        _predicted_labels(candidate, embeddings),
        decision.margin,
        decision.evidence,
    )
    current_accuracy, candidate_accuracy = comparison.live_accuracy, comparison.candidate_accuracy
    promoted, reason = comparison.promoted, comparison.reason
    candidate.metrics = {
        "holdout_accuracy": candidate_accuracy,
        "replaced_holdout_accuracy": current_accuracy,
        "train_rows": float(len(texts)),
        "holdout_rows": float(len(holdout)),
        "holdout_p_value": comparison.p_value,
    }
    decision = replace(
        decision,
        promoted=promoted,
        reason=reason,
        candidate_version=candidate.version,
        current_accuracy=current_accuracy,
        candidate_accuracy=candidate_accuracy,
    )
    return decision, candidate
