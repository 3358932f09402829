"""A monitor's long-lived parts: its source, and the model with everything fitted to it.

Built once per process (loading the model and scoring the reference are the slow part) and
reused by every cycle. What depends on the model version (the model, the reference as it
scores it, the metrics engine fitted on that) is one `Scoring`, replaced whole by `swap`,
which only the cycle calls, before a cycle (`monitor.cycle.versions`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitor.config import MonitorConfig
from monitor.cycle.scoring import input_features, model_inputs, row_check, target_ids
from monitor.errors import SourceError
from monitor.metrics.engine import MetricsEngine, Observed
from monitor.models.base import Model, TextEncoder
from monitor.sources.base import Source, SourceContext
from monitor.sources.rows import ROW_ID, RowCheck, split_usable

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

    def names_of(self, ids: np.ndarray | None) -> list[str | None] | None:
        if ids is None:
            return None
        return [self.model.class_names[i] if i >= 0 else None for i in ids]


class MonitorRuntime:
    """A monitor's source and current `Scoring`, and the reference rows they are fitted on.

    Hooks read it through `monitor.hooks.base.MonitorAccess` (name, config, labelled
    reference, encoder); nothing outside the cycle changes it.
    """

    def __init__(
        self, config: MonitorConfig, source: Source, model: Model, reference: pd.DataFrame
    ) -> None:
        self.config = config
        self.source = source
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
        self.scoring = self._fit(model)

    def _fit(self, model: Model) -> Scoring:
        """Score the reference with `model` and fit a metrics engine on it."""
        ids, unknown = target_ids(model, self.reference_rows, self.config)
        if unknown:
            raise SourceError(
                f"reference {self.config.reference.path}: {unknown[0].reason} ({len(unknown)} rows)"
            )
        scores = model.score(model_inputs(model, self.reference_rows, self.config))
        reference = Observed(self.reference_features, scores)
        engine = MetricsEngine(self.config.drift).fit(reference)
        return Scoring(model, reference, ids, engine)

    def swap(self, model: Model) -> None:
        """Score with `model` from the next cycle on: model, reference scores and engine
        change together. Call it only where no cycle of this monitor is running."""
        scoring = self._fit(model)
        previous, self.scoring = self.scoring, scoring
        previous.engine.close()
        log.info("monitor %s: now scoring with %s", self.name, model.version)

    @classmethod
    def build(
        cls, config: MonitorConfig, model: Model | None = None, source: Source | None = None
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
        return cls(config, source, model, reference)

    # -- what the cycle reads

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def model(self) -> Model:
        return self.scoring.model

    @property
    def reference(self) -> Observed:
        return self.scoring.reference

    @property
    def engine(self) -> MetricsEngine:
        return self.scoring.engine

    # -- what hooks read (MonitorAccess)

    def labelled_reference(self) -> tuple[list[str], list[str]]:
        """The reference's labelled texts and their class names (empty for tabular models)."""
        scoring = self.scoring
        column = self.config.columns.text
        names = scoring.names_of(scoring.reference_target_ids)
        if column is None or names is None:
            return [], []
        texts = self.reference_rows[column].astype(str).tolist()
        pairs = [(text, name) for text, name in zip(texts, names, strict=True) if name is not None]
        return [text for text, _ in pairs], [name for _, name in pairs]

    def text_encoder(self) -> TextEncoder | None:
        return self.scoring.model.text_encoder()

    def close(self) -> None:
        """Stop the metrics engine's worker processes and release the source."""
        self.scoring.engine.close()
        self.source.close()


def _needed_columns(config: MonitorConfig) -> list[str]:
    if config.columns.text is not None:
        return [config.columns.text]
    return list(config.columns.features or [])
