"""Partial drift: the family's min-p combination holds its level and is consistent with
its members' verdicts, its power rises with the share of drifted rows, and the sequential
test pools windows to catch a shift too small for one, at its stated false-alarm rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from monitor.config import DriftConfig
from monitor.metrics.combination import MinP
from monitor.metrics.engine import MetricsEngine, Observed
from monitor.metrics.identity import row_keys, seed_of
from monitor.metrics.novelty import NearestNeighbourNovelty
from monitor.metrics.sequential import SequentialTest
from monitor.metrics.two_sample import Side
from monitor.records.pool import PooledWindow
from monitor.records.results import FamilyTest
from monitor.records.scores import Scores


def test_min_p_holds_its_level_and_agrees_with_its_critical_value() -> None:
    """Without drift the observed column is one more draw: the combined p-value is uniform
    (three dependent statistics), and it is at or below a level exactly when the smallest
    member p-value is at or below the level's critical value."""
    rng = np.random.default_rng(3)
    mixing = np.array([[1.0, 0.0, 0.0], [0.8, 0.6, 0.0], [0.0, 0.0, 1.0]])
    p_values = []
    for _ in range(400):
        combined = MinP(mixing @ rng.normal(size=(3, 200)))
        p_values.append(combined.p_value)
        for level in (0.01, 0.05, 0.2):
            assert (combined.p_value <= level) == (combined.minimum <= combined.critical(level))
    for level in (0.05, 0.2):
        flagged = int(np.sum(np.array(p_values) <= level))
        assert flagged <= stats.binom.ppf(0.9995, 400, level), (level, flagged)
    assert np.mean(np.array(p_values) <= 0.5) > 0.35  # not merely conservative


def window(rng: np.random.Generator, rows: int, share: float = 0.0, shift: float = 1.0):
    """A text model's window: `share` of its rows have embeddings moved by `shift`."""
    texts = [f"row {rng.integers(1 << 62)}" for _ in range(rows)]
    features = pd.DataFrame(
        {
            "text_length": rng.normal(60, 20, rows).round(),
            "word_count": rng.normal(12, 4, rows).round(),
            "non_letter_share": rng.beta(2, 20, rows),
        }
    )
    embeddings = rng.normal(size=(rows, 8))
    embeddings[: round(rows * share)] += shift
    positive = rng.random(rows) < 0.5
    probabilities = np.c_[1 - positive * 0.8 - 0.1, positive * 0.8 + 0.1]
    scores = Scores(probabilities.argmax(1), ("neg", "pos"), probabilities, embeddings)
    return Observed(features, scores, row_keys(pd.Series(texts)))


def test_power_rises_with_the_share_of_drifted_rows_and_the_record_is_consistent() -> None:
    rng = np.random.default_rng(5)
    config = DriftConfig(alpha=0.05, sequential={"windows": 0})
    engine = MetricsEngine(config, text_descriptors=True).fit(window(rng, 300))
    flagged = {}
    for share in (0.0, 0.2, 0.5):
        results = [engine.calculate(window(rng, 60, share)) for _ in range(12)]
        flagged[share] = sum(r.dataset_drift for r in results)
        for result in results:
            family = result.family
            assert family is not None and family.combined is not None
            assert family.sequential is None  # turned off
            assert set(family.combined.members) == {
                "embedding_mean",
                "embedding",
                "descriptors",
                "predicted_class",
            }
            novelty = family.tests["embedding_novelty"]
            # weighted Holm over the min-p combination (0.7) and the novelty test (0.3)
            assert family.p_value == pytest.approx(
                min(1.0, family.combined.p_value / 0.7, novelty.p_value / 0.3), rel=1e-12
            )
            assert result.dataset_drift == (family.p_value <= 0.05)
            assert result.dataset_drift == any(t.drifted for t in family.tests.values())
    assert flagged[0.0] <= 3 and flagged[0.0] < flagged[0.2] < flagged[0.5] == 12, flagged


HOME = np.r_[3.0, np.zeros(7)]  # embeddings share a common direction, as real ones do


def side(rng: np.random.Generator, rows: int, share: float = 0.0, shift: float = 1.5) -> Side:
    """A window of 8-dimensional rows around `HOME`: `share` of them of a new kind, around
    a point `shift` away on another axis."""
    keys = rng.integers(0, 1 << 62, rows).astype(np.uint64)
    vectors = 0.5 * rng.normal(size=(rows, 8)) + HOME
    vectors[: round(rows * share), 1] += shift
    vectors[: round(rows * share), 0] -= HOME[0]
    return Side(pd.DataFrame(index=range(rows)), np.zeros(rows, int), vectors, keys)


def embeddings(s: Side) -> np.ndarray:
    assert s.embeddings is not None
    return s.embeddings


