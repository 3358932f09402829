"""A monitor's long-lived parts: its source, and the model with everything fitted to it.

Built once per process (loading the model and scoring the reference are the slow part) and
reused by every cycle. What depends on the model version (the model, the reference as it
scores it, the metrics engine and the quality estimator fitted on that) is one `Scoring`,
replaced whole by `swap`, which only the version switch calls, before a cycle
(`monitor.versions.switch`).

The reference is scored when the `Scoring` is first needed, and once a store is known
(`use_store`, before every cycle) its scores are looked up there first: a process that
starts with the same reference rows, model version and settings as an earlier one reuses
that one's scores (`monitor.cycle.reference`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitor.config import MonitorConfig
from monitor.cycle.reference import ScoredReference, StoredReferences, reference_key
from monitor.cycle.scoring import (
    input_features,
    input_keys,
    model_inputs,
    row_check,
    target_ids,
)
from monitor.errors import DriftwardenError, SourceError
from monitor.metrics.engine import MetricsEngine, Observed
from monitor.metrics.estimation import (
    ConfidenceEstimator,
    EstimationInput,
    Estimator,
    LabelledReference,
    build_estimator,
)
from monitor.models.base import Model, ModelInputs, TextEncoder
from monitor.records.rows import ROW_ID
from monitor.records.scores import Scores
from monitor.sources.base import Source, SourceContext
from monitor.sources.rows import RowCheck, split_usable
from monitor.store import Store

log = logging.getLogger("driftwarden.cycle")


@dataclass(frozen=True)
class Scoring:
    """What changes together with the model version, so a window never mixes two."""

    model: Model
    #: the reference's features and this model's scores of them
    reference: Observed
    #: class ids of the reference's labels in this model's classes (-1: unlabelled)
    reference_target_ids: np.ndarray | None
    #: fitted on `reference`
    engine: MetricsEngine
    #: label-free quality estimates, calibrated on the labelled `reference`
    estimator: Estimator
    #: the key the scored reference is kept under in the store (`runs.reference_key`)
    reference_key: str | None = None

    def estimation_input(self, scores: Scores, inputs: ModelInputs) -> EstimationInput | None:
        """What the estimator may see of scored rows (None: the model gives no probabilities)."""
        if scores.probabilities is None:
            return None
        members = self.model.training_members(inputs)
        return EstimationInput(scores.probabilities, scores.embeddings, members)

    def names_of(self, ids: np.ndarray | None) -> list[str | None] | None:
        if ids is None:
            return None
        return [self.model.class_names[i] if i >= 0 else None for i in ids]


class MonitorRuntime:
    """A monitor's source and current `Scoring`, and the reference rows they are fitted on.

    Hooks read it through a read-only `monitor.versions.view.MonitorView` (name, config,
    version, labelled reference, encoder), never the runtime itself; only the version
    switch (`monitor.versions.switch.switch_to`) changes its model.
    """

    def __init__(
        self,
        config: MonitorConfig,
        source: Source,
        model: Model,
        reference: pd.DataFrame,
        labels: Source | None = None,
    ) -> None:
        self.config = config
        self.source = source
        #: the `labels:` source, read by the label join (None: the monitor has none)
        self.labels = labels
        ids = [f"reference:{i}" for i in range(len(reference))]
        usable, rejected, _ = split_usable(
            reference.assign(**{ROW_ID: ids}), RowCheck(config.columns), limit=None
        )
        if usable.empty:
            raise SourceError(
                f"the reference {config.reference.path} has no usable rows "
                f"({rejected[0].reason if rejected else 'it is empty'})"
            )
        if rejected:
            log.warning(
                "reference %s: %d unusable rows left out (first: %s)",
                config.reference.path,
                len(rejected),
                rejected[0].reason,
            )
        self.reference_rows = usable
        self.reference_features = input_features(usable, config)
        self.reference_keys = input_keys(usable, config)
        self._model = model
        self._scoring: Scoring | None = None
        self._references: StoredReferences | None = None
        #: the scored reference not yet kept in the store (scored before a store was known)
        self._unkept: tuple[str, ScoredReference] | None = None

    @property
    def scoring(self) -> Scoring:
        """The current model with the reference it scored and the engine fitted on that."""
        if self._scoring is None:
            self._scoring = self._fit(self._model)
        return self._scoring

    def prepare(self) -> Scoring:
        """Score the reference now (or find its scores in the store), not at the cycle."""
        return self.scoring

    def use_store(self, store: Store) -> None:
        """Find scored references in `store`, and keep the ones this process scores there
        (one that could not be kept yet, such as while the store refused writes, too)."""
        if self._references is None or self._references.store is not store:
            self._references = StoredReferences(store)
        if self._unkept is not None:
            self._keep(*self._unkept)

    def take_unkept(self) -> tuple[str, bytes] | None:
        """The scored reference this process has not kept in a store, as (key, bytes), once:
        a Dask worker, which has no store, hands it to the daemon to keep."""
        unkept, self._unkept = self._unkept, None
        return None if unkept is None else (unkept[0], unkept[1].to_bytes())

    def _keep(self, key: str, scored: ScoredReference) -> None:
        """Keep a scored reference in the store; a store that refuses only costs the reuse
        (the cycle's own transaction reports a store that is down)."""
        assert self._references is not None
        try:
            self._references.save(self.name, key, scored)
        except DriftwardenError as exc:
            self._unkept = (key, scored)
            log.warning("monitor %s: the scored reference is not kept yet: %s", self.name, exc)
        else:
            self._unkept = None

    def _fit(self, model: Model) -> Scoring:
        """Score the reference with `model` (or reuse its kept scores) and fit an engine."""
        ids, unknown = target_ids(model, self.reference_rows, self.config)
        if unknown:
            raise SourceError(
                f"reference {self.config.reference.path}: {unknown[0].reason} ({len(unknown)} rows)"
            )
        key = reference_key(self.config, model, self.reference_rows)
        inputs = model_inputs(model, self.reference_rows, self.config)
        scores = self._kept_scores(key, model)
        if scores is None:
            scores = model.score(inputs)
            scored = ScoredReference(self.reference_features, scores, ids)
            self._unkept = (key, scored)
            if self._references is not None:
                self._keep(key, scored)
        column = self.config.columns.text
        texts = None if column is None else self.reference_rows[column].astype(str).tolist()
        reference = Observed(self.reference_features, scores, self.reference_keys, texts)
        text = self.config.columns.text is not None
        engine = MetricsEngine(self.config.drift, text_descriptors=text).fit(reference)
        estimator = self._estimator(model, scores, ids, inputs)
        return Scoring(model, reference, ids, engine, estimator, key)

    def _estimator(
        self, model: Model, scores: Scores, ids: np.ndarray | None, inputs: ModelInputs
    ) -> Estimator:
        if scores.probabilities is None:
            return ConfidenceEstimator()  # never asked: the window gives no probabilities
        labelled = LabelledReference(
            scores.probabilities,
            scores.embeddings,
            model.training_members(inputs),
            np.full(len(scores), -1) if ids is None else ids,
            model.head_refitter(),
        )
        return build_estimator(self.config.estimation.method, labelled)

    def _kept_scores(self, key: str, model: Model) -> Scores | None:
        if self._references is None:
            return None
        kept = self._references.load(self.name, key)
        if kept is None or len(kept.scores) != len(self.reference_rows):
            return None
        log.info("monitor %s: reusing the reference scored by %s", self.name, model.version)
        return kept.scores

    def swap(self, model: Model) -> None:
        """Score with `model` from the next cycle on: model, reference scores and engine
        change together. Only `monitor.versions.switch.switch_to` calls it, where no cycle
        of this monitor is running."""
        scoring = self._fit(model)
        previous, self._scoring = self._scoring, scoring
        self._model = model
        if previous is not None:
            previous.engine.close()
        log.info("monitor %s: now scoring with %s", self.name, model.version)

    @classmethod
    def build(
        cls,
        config: MonitorConfig,
        model: Model | None = None,
        source: Source | None = None,
        labels: Source | None = None,
    ) -> MonitorRuntime:
        """Load the model and reference a config names; the source cuts windows by the same
        row rule as the model reads (a label it does not know makes a row unusable)."""
        from monitor.models.registry import load_model
        from monitor.sources.files import read_table
        from monitor.sources.registry import build_source

        reference = read_table(config.reference.path)
        if config.columns.target and config.columns.target not in reference.columns:
            log.info(
                "reference %s has no column %r: no quality in snapshots",
                config.reference.path,
                config.columns.target,
            )
        if config.reference.rows is not None and len(reference) > config.reference.rows:
            reference = reference.sample(config.reference.rows, random_state=0).sort_index()
        for column in _needed_columns(config):
            if column not in reference.columns:
                raise SourceError(
                    f"reference {config.reference.path} has no column {column!r} "
                    f"(columns: {', '.join(map(str, reference.columns))})"
                )
        model = model or load_model(config.model)
        if source is None:
            context = SourceContext(
                config.name, config.columns, config.window, row_check(model, config, reference)
            )
            source = build_source(config.stream, context)
        if labels is None and config.labels is not None:
            from monitor.labels.base import build_labels_source

            labels = build_labels_source(config.labels, config.name)
        return cls(config, source, model, reference, labels)

    # -- what the cycle reads

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def model(self) -> Model:
        return self._model

    @property
    def reference(self) -> Observed:
        return self.scoring.reference

    @property
    def engine(self) -> MetricsEngine:
        return self.scoring.engine

    # -- what hooks read (through MonitorView)

    def labelled_reference(self) -> tuple[list[str], list[str]]:
        """The reference's labelled texts and their class names (empty for tabular models)."""
        column = self.config.columns.text
        ids, _ = target_ids(self._model, self.reference_rows, self.config)
        if column is None or ids is None:
            return [], []
        names = [self._model.class_names[i] if i >= 0 else None for i in ids]
        texts = self.reference_rows[column].astype(str).tolist()
        pairs = [(text, name) for text, name in zip(texts, names, strict=True) if name is not None]
        return [text for text, _ in pairs], [name for _, name in pairs]

    def text_encoder(self) -> TextEncoder | None:
        return self._model.text_encoder()

    def stop_workers(self) -> None:
        """Stop the metrics engine's worker processes, if any were started."""
        if self._scoring is not None:
            self._scoring.engine.close()

    def close(self) -> None:
        """Stop the metrics engine's worker processes and release the sources."""
        self.stop_workers()
        self.source.close()
        if self.labels is not None:
            self.labels.close()


def _needed_columns(config: MonitorConfig) -> list[str]:
    if config.columns.text is not None:
        return [config.columns.text]
    return list(config.columns.features or [])
