"""Non-finite scores are a row's problem, not the cycle's (issue 22: a row with 1e308 gave
NaN probabilities, and the estimator then raised `Input contains NaN` on every cycle)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faults.test_stream_faults import Monitor, rows
from monitor.cycle.scoring import NON_FINITE_SCORES

pytestmark = pytest.mark.faults


def test_rows_the_model_scores_nan_are_quarantined_and_the_window_goes_on(
    tmp_path: Path, monkeypatch
) -> None:
    monitor = Monitor(tmp_path)
    frame = rows(0, 42)
    frame.loc[[5, 17], "x"] = [1e308, -1e308]
    frame.to_csv(tmp_path / "stream" / "01.csv", index=False)
    model = monitor.runtime.model
    real = model.score

    def score(inputs):  # as the model did on those rows: NaN probabilities
        scores = real(inputs)
        extreme = np.abs(np.asarray(inputs["x"], dtype=float)) > 1e300
        if scores.probabilities is not None:
            scores.probabilities[extreme] = np.nan
        return scores

    monkeypatch.setattr(model, "score", score)
    (outcome,) = monitor.drain()
    assert outcome.status == "ok" and outcome.rows == 38  # 40 cut, 2 set aside when scored
    reasons = {e["row_id"]: e["reason"] for e in monitor.quarantine()}
    assert reasons == {"r5": NON_FINITE_SCORES, "r17": NON_FINITE_SCORES}
