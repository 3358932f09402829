"""The promotion rule both retrains share (`monitor/versions/evidence.py`): a gain by the
margin promotes only when the rows where the two versions disagree say it is not chance."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from monitor.hooks.specs import RetrainFmHook, RetrainHeadHook
from monitor.versions.evidence import compare


def versions(rows: int, wins: int, losses: int, both_right: int) -> tuple[np.ndarray, ...]:
    """Truth and two versions' predictions with the given counts of disagreeing rows."""
    truth = np.ones(rows, dtype=int)
    live, candidate = np.zeros(rows, dtype=int), np.zeros(rows, dtype=int)
    candidate[:wins] = 1  # the candidate alone right
    live[wins : wins + losses] = 1  # the live version alone right
    live[wins + losses : wins + losses + both_right] = 1
    candidate[wins + losses : wins + losses + both_right] = 1
    return truth, live, candidate


def test_one_row_won_of_fourteen_is_not_evidence() -> None:
    # benchmarks/improvement.py's bad head promotion: 0.714 against 0.643 on 14 rows
    truth, live, candidate = versions(14, wins=1, losses=0, both_right=9)
    found = compare(truth, live, candidate, margin=0.01, evidence=0.05)
    assert found.gain == pytest.approx(1 / 14)
    assert not found.promoted and found.p_value == pytest.approx(0.5)
    assert "not evidence: p 0.5 > 0.05 (1 rows won, 0 lost of 14)" in found.reason
    assert compare(truth, live, candidate, margin=0.01, evidence=1.0).promoted  # margin alone


def test_a_consistent_win_is_promoted_and_the_p_value_is_the_binomial_tail() -> None:
    truth, live, candidate = versions(50, wins=9, losses=1, both_right=35)
    found = compare(truth, live, candidate, margin=0.01, evidence=0.05)
    assert (found.wins, found.losses, found.rows) == (9, 1, 50)
    assert found.p_value == pytest.approx(stats.binomtest(9, 10, 0.5, "greater").pvalue)
    assert found.promoted and found.gain == pytest.approx(8 / 50)


def test_the_margin_still_binds_and_a_tie_never_promotes() -> None:
    truth, live, candidate = versions(400, wins=30, losses=10, both_right=300)
    assert compare(truth, live, candidate, margin=0.01, evidence=0.05).promoted
    blocked = compare(truth, live, candidate, margin=0.10, evidence=0.05)
    assert not blocked.promoted and "not better by the margin" in blocked.reason
    same = compare(truth, live, live, margin=0.0, evidence=1.0)
    assert not same.promoted and same.p_value == 1.0


@pytest.mark.parametrize("hook", [RetrainHeadHook, RetrainFmHook])
def test_both_hooks_take_an_evidence_level_in_range(hook) -> None:
    kind = "retrain-head" if hook is RetrainHeadHook else "retrain-fm"
    assert hook.model_validate({"type": kind}).evidence == 0.2
    assert hook.model_validate({"type": kind, "evidence": 1}).evidence == 1
    with pytest.raises(ValueError, match="evidence"):
        hook.model_validate({"type": kind, "evidence": 0})


def test_heads_are_compared_by_label_name_whatever_classes_they_know() -> None:
    """A candidate fitted on rows with a class the live head never saw orders its classes
    differently; a target neither knows is wrong for both, not an error."""
    from monitor.models.embedding_head import Head
    from monitor.versions.head_retrain import _predicted_labels

    class Fixed:
        def __init__(self, ids: list[int]) -> None:
            self.ids = ids

        def predict(self, embeddings: np.ndarray) -> np.ndarray:
            return np.array(self.ids[: len(embeddings)])

    live = Head(Fixed([0, 1, 1, 0]), ("neg", "pos"), "e", "live", "", {})
    candidate = Head(Fixed([2, 1, 0, 1]), ("mixed", "neg", "pos"), "e", "cand", "", {})
    rows = np.zeros((4, 2))
    truth = np.array(["pos", "neg", "pos", "mixed"])
    assert list(_predicted_labels(candidate, rows)) == ["pos", "neg", "mixed", "neg"]
    found = compare(
        truth, _predicted_labels(live, rows), _predicted_labels(candidate, rows), 0.0, 1.0
    )
    # live: neg pos pos neg, right on row 2 only; candidate: pos neg mixed neg, rows 0 and 1
    assert (found.live_accuracy, found.candidate_accuracy) == (0.25, 0.5)
    assert (found.wins, found.losses) == (2, 1)