def observe(test: SequentialTest, s: Side) -> FamilyTest:
    """The window joins the pool, scored as the family scores it, and the pool is tested."""
    found = test.observe(
        PooledWindow(test.key, seed_of(s.keys)[0], s.keys, test.novelty.scores(embeddings(s)))
    )
    assert found is not None
    return found


@pytest.fixture(scope="module")
def novelty() -> NearestNeighbourNovelty:
    return NearestNeighbourNovelty(np.random.default_rng(1).normal(size=(600, 8)) * 0.5 + HOME, [1])


def test_the_sequential_test_pools_windows_to_catch_a_small_shift(novelty) -> None:
    """A few new rows in each 30-row window are caught now and then one window at a time,
    and in every stream once four windows are pooled; without drift, alarms stay near the
    stated rate."""
    rng = np.random.default_rng(2)
    level = 0.02
    test = SequentialTest(novelty, 4, level, 1000)
    null = [observe(test, side(rng, 30)) for _ in range(150)]
    alarms = sum(t.drifted for t in null)
    assert alarms <= 15, alarms  # expected at most 150 x 0.02 = 3; alarms come in runs
    assert all(t.permutations == 1999 and 0 < t.p_value <= 1 for t in null)

    single = SequentialTest(novelty, 1, level, 1000)
    caught_alone = caught_pooled = 0
    for stream in range(8):
        pooled = SequentialTest(novelty, 4, level, 1000)
        windows = [side(np.random.default_rng(100 + stream * 4 + j), 30, 0.1) for j in range(4)]
        caught_alone += sum(observe(single, w).drifted for w in windows)
        caught_pooled += any(observe(pooled, w).drifted for w in windows)
    assert caught_alone <= 20 and caught_pooled >= 7, (caught_alone, caught_pooled)


def test_the_sequential_test_ignores_row_order_and_a_repeated_window(novelty) -> None:
    rng = np.random.default_rng(4)
    windows = [side(rng, 30, 0.2) for _ in range(3)]
    first = SequentialTest(novelty, 3, 0.05, 1000)
    found = [observe(first, w) for w in windows]
    again = SequentialTest(novelty, 3, 0.05, 1000)
    for w in windows:
        order = rng.permutation(30)
        shuffled = Side(w.features, w.predicted_ids, embeddings(w)[order], w.keys[order])
        result = observe(again, shuffled)
    assert result == found[-1]
    assert observe(again, windows[-1]) == found[-1]  # the same window again counts once


def test_the_pool_passed_in_gives_what_the_pool_kept_in_memory_gives() -> None:
    """The cycle hands the engine the stored windows (each result's `pooled` share); a fresh
    engine given them, as after a restart, tests the same pool as one that kept it in memory,
    and one given none starts afresh."""
    config = DriftConfig(alpha=0.01, sequential={"windows": 3, "false_alarms_per_1000": 50})
    reference = window(np.random.default_rng(6), 300)
    windows = [window(np.random.default_rng(60 + k), 40, 0.1) for k in range(5)]
    remembering = MetricsEngine(config, text_descriptors=True).fit(reference)
    in_memory = [remembering.calculate(w) for w in windows]
    shares: list[PooledWindow] = []
    handed = []
    for w in windows:
        fresh = MetricsEngine(config, text_descriptors=True).fit(reference)  # a new process
        result = fresh.calculate(w, history=shares[-3:])
        handed.append(result)
        assert result.family is not None and result.family.pooled is not None
        assert len(result.family.pooled.keys) == 40
        shares.append(result.family.pooled)
    sequential = [r.family.sequential for r in in_memory if r.family is not None]
    assert [r.family.sequential for r in handed if r.family is not None] == sequential
    p_values = [t.p_value for t in sequential if t is not None]
    assert len(set(p_values)) > 1
    forgetful = MetricsEngine(config, text_descriptors=True).fit(reference)
    alone = forgetful.calculate(windows[-1], history=[])
    assert alone.family is not None and alone.family.sequential != sequential[-1]
    assert alone.family.sequential is not None
    # shares scored under other settings (another sample of the reference: other base
    # rows) are not comparable: the pool starts afresh, as with no history at all
    resampled = DriftConfig(
        alpha=0.01,
        sequential={"windows": 3, "false_alarms_per_1000": 50},
        embedding={"sample": 120},
    )
    other = MetricsEngine(resampled, text_descriptors=True).fit(reference)
    foreign = other.calculate(windows[-1], history=shares[-3:-1])
    again = MetricsEngine(resampled, text_descriptors=True).fit(reference)
    assert foreign.family is not None and foreign.family.pooled is not None
    assert foreign.family.pooled.key != shares[0].key
    fresh_other = again.calculate(windows[-1], history=[])
    assert fresh_other.family is not None
    assert foreign.family.sequential == fresh_other.family.sequential
