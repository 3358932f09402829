"""The drift family behind `dataset_drift`: exact permutation tests, the stated false-alarm
rate, and flags that depend on the windows alone (not on row order, window order, the
embedding cache or the process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from monitor.config import DriftConfig
from monitor.metrics.combination import holm
from monitor.metrics.descriptors import text_descriptors
from monitor.metrics.engine import MetricsEngine, Observed
from monitor.metrics.identity import row_keys
from monitor.metrics.permutation import (
    SCALES,
    KernelStatistic,
    SplitPlan,
    squared_distances,
    window_side,
)
from monitor.metrics.two_sample import ContingencyMember, Measured, Side
from monitor.metrics.whitened import WhitenedMeans, _Pooled
from monitor.models.specs import TransformersModelConfig
from monitor.records.scores import Scores


def unbiased_mmd(reference: np.ndarray, window: np.ndarray, bandwidth: float) -> float:
    """MMD² as the textbook U-statistic under the sum of kernels, computed directly."""

    def kernel(a, b):
        distances = squared_distances(a, b)
        return sum(np.exp(-distances / (s * bandwidth)) for s in SCALES) / len(SCALES)

    n, m = len(reference), len(window)
    k_rr, k_ww, k_rw = (
        kernel(reference, reference),
        kernel(window, window),
        kernel(reference, window),
    )
    within_r = (k_rr.sum() - np.trace(k_rr)) / (n * (n - 1))
    within_w = (k_ww.sum() - np.trace(k_ww)) / (m * (m - 1))
    return float(within_r + within_w - 2 * k_rw.mean())


def split_p_value(
    kernel: KernelStatistic | WhitenedMeans, plan: SplitPlan, window: np.ndarray, seed: int
):
    """The full permutation p-value of `window`, every split of the plan."""
    rng = np.random.default_rng(seed)
    z_w = window_side(rng, len(window), plan.reference_side(len(window)).window_places)
    values = kernel.statistics(window, plan, z_w)
    return values, float(np.mean(values >= values[0] - 1e-12))


def test_the_statistic_is_the_unbiased_mmd_and_its_bandwidth_the_median() -> None:
    rng = np.random.default_rng(1)
    reference, window = rng.normal(size=(80, 6)), rng.normal(0.4, 1.0, size=(30, 6))
    kernel, plan = KernelStatistic(reference), SplitPlan(80, [3], 199)
    distances = squared_distances(reference, reference)[np.triu_indices(80, k=1)]
    assert kernel.bandwidth == pytest.approx(np.median(distances), rel=1e-12)
    values, _ = split_p_value(kernel, plan, window, 5)
    assert len(values) == 200
    assert values[0] == pytest.approx(unbiased_mmd(reference, window, kernel.bandwidth), abs=1e-12)
    # a split's statistic is the MMD² of the rows it puts on each side
    pooled = np.vstack([reference, window])
    z_r = plan.reference_side(30).z_r[:, 0]
    z_w = window_side(np.random.default_rng(5), 30, plan.reference_side(30).window_places)[:, 0]
    moved = np.r_[z_r, z_w.astype(bool)]
    expected = unbiased_mmd(pooled[~moved], pooled[moved], kernel.bandwidth)
    assert values[1] == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(
    ("dimensions", "rows", "low_rank"),
    [(4, 20, False), (48, 10, True), (48, 23, True), (48, 24, False)],
    ids=["cholesky", "woodbury", "woodbury-largest-window", "window-too-large-for-woodbury"],
)
def test_the_whitened_statistic_is_the_unbiased_distance_of_whitened_means(
    dimensions: int, rows: int, low_rank: bool
) -> None:
    """Observed and split values equal the unbiased squared distance of the two sides'
    means after whitening the pooled rows with (C + ridge * mean eigenvalue * I)^(-1/2),
    whichever way the statistic is computed (a window of fewer rows than half the
    dimensions goes through the Woodbury identity)."""
    rng = np.random.default_rng(3)
    spread = rng.uniform(0.2, 5.0, size=dimensions)
    reference = rng.normal(size=(60, dimensions)) * spread + 3.0  # far from the origin
    window = rng.normal(0.2, 1.0, size=(rows, dimensions)) * spread + 3.0
    test, plan = WhitenedMeans(reference, ridge=0.5), SplitPlan(60, [2], 99)

    def direct(a: np.ndarray, b: np.ndarray) -> float:
        pooled = np.vstack([reference, window])
        covariance = np.cov(pooled.T)
        ridge = 0.5 * np.trace(covariance) / dimensions
        metric = np.linalg.inv(covariance + ridge * np.eye(dimensions))
        k_aa, k_bb, k_ab = a @ metric @ a.T, b @ metric @ b.T, a @ metric @ b.T
        na, nb = len(a), len(b)
        return float(
            (k_aa.sum() - np.trace(k_aa)) / (na * (na - 1))
            + (k_bb.sum() - np.trace(k_bb)) / (nb * (nb - 1))
            - 2 * k_ab.mean()
        )

    values, _ = split_p_value(test, plan, window, 4)
    assert (test._rotated is not None) is low_rank
    assert values[0] == pytest.approx(direct(reference, window), rel=1e-9)
    pooled = np.vstack([reference, window])
    sides = plan.reference_side(rows)
    for split in (0, 1, 50):
        z_r = sides.z_r[:, split]
        z_w = window_side(np.random.default_rng(4), rows, sides.window_places)[:, split]
        moved = np.r_[z_r, z_w.astype(bool)]
        assert values[1 + split] == pytest.approx(direct(pooled[~moved], pooled[moved]), rel=1e-9)


@pytest.mark.parametrize("offset", [0.0, 1e3, 1e6])
def test_the_whitened_statistics_two_ways_agree_far_from_the_origin(offset: float) -> None:
    """The Woodbury way and the Cholesky way keep moments about the reference's mean, so
    rows far from the origin cost them no more than rounding."""
    rng = np.random.default_rng(5)
    reference, window = rng.normal(size=(60, 40)) + offset, rng.normal(0.3, 1, (8, 40)) + offset
    test, plan = WhitenedMeans(reference, ridge=0.5), SplitPlan(60, [1], 99)
    z_w = window_side(np.random.default_rng(2), 8, plan.reference_side(8).window_places)
    low_rank = test.statistics(window, plan, z_w)
    assert test._rotated is not None
    pooled = _Pooled(test, window)
    cholesky = np.concatenate([[pooled.observed()], pooled.statistics(plan, z_w)])
    assert np.abs(low_rank - cholesky).max() <= 1e-8 * np.abs(cholesky).max()
    assert low_rank[0] > np.quantile(low_rank[1:], 0.9)  # the shift is seen either way


def test_rows_that_do_not_vary_give_no_distance_either_way() -> None:
    """Equal rows everywhere: rounding, not a variance, so the ridge falls back to its
    multiple alone and every statistic is nil (not a ratio of rounding errors)."""
    reference, window = np.full((60, 40), 0.3), np.full((8, 40), 0.3)
    test, plan = WhitenedMeans(reference), SplitPlan(60, [1], 99)
    z_w = window_side(np.random.default_rng(2), 8, plan.reference_side(8).window_places)
    assert np.abs(test.statistics(window, plan, z_w)).max() < 1e-20
    pooled = _Pooled(test, window)
    assert abs(pooled.observed()) < 1e-20
    assert np.abs(pooled.statistics(plan, z_w)).max() < 1e-20


def test_a_cache_of_splits_is_kept_by_what_the_plan_holds_not_by_its_id() -> None:
    """Two plans of other seeds give other statistics, even where the second plan is made
    after the first is gone (and may reuse its memory address)."""
    rng = np.random.default_rng(6)
    reference, window = rng.normal(size=(60, 40)), rng.normal(size=(8, 40))
    fresh = {}
    for statistic in (KernelStatistic, WhitenedMeans):
        kept = statistic(reference)
        for seed in (1, 2, 3):
            plan = SplitPlan(60, [seed], 99)
            z_w = window_side(np.random.default_rng(2), 8, plan.reference_side(8).window_places)
            expected = statistic(reference).statistics(window, plan, z_w)
            assert np.allclose(kept.statistics(window, plan, z_w), expected, rtol=1e-12)
            fresh[statistic.__name__, seed] = expected
            del plan
        assert not np.allclose(fresh[statistic.__name__, 1], fresh[statistic.__name__, 2])


@pytest.mark.parametrize("statistic", [KernelStatistic, WhitenedMeans])
@pytest.mark.parametrize("alpha", [0.05, 0.2])
def test_the_kernel_test_holds_its_level_on_null_windows_and_finds_a_shift(
    alpha: float, statistic: type[KernelStatistic | WhitenedMeans]
) -> None:
    """Windows from the reference's own distribution are flagged at about the level (within
    the binomial bound), a shifted one always."""
    rng = np.random.default_rng(11)
    reference = rng.normal(size=(120, 5))
    kernel, plan = statistic(reference), SplitPlan(120, [7], 199)
    windows = 300
    flagged = sum(
        split_p_value(kernel, plan, rng.normal(size=(25, 5)), i)[1] <= alpha for i in range(windows)
    )
    low, high = stats.binom.ppf([0.0005, 0.9995], windows, alpha)
    assert low <= flagged <= high, (flagged, low, high)
    shifted = [
        split_p_value(kernel, plan, rng.normal(0.8, 1.0, size=(25, 5)), i)[1] for i in range(20)
    ]
    assert max(shifted) <= alpha


def test_holm_steps_down_and_stops_at_the_first_test_it_keeps() -> None:
    measured = {
        name: Measured(0.0, p) for name, p in {"a": 0.001, "b": 0.02, "c": 0.012, "d": 0.5}.items()
    }
    verdicts = holm(measured, alpha=0.05)
    # ranks a (0.05/4), c (0.05/3), b (0.05/2), d (0.05/1)
    assert verdicts["a"] == (pytest.approx(0.0125), True)
    assert verdicts["c"] == (pytest.approx(0.05 / 3), True)
    assert verdicts["b"] == (pytest.approx(0.025), True)
    assert verdicts["d"] == (pytest.approx(0.05), False)
    stuck = holm({**measured, "c": Measured(0.0, 0.03)}, alpha=0.05)
    assert [stuck[n][1] for n in "abcd"] == [True, False, False, False]


def test_weighted_holm_spends_the_level_by_weight_and_passes_it_on() -> None:
    """As the family weighs the min-p combination (0.7) and the novelty test (0.3): each is
    first tested at alpha x its weight, and once one rejects the other gets all of alpha."""
    weights = {"combined": 0.7, "novelty": 0.3}

    def verdicts(combined: float, novelty: float) -> dict[str, tuple[float, bool]]:
        measured = {"combined": Measured(0.0, combined), "novelty": Measured(0.0, novelty)}
        return holm(measured, alpha=0.05, weights=weights)

    # novelty first (0.012 / 0.3 < 0.04 / 0.7) at 0.015; then the combination at all 0.05,
    # where alone it would have had 0.035
    assert verdicts(0.04, 0.012) == {
        "novelty": (pytest.approx(0.015), True),
        "combined": (pytest.approx(0.05), True),
    }
    # the combination first at 0.035, then novelty at 0.05
    assert verdicts(0.02, 0.016) == {
        "combined": (pytest.approx(0.035), True),
        "novelty": (pytest.approx(0.05), True),
    }
    # novelty first misses 0.015 by a little: the step-down stops, nothing rejects
    assert verdicts(0.04, 0.016) == {
        "novelty": (pytest.approx(0.015), False),
        "combined": (pytest.approx(0.05), False),
    }


def _side(values: list[int]) -> Side:
    keys = np.arange(len(values), dtype=np.uint64)
    return Side(pd.DataFrame(index=range(len(values))), np.array(values), None, keys)


def test_two_predicted_classes_get_fishers_exact_test() -> None:
    member = ContingencyMember(
        "predicted_class",
        pd.Series([0] * 70 + [1] * 30),
        lambda s: pd.Series(s.predicted_ids),
        999,
        classes=2,
    )
    found = member.test(_side([0] * 10 + [1] * 20), np.random.default_rng(0))
    assert found.p_value == pytest.approx(stats.fisher_exact([[70, 30], [10, 20]]).pvalue)


def test_more_categories_get_a_permutation_chi_square_close_to_the_asymptotic_one() -> None:
    rng = np.random.default_rng(4)
    reference = pd.Series(rng.choice(["a", "b", "c", "d"], size=3000, p=[0.4, 0.3, 0.2, 0.1]))
    window = list(rng.choice(["a", "b", "c", "d"], size=600, p=[0.37, 0.3, 0.2, 0.13]))
    member = ContingencyMember("colour", reference, lambda s: pd.Series(window), 4999)
    found = member.test(_side([0] * 600), np.random.default_rng(1))
    table = [reference.value_counts().sort_index(), pd.Series(window).value_counts().sort_index()]
    expected = stats.chi2_contingency(np.array(table)).pvalue
    assert found.statistic == pytest.approx(stats.chi2_contingency(np.array(table))[0])
    assert abs(found.p_value - expected) < 0.02, (found.p_value, expected)


# ------------------------------------------------------------ the family on generated windows


def generated(rng: np.random.Generator, rows: int, shift: float = 0.0) -> Observed:
    """A window of a text model: descriptors, two classes, 16-d embeddings, unique texts."""
    texts = [f"row {rng.integers(1 << 62)}" for _ in range(rows)]
    features = pd.DataFrame(
        {
            "text_length": rng.normal(60, 20, rows).round(),
            "word_count": rng.normal(12, 4, rows).round(),
            "non_letter_share": rng.beta(2, 20, rows),
        }
    )
    embeddings = rng.normal(size=(rows, 16)).astype(np.float32)
    embeddings += shift
    positive = rng.random(rows) < 0.6
    probabilities = np.c_[1 - positive * 0.8 - 0.1, positive * 0.8 + 0.1]
    scores = Scores(probabilities.argmax(1), ("neg", "pos"), probabilities, embeddings)
    return Observed(features, scores, row_keys(pd.Series(texts)))


@pytest.mark.parametrize("alpha", [0.01, 0.1])
def test_the_family_flags_no_drift_windows_at_most_at_its_level(alpha: float) -> None:
    """The stated level holds: generated windows without drift are flagged no more often than
    `drift.alpha` allows (the binomial bound), while shifted embeddings are caught."""
    rng = np.random.default_rng(21)
    engine = MetricsEngine(DriftConfig(alpha=alpha), text_descriptors=True).fit(generated(rng, 300))
    windows = 200
    flagged = sum(engine.calculate(generated(rng, 50)).dataset_drift for _ in range(windows))
    assert flagged <= stats.binom.ppf(0.9995, windows, alpha), flagged
    shifted = [engine.calculate(generated(rng, 50, shift=0.5)) for _ in range(10)]
    assert all(r.dataset_drift for r in shifted)
    assert all(r.family is not None and r.family.tests["embedding"].drifted for r in shifted)


# ------------------------------------------------------- real text: reproducible to the bit


@pytest.fixture(scope="module")
def real_windows(tiny_bert: Path, amazon_split, sentiment) -> dict:
    """Real sentences scored by the tiny BERT: a reference of held-out amazon rows, and
    windows of other amazon rows, of yelp and imdb, and of amazon rows cut to three words
    (a broken upstream), which the descriptors flag."""
    from monitor.models.transformers import TransformersModel

    model = TransformersModel(TransformersModelConfig(type="transformers", path=tiny_bert))
    held_out = amazon_split[1]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(held_out))
    pools = {
        "reference": held_out["text"].iloc[order[:250]].tolist(),
        **{
            f"amazon-{k}": held_out["text"]
            .iloc[rng.choice(order[250:], 60, replace=False)]
            .tolist()
            for k in range(4)
        },
        **{
            f"{name}-{k}": sentiment[name]["text"].iloc[k * 60 : (k + 1) * 60].tolist()
            for name in ("yelp", "imdb")
            for k in range(2)
        },
        **{
            f"truncated-{k}": [
                " ".join(text.split()[:3])
                for text in held_out["text"].iloc[rng.choice(order[250:], 60, replace=False)]
            ]
            for k in range(2)
        },
    }
    return {name: {"texts": texts, "scores": model.score(texts)} for name, texts in pools.items()}


def observed(texts: list[str], scores: Scores, order=None, noise: float = 0.0) -> Observed:
    order = np.arange(len(texts)) if order is None else order
    embeddings = scores.embeddings[order]
    if noise:  # what the embedding cache does: vectors from other batches, last bits apart
        embeddings = embeddings + np.random.default_rng(99).normal(0, noise, embeddings.shape)
    picked = Scores(
        scores.predicted_ids[order], scores.class_names, scores.probabilities[order], embeddings
    )
    frame = pd.Series([texts[i] for i in order])
    return Observed(text_descriptors(frame), picked, row_keys(frame))


def family_p_values(windows: dict, names: list[str], **options) -> dict[str, dict[str, float]]:
    reference = windows["reference"]
    engine = MetricsEngine(DriftConfig(), text_descriptors=True).fit(
        observed(reference["texts"], reference["scores"], **options.get("reference", {}))
    )
    found = {}
    for name in names:
        window = windows[name]
        result = engine.calculate(
            observed(window["texts"], window["scores"], **options.get(name, {}))
        )
        assert result.family is not None
        found[name] = {t.name: t.p_value for t in result.family.tests.values()}
        found[name]["dataset_drift"] = float(result.dataset_drift)
    return found


def test_the_same_windows_give_the_same_flags_in_any_order_cache_or_process(
    real_windows: dict, tmp_path: Path
) -> None:
    names = [n for n in real_windows if n != "reference"]
    baseline = family_p_values(real_windows, names)
    flags = [baseline[n]["dataset_drift"] for n in names]
    assert 0 < sum(flags) < len(flags), flags  # both kinds of window, or this proves little

    # rows shuffled inside every window and the reference, windows in reverse order
    shuffled = {
        name: {"order": np.random.default_rng(len(name)).permutation(len(w["texts"]))}
        for name, w in real_windows.items()
    }
    assert family_p_values(real_windows, names[::-1], **shuffled) == baseline

    # embeddings 1e-6 apart, as cached vectors computed in other batches are
    noisy = {name: {"noise": 1e-6} for name in real_windows}
    moved = family_p_values(real_windows, names, **noisy)
    assert [moved[n]["dataset_drift"] for n in names] == flags
    for name in names:
        assert moved[name]["embedding"] == pytest.approx(baseline[name]["embedding"], abs=0.01)

    # another process, another hash seed
    saved = tmp_path / "windows.json"
    saved.write_text(
        json.dumps(
            {
                name: {
                    "texts": w["texts"],
                    "predicted": w["scores"].predicted_ids.tolist(),
                    "probabilities": w["scores"].probabilities.tolist(),
                    "embeddings": w["scores"].embeddings.tolist(),
                }
                for name, w in real_windows.items()
            }
        )
    )
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, str(saved), str(Path(__file__).parent)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        timeout=300,
    )
    assert child.returncode == 0, child.stderr[-2000:]
    assert json.loads(child.stdout) == baseline


_CHILD = """
import json, sys
import numpy as np
from monitor.models.base import Scores
sys.path.insert(0, sys.argv[2])
from test_drift_family import family_p_values
stored = json.load(open(sys.argv[1]))
windows = {
    name: {
        "texts": w["texts"],
        "scores": Scores(
            np.array(w["predicted"]), ("0", "1"), np.array(w["probabilities"], dtype=np.float32),
            np.array(w["embeddings"], dtype=np.float32),
        ),
    }
    for name, w in stored.items()
}
print(json.dumps(family_p_values(windows, [n for n in windows if n != "reference"])))
"""
