"""Plan label requests for a monitor: read its newest windows from the store, score their
rows with the live model, and choose the unlabelled ones unlike the reference and uncertain
(`monitor.metrics.label_choice`), as Label Studio tasks and as table rows."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from monitor.config import MonitorConfig
from monitor.errors import UsageError
from monitor.metrics.explain import Explainer
from monitor.metrics.label_choice import choose, request_scores, uncertainty
from monitor.store import Store
from monitor.store.explanations import LabelRequest, record_requests, requested_rows
from monitor.store.run_reads import predictions, stored_runs
from monitor.versions.switch import activate_live_version


@dataclass
class LabelRequestPlan:
    """The chosen rows (`table`), the same as Label Studio tasks, and what they came from."""

    monitor: str
    tasks: list[dict[str, Any]] = field(default_factory=list)
    table: list[dict[str, Any]] = field(default_factory=list)
    requests: list[LabelRequest] = field(default_factory=list)
    windows: int = 0
    candidates: int = 0

    def record(self, store: Store) -> None:
        """Remember the requested rows, so a later plan skips them."""
        if not self.requests:
            return
        with store.transaction() as session:
            record_requests(session, self.monitor, self.requests, datetime.now(UTC))


def plan_requests(store: Store, config: MonitorConfig, budget: int | None) -> LabelRequestPlan:
    """The rows to ask labellers for; a UsageError where the monitor cannot say (no text,
    a model without embeddings or probabilities, no scored reference)."""
    from monitor.cycle.runtime import MonitorRuntime
    from monitor.cycle.scoring import model_inputs

    options = config.label_requests
    text_column = config.columns.text
    assert text_column is not None
    plan = LabelRequestPlan(config.name)
    with store.reading() as session:
        runs = [
            r.run
            for r in stored_runs(session, config.name, limit=options.windows)
            if r.run.status == "ok" and r.run.rows
        ]
        logged = {run.id: predictions(session, run.id) for run in runs}
        asked = requested_rows(session, config.name)
    labelled = {p.row_id for rows in logged.values() for p in rows if p.target is not None}
    plan.windows = len(runs)
    rows = [(run.id, p) for run in runs for p in logged[run.id] if p.text is not None]
    if not rows:
        return plan
    runtime = MonitorRuntime.build(config)
    # the store's live version, not the configured one: after a promotion, rows are picked
    # by what the daemon scores with
    activate_live_version(store, runtime)
    scoring = runtime.scoring
    reference_embeddings = scoring.reference.scores.embeddings
    frame = pd.DataFrame({text_column: [p.text for _, p in rows]})
    scores = scoring.model.score(model_inputs(scoring.model, frame, config))
    if scores.embeddings is None or reference_embeddings is None:
        raise UsageError(
            f"monitor {config.name}'s model gives no embeddings ({config.model.type}): "
            "label requests need an embedding model (embedding-head or transformers)"
        )
    if scores.probabilities is None:
        raise UsageError(f"monitor {config.name}'s model gives no class probabilities")
    explainer = Explainer(
        runtime.reference_rows[text_column].astype(str).tolist(),
        scoring.reference.features,
        reference_embeddings,
        scoring.engine.embedding_bandwidth,
    )
    windows = np.array([run_id for run_id, _ in rows])
    unlike = np.empty(len(rows))
    for run_id in np.unique(windows):  # a window's witness: its rows against the reference
        members = windows == run_id
        unlike[members] = explainer.window_witness(scores.embeddings[members])
    uncertain = uncertainty(scores.probabilities)
    open_rows = np.array([p.row_id not in labelled and p.row_id not in asked for _, p in rows])
    plan.candidates = int(open_rows.sum())
    if not plan.candidates:
        return plan
    # ranks among the open rows only: labelled rows are not on offer
    positions = np.flatnonzero(open_rows)
    ranked = request_scores(uncertain[positions], unlike[positions])
    picked = positions[
        choose(
            ranked,
            windows[positions],
            budget or options.budget,
            options.per_window,
            scores.embeddings[positions],
            explainer.bandwidth,
        )
    ]
    score_of = dict(zip(positions.tolist(), ranked.tolist(), strict=True))
    id_key = config.columns.id or "row_id"
    label_key = (config.labels.label_column if config.labels else None) or (
        config.columns.target or "label"
    )
    for position in picked.tolist():
        run_id, row = rows[position]
        predicted = scores.class_names[int(scores.predicted_ids[position])]
        confidence = float(np.max(scores.probabilities[position]))
        request = LabelRequest(int(run_id), row.row_id, float(score_of[position]))
        plan.requests.append(request)
        plan.table.append(
            {
                id_key: row.row_id,
                text_column: row.text,
                "predicted": predicted,
                "confidence": round(confidence, 4),
                "request_score": round(request.score, 4),
                "run_id": request.run_id,
            }
        )
        plan.tasks.append(
            {
                "data": {
                    id_key: row.row_id,
                    text_column: row.text,
                    "monitor": config.name,
                    "run_id": request.run_id,
                    "request_score": round(request.score, 4),
                },
                "predictions": [
                    {
                        "model_version": scores.version or scoring.model.version,
                        "score": round(confidence, 4),
                        "result": [
                            {
                                "from_name": label_key,
                                "to_name": text_column,
                                "type": "choices",
                                "value": {"choices": [predicted]},
                            }
                        ],
                    }
                ],
            }
        )
    return plan
