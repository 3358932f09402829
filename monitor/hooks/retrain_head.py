"""The built-in retrain-head hook: refit an embedding-head model's head on recent labelled rows
and promote it only when it beats the live head on held-out recent rows by a margin.

`switch_head` moves a running monitor to another head (a promotion, a rollback).
"""

from __future__ import annotations

import logging
import shutil
import threading
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.clock import Clock
from monitor.config import EmbeddingHeadModelConfig, RetrainHeadHook
from monitor.errors import ModelError
from monitor.hooks.base import AttemptResult, Hook, HookContext
from monitor.hooks.versions import head_version, versions_folder
from monitor.metrics.engine import MetricsEngine, Observed
from monitor.models.base import Scores
from monitor.models.embedding_head import EmbeddingHeadModel, Head, fit_head
from monitor.models.encoder import SentenceEncoder
from monitor.store import Store
from monitor.store.model_versions import (
    LabelledRow,
    add_version,
    labelled_rows,
    record_decision,
    set_live,
)

if TYPE_CHECKING:
    from monitor.cycle import MonitorRuntime

log = logging.getLogger("driftwarden.hooks.retrain")
MIN_TRAIN_ROWS = 20
MIN_HOLDOUT_ROWS = 10
_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


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
    train_rows: int = 0
    holdout_rows: int = 0

    def summary(self) -> str:
        if self.candidate_accuracy is None or self.current_accuracy is None:
            return f"not retrained: {self.reason}"
        verdict = "promoted" if self.promoted else "kept the live head"
        return (
            f"{verdict}: candidate {self.candidate_version} held-out accuracy "
            f"{self.candidate_accuracy:.3f} vs live {self.current_version} "
            f"{self.current_accuracy:.3f} (margin {self.margin:g}; "
            f"{self.train_rows} recent rows trained, {self.holdout_rows} held out)"
        )


def _head_model(runtime: MonitorRuntime) -> EmbeddingHeadModel:
    if not isinstance(runtime.model, EmbeddingHeadModel):
        raise ModelError(
            f"monitor {runtime.name} runs a {runtime.config.model.type} model; "
            "retrain-head needs an embedding-head model"
        )
    return runtime.model


def _reference_scores(
    runtime: MonitorRuntime, head: Head, encoder: SentenceEncoder
) -> tuple[Observed, MetricsEngine]:
    column = runtime.config.columns.text
    assert column is not None
    embeddings = encoder.encode(runtime.reference_rows[column].astype(str).tolist())
    probabilities = head.classifier.predict_proba(embeddings)
    scores = Scores(probabilities.argmax(axis=1), head.labels, probabilities, embeddings)
    observed = Observed(runtime.reference.features, scores)
    return observed, MetricsEngine(runtime.config.drift).fit(observed)


def switch_head(
    runtime: MonitorRuntime, head: Head, encoder: SentenceEncoder | None = None
) -> None:
    """Make the running monitor score with `head`, and refit the prediction-drift reference.

    The reference's predictions come from the head, so they are rescored with the new one
    first; then model and metrics are swapped together.
    """
    model = _head_model(runtime)
    if head.encoder != model.encoder.identity:
        raise ModelError(
            f"head {head.version} was fitted on encoder {head.encoder}, "
            f"not on {model.encoder.identity}"
        )
    observed, engine = _reference_scores(runtime, head, encoder or model.encoder)
    model.use_head(head)
    runtime.reference, runtime.engine = observed, engine
    log.info("monitor %s: now scoring with head %s", runtime.name, head.version)


def _save_version(head: Head, folder: Path) -> Path:
    """Write the head atomically: a half-written version folder never exists."""
    target = folder / head.version
    if (target / "head.json").is_file():
        return target
    folder.mkdir(parents=True, exist_ok=True)
    scratch = folder / f".{head.version}.{uuid.uuid4().hex[:8]}.tmp"
    head.save(scratch)
    try:
        scratch.rename(target)
    except OSError:
        shutil.rmtree(scratch, ignore_errors=True)
        if not (target / "head.json").is_file():
            raise
    return target


def _accuracy(head: Head, embeddings: np.ndarray, targets: list[str]) -> float:
    truth = np.array([head.labels.index(t) if t in head.labels else -1 for t in targets])
    return float(np.mean(head.classifier.predict(embeddings) == truth))


