"""The nearest-neighbour novelty test (`monitor.metrics.novelty`): its score is what it
says, its statistic is the rank tail it documents, its p-value is exact without drift,
and it finds a few rows of a new kind."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.neighbors import NearestNeighbors

from monitor.metrics.novelty import NearestNeighbourNovelty


def test_a_rows_novelty_is_its_mean_cosine_distance_to_its_nearest_base_rows() -> None:
    rng = np.random.default_rng(0)
    reference = rng.normal(size=(200, 6))
    test = NearestNeighbourNovelty(reference, [3], neighbours=7)
    # half the reference is the base, the other half calibrates; together, every row once
    assert len(test.base) == 100 and len(test.calibration) == 100
    unit = reference / np.linalg.norm(reference, axis=1, keepdims=True)
    assert {tuple(r) for r in test.base} < {tuple(r) for r in unit}
    window = rng.normal(size=(30, 6)) * rng.uniform(0.5, 5.0, size=(30, 1))  # any lengths
    nearest = NearestNeighbors(n_neighbors=7, metric="cosine").fit(test.base)
    distances, _ = nearest.kneighbors(window)
    assert test.scores(window) == pytest.approx(distances.mean(axis=1), rel=1e-9, abs=1e-12)


def test_the_p_value_is_exact_without_drift() -> None:
    """Windows from the reference's distribution, each against a fresh reference: flagged no
    more often than the level allows (the binomial bound), and not merely never."""
    flagged = {0.05: 0, 0.2: 0}
    trials = 400
    for trial in range(trials):
        rng = np.random.default_rng(1000 + trial)
        test = NearestNeighbourNovelty(rng.normal(size=(120, 5)), [trial])
        _, p_value = test.test(rng.normal(size=(40, 5)))
        for level in flagged:
            flagged[level] += p_value <= level
    for level, count in flagged.items():
        assert count <= stats.binom.ppf(0.9995, trials, level), (level, count)
    assert flagged[0.2] >= 0.5 * 0.2 * trials, flagged  # discrete, a little conservative


def test_a_fifth_of_the_rows_from_a_new_cluster_is_found() -> None:
    rng = np.random.default_rng(5)
    home = np.r_[3.0, np.zeros(7)]  # embeddings share a common direction, as real ones do
    test = NearestNeighbourNovelty(0.5 * rng.normal(size=(400, 8)) + home, [1])
    window = 0.5 * rng.normal(size=(100, 8)) + home
    window[:20, :2] += [-3.0, 3.0]  # a new kind of row points elsewhere
    excess, p_value = test.test(window)
    assert p_value == 1 / (1 + test.permutations)  # no random subset reached it
    quiet_excess, quiet_p = test.test(0.5 * rng.normal(size=(100, 8)) + home)
    assert quiet_p > 0.01 and excess > quiet_excess


def test_the_statistic_is_the_window_rows_mean_rank_excess_over_the_tail() -> None:
    """Computed directly: pooled ranks as shares, `max(u - 0.85, 0)` averaged over the
    window's rows; the p-value is the share of random subsets at least as large, +1."""
    rng = np.random.default_rng(6)
    test = NearestNeighbourNovelty(rng.normal(size=(80, 5)), [2], permutations=499)
    window = rng.normal(0.2, 1.0, size=(30, 5))
    pooled = np.r_[test.calibration, test.scores(window)]
    u = stats.rankdata(pooled) / len(pooled)
    excess = np.maximum(u - 0.85, 0.0)
    statistic, p_value = test.test(window)
    assert statistic == pytest.approx(excess[40:].mean(), rel=1e-12)
    assert len(test.calibration) == 40
    # the null: sums over random 30-row subsets of the 70 pooled rows; the observed one is
    # among them in distribution, so the p-value is a multiple of 1 / 500
    assert p_value * 500 == pytest.approx(round(p_value * 500))
    subsets = np.random.default_rng(9).permuted(np.tile(np.arange(70), (4000, 1)), axis=1)
    share = np.mean(excess[subsets[:, :30]].sum(axis=1) >= excess[40:].sum() - 1e-9)
    assert p_value == pytest.approx(share, abs=0.05)


def test_row_order_does_not_matter_and_the_seed_fixes_the_split() -> None:
    rng = np.random.default_rng(8)
    reference, window = rng.normal(size=(150, 4)), rng.normal(0.3, 1.0, size=(50, 4))
    test = NearestNeighbourNovelty(reference, [4])
    assert test.test(window[rng.permutation(50)]) == test.test(window)
    again = NearestNeighbourNovelty(reference, [4])
    assert np.array_equal(again.base, test.base)
    other = NearestNeighbourNovelty(reference, [5])
    assert not np.array_equal(other.base, test.base)


def test_a_reference_too_small_to_split_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="novelty test needs at least 4 reference rows, got 3"):
        NearestNeighbourNovelty(np.zeros((3, 2)), [0])
    test = NearestNeighbourNovelty(np.random.default_rng(0).normal(size=(10, 2)), [0])
    assert test.neighbours == 5  # never more neighbours than base rows
    assert test.test(np.zeros((0, 2))) == (0.0, 1.0)  # an empty window is no evidence


def test_a_large_pool_draws_its_subsets_in_smaller_chunks_to_the_same_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Memory is bounded by drawing fewer subsets at a time; the p-value is the same test."""
    from monitor.metrics import novelty

    rng = np.random.default_rng(12)
    reference, window = rng.normal(size=(300, 6)), rng.normal(0.15, 1.0, size=(80, 6))
    whole = NearestNeighbourNovelty(reference, [3]).test(window)
    monkeypatch.setattr(novelty, "_CHUNK_CELLS", 400)  # about ten subsets at a time
    chunked = NearestNeighbourNovelty(reference, [3])
    statistic, p_value = chunked.test(window)
    assert statistic == whole[0]
    assert p_value * 2000 == pytest.approx(round(p_value * 2000))  # still 1,999 subsets
    assert p_value == pytest.approx(whole[1], abs=0.04)  # another draw of the same null