def retrain(
    store: Store,
    runtime: MonitorRuntime,
    options: RetrainHeadHook,
    clock: Clock,
    *,
    encoder: SentenceEncoder | None = None,
    delivery_id: str | None = None,
) -> RetrainDecision:
    """Refit, compare on the newest `holdout` share of recent labelled rows, maybe promote.

    Training rows: the reference's labelled rows plus the older part of the labelled rows of
    the newest `windows` runs; the newest part is held out, since it is the data the next
    windows will look like. The decision is recorded whatever it is.
    """
    model = _head_model(runtime)
    encoder = encoder or model.encoder
    config = runtime.config.model
    assert isinstance(config, EmbeddingHeadModelConfig)
    current = model.head
    with store.reading() as session:
        recent = labelled_rows(session, runtime.name, options.windows)
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
    )
    candidate: Head | None = None
    if len(train) >= MIN_TRAIN_ROWS:
        decision, candidate = _fit_and_compare(runtime, current, encoder, train, holdout, decision)
    now = clock.now()
    with store.transaction() as session:
        if decision.promoted and candidate is not None:
            path = _save_version(candidate, versions_folder(config.head))
            if current.version == head_version(config.head):
                configured = str(config.head)
                add_version(session, runtime.name, current.version, configured, "configured", now)
            add_version(
                session,
                runtime.name,
                candidate.version,
                str(path),
                "retrain",
                now,
                metrics=candidate.metrics,
            )
            set_live(session, runtime.name, candidate.version, now)
        record_decision(
            session,
            runtime.name,
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
    if decision.promoted and candidate is not None:
        switch_head(runtime, candidate, encoder)
    log.info("monitor %s: retrain %s", runtime.name, decision.summary())
    return decision


def _fit_and_compare(
    runtime: MonitorRuntime,
    current: Head,
    encoder: SentenceEncoder,
    train: list[LabelledRow],
    holdout: list[LabelledRow],
    decision: RetrainDecision,
) -> tuple[RetrainDecision, Head | None]:
    column = runtime.config.columns.text
    assert column is not None
    texts = [r.text for r in train]
    labels = [r.target for r in train]
    if runtime.reference_target_ids is not None:
        labelled = runtime.reference_target_ids >= 0
        names = runtime.model.class_names
        texts = runtime.reference_rows[column].astype(str)[labelled].tolist() + texts
        labels = [names[i] for i in runtime.reference_target_ids[labelled]] + labels
    decision = replace(decision, train_rows=len(train), holdout_rows=len(holdout))
    candidate = fit_head(encoder, texts, labels, seed=0)
    if candidate.labels != current.labels:
        reason = (
            f"the training rows have classes {list(candidate.labels)}, "
            f"the live head {list(current.labels)}"
        )
        return replace(decision, reason=reason), None
    embeddings = encoder.encode([r.text for r in holdout])
    targets = [r.target for r in holdout]
    current_accuracy = _accuracy(current, embeddings, targets)
    candidate_accuracy = _accuracy(candidate, embeddings, targets)
    gain = candidate_accuracy - current_accuracy
    margin = decision.margin
    promoted = gain > 0 and gain >= margin
    candidate.metrics = {
        "holdout_accuracy": candidate_accuracy,
        "replaced_holdout_accuracy": current_accuracy,
        "train_rows": float(len(texts)),
        "holdout_rows": float(len(holdout)),
    }
    reason = (
        f"better by {gain:+.3f} (margin {margin:g})"
        if promoted
        else f"not better by the margin: {gain:+.3f} < {margin:g}"
    )
    decision = replace(
        decision,
        promoted=promoted,
        reason=reason,
        candidate_version=candidate.version,
        current_accuracy=current_accuracy,
        candidate_accuracy=candidate_accuracy,
    )
    return decision, candidate


def _monitor_lock(monitor: str) -> threading.Lock:
    with _locks_guard:
        return _locks.setdefault(monitor, threading.Lock())


class RetrainHead(Hook):
    """Runs `retrain` for the monitor whose alert fired; a resolved event does nothing.

    The decision, promoted or not, counts as delivered: the hook did its job. It needs the
    monitor running in this process (`HookContext.runtimes`); elsewhere the delivery waits.
    """

    config: RetrainHeadHook

    def __init__(self, name: str, config: RetrainHeadHook, context: HookContext) -> None:
        super().__init__(name, config, context)
        self._encoders: dict[str, SentenceEncoder] = {}

    def accepts(self, monitor: str) -> bool:
        return monitor in self.context.runtimes

    def _encoder(self, model: EmbeddingHeadModel) -> SentenceEncoder:
        """The live encoder when no cycle runs alongside, else a private copy.

        A transformers tokenizer and the embedding cache are not safe to share with a
        cycle scoring in another thread.
        """
        if self.context.share_models:
            return model.encoder
        spec = model.config
        key = f"{spec.encoder}|{spec.backend}"
        if key not in self._encoders:
            self._encoders[key] = SentenceEncoder(
                spec.encoder,
                batch_size=spec.batch_size,
                max_length=spec.max_length,
                threads=spec.threads,
                cache_size=0,
                backend=spec.backend,
            )
        return self._encoders[key]

    def deliver(self, event: dict[str, Any]) -> AttemptResult:
        if event.get("state") != "firing":
            return AttemptResult(True, detail="nothing to retrain on a resolved alert")
        runtime = self.context.runtimes.get(str(event.get("monitor")))
        if runtime is None:
            return AttemptResult(False, True, detail="the monitor does not run in this process")
        try:
            model = _head_model(runtime)
            with _monitor_lock(runtime.name):
                decision = retrain(
                    self.context.store,
                    runtime,
                    self.config,
                    self.context.clock,
                    encoder=self._encoder(model),
                    delivery_id=str(event.get("delivery_id")),
                )
        except ModelError as exc:
            return AttemptResult(False, False, detail=str(exc))
        return AttemptResult(True, detail=decision.summary())
