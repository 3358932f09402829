"""Tests of the generated review corpus and the drift transforms applied to it."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from monitor.corpus import DOMAINS, LABELS, generate_reviews, transforms

ALL_DOMAINS = dict.fromkeys(DOMAINS, 1.0)
HARD_MARKERS = re.compile(
    r"\b(?:not|but|yet|despite|hate|can't|complaints?|hardly|another|love how|if you enjoy)\b",
    re.IGNORECASE,
)
CONTRAST_MARKERS = re.compile(
    r"\b(?:but|yet|despite|hardly|love how|if you enjoy|I hate|can't)\b", re.IGNORECASE
)


@pytest.fixture(scope="module")
def reviews() -> pd.DataFrame:
    return generate_reviews(1000, seed=11, domains=ALL_DOMAINS)


# --- generate_reviews -------------------------------------------------------------------------


def test_same_seed_gives_identical_frames() -> None:
    first = generate_reviews(300, seed=5, domains=ALL_DOMAINS)
    second = generate_reviews(300, seed=5, domains=ALL_DOMAINS)
    pd.testing.assert_frame_equal(first, second)


def test_different_seeds_give_different_frames() -> None:
    first = generate_reviews(300, seed=5)
    second = generate_reviews(300, seed=6)
    assert (first["text"] != second["text"]).mean() > 0.9


def test_columns_and_values() -> None:
    frame = generate_reviews(200, seed=1, domains=ALL_DOMAINS)
    assert list(frame.columns) == ["text", "label", "domain"]
    assert len(frame) == 200
    assert set(frame["label"]) == set(LABELS)
    assert set(frame["domain"]) == set(DOMAINS)
    assert all(isinstance(text, str) and text[0].isupper() for text in frame["text"])
    assert not frame["text"].str.contains("  |\\{|\\}").any()


def test_default_is_electronics_only_and_zero_rows_work() -> None:
    assert set(generate_reviews(100, seed=2)["domain"]) == {"electronics"}
    empty = generate_reviews(0, seed=2)
    assert list(empty.columns) == ["text", "label", "domain"]
    assert empty.empty


def test_domain_weights_respected() -> None:
    weights = {"electronics": 1.0, "movies": 3.0, "hotels": 6.0, "books": 0.0}
    frame = generate_reviews(2000, seed=3, domains=weights)
    counts = frame["domain"].value_counts()
    assert "books" not in counts
    expected = {"electronics": 200.0, "movies": 600.0, "hotels": 1200.0}
    chi_square = sum((counts[name] - value) ** 2 / value for name, value in expected.items())
    assert chi_square < 13.82  # the 99.9% quantile of chi-square with 2 degrees of freedom


@pytest.mark.parametrize("share", [0.0, 0.2, 0.7, 1.0])
def test_positive_share_respected(share: float) -> None:
    labels = generate_reviews(2000, seed=4, positive_share=share)["label"]
    assert (labels == "positive").mean() == pytest.approx(share, abs=0.035)


@pytest.mark.parametrize("domains", [None, ALL_DOMAINS, {"movies": 1.0}])
def test_texts_are_mostly_unique(domains: dict[str, float] | None) -> None:
    frame = generate_reviews(500, seed=8, domains=domains)
    assert frame["text"].nunique() >= 0.9 * len(frame)


def test_movies_are_longer_than_electronics(reviews: pd.DataFrame) -> None:
    words = reviews["text"].str.split().str.len()
    by_domain = words.groupby(reviews["domain"]).mean()
    assert by_domain["movies"] > 1.5 * by_domain["electronics"]


def test_hard_share_controls_hard_cases() -> None:
    hard = generate_reviews(500, seed=9, domains=ALL_DOMAINS, hard_share=1.0)
    plain = generate_reviews(500, seed=9, domains=ALL_DOMAINS, hard_share=0.0)
    assert hard["text"].str.contains(HARD_MARKERS).all()
    assert not plain["text"].str.contains(CONTRAST_MARKERS).any()
    assert set(hard["label"]) == set(LABELS)


def test_hard_cases_carry_the_final_clause_label() -> None:
    frame = generate_reviews(400, seed=10, hard_share=1.0)
    expected = {
        "I wanted to love this": "negative",
        "Oh great, another": "negative",
        "I expected to hate this": "positive",
        "I hate how much I love": "positive",
    }
    seen = set()
    for text, label in zip(frame["text"], frame["label"], strict=True):
        for opening, sentiment in expected.items():
            if text.startswith(opening):
                assert label == sentiment, text
                seen.add(opening)
    assert seen == set(expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"domains": {"toasters": 1.0}}, r"toasters.*valid domains are electronics, "),
        ({"domains": {"movies": -1.0}}, r"weight of 'movies'.*>= 0"),
        ({"domains": {"movies": float("nan")}}, r"weight of 'movies'"),
        ({"domains": {"movies": 0.0}}, r"domains: weights must sum"),
        ({"positive_share": 1.5}, r"positive_share must be in \[0, 1\]"),
        ({"hard_share": -0.1}, r"hard_share must be in \[0, 1\]"),
        ({"n": -1}, r"n must be an integer"),
        ({"seed": 1.5}, r"seed must be an integer"),
    ],
)
def test_generate_rejects_bad_arguments(kwargs: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"n": 10, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=message):
        generate_reviews(**arguments)  # type: ignore[arg-type]


# --- transforms -------------------------------------------------------------------------------


def test_flip_labels_flips_exactly_the_rate(reviews: pd.DataFrame) -> None:
    flipped = transforms.flip_labels(reviews, 0.3, np.random.default_rng(0))
    changed = flipped["label"] != reviews["label"]
    assert changed.sum() == 300
    assert set(flipped["label"]) == set(LABELS)
    pd.testing.assert_frame_equal(flipped.drop(columns="label"), reviews.drop(columns="label"))


def test_flip_labels_other_label_sets() -> None:
    numeric = pd.DataFrame({"text": list("abcd"), "label": [0, 1, 0, 1]})
    assert transforms.flip_labels(numeric, 1.0, 0)["label"].tolist() == [1, 0, 1, 0]
    single = pd.DataFrame({"text": ["a", "b"], "label": ["positive", "positive"]})
    assert transforms.flip_labels(single, 1.0, 0)["label"].tolist() == ["negative"] * 2
    three = pd.DataFrame({"text": list("abc"), "label": ["x", "y", "z"]})
    with pytest.raises(ValueError, match="two classes"):
        transforms.flip_labels(three, 0.5, 0)


@pytest.mark.parametrize("share", [0.0, 0.1, 0.8, 1.0])
def test_shift_class_prior_resamples_to_share(reviews: pd.DataFrame, share: float) -> None:
    shifted = transforms.shift_class_prior(reviews, share, np.random.default_rng(1))
    assert len(shifted) == len(reviews)
    assert (shifted["label"] == "positive").sum() == round(share * len(reviews))
    assert set(shifted["text"]) <= set(reviews["text"])
    assert shifted.index.equals(pd.RangeIndex(len(reviews)))


def test_shift_class_prior_draws_without_replacement_when_it_can(reviews: pd.DataFrame) -> None:
    current = (reviews["label"] == "positive").mean()
    shifted = transforms.shift_class_prior(reviews, current, 1)
    # At the current balance every class has exactly enough rows: a permutation of the input.
    assert sorted(shifted["text"]) == sorted(reviews["text"])


def test_shift_class_prior_needs_the_positive_label(reviews: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match="positive_label"):
        transforms.shift_class_prior(reviews, 0.5, 0, positive_label="pos")


def test_add_typos_changes_words_at_the_rate(reviews: pd.DataFrame) -> None:
    noisy = transforms.add_typos(reviews, 0.3, np.random.default_rng(2))
    before = [word for text in reviews["text"] for word in text.split()]
    after = [word for text in noisy["text"] for word in text.split()]
    assert len(before) == len(after)
    changed = [(old, new) for old, new in zip(before, after, strict=True) if old != new]
    assert len(changed) / len(before) == pytest.approx(0.3, abs=0.02)
    assert all(abs(len(old) - len(new)) <= 1 for old, new in changed)
    assert (noisy["label"] == reviews["label"]).all()
    unchanged = transforms.add_typos(reviews, 0.0, 2)
    pd.testing.assert_frame_equal(unchanged, reviews)


def test_truncate_cuts_exactly_the_rate(reviews: pd.DataFrame) -> None:
    cut = transforms.truncate(reviews, 0.25, np.random.default_rng(3), max_words=3)
    short = cut["text"].str.split().str.len() <= 3
    assert short.sum() == 250
    for old, new in zip(reviews["text"][short], cut["text"][short], strict=True):
        assert old.startswith(new)
    assert (cut["text"][~short] == reviews["text"][~short]).all()


def test_inject_garbage_replaces_exactly_the_rate(reviews: pd.DataFrame) -> None:
    dirty = transforms.inject_garbage(reviews, 0.2, np.random.default_rng(4))
    garbage = ~dirty["text"].str.contains("[A-Za-z]")
    assert garbage.sum() == 200
    assert (dirty["text"][garbage].str.strip() == "").any()
    assert (dirty["label"] == reviews["label"]).all()
    assert (dirty["text"][~garbage] == reviews["text"][~garbage]).all()


def test_ramp_mix_takes_b_rows_with_probability_progress() -> None:
    a = generate_reviews(1000, seed=12)
    b = generate_reviews(1200, seed=13, domains={"movies": 1.0})
    b.index = b.index + 5000  # a different index must not realign rows
    mixed = transforms.ramp_mix(a, b, 0.4, np.random.default_rng(5))
    assert len(mixed) == len(a)
    assert mixed.index.equals(a.index)
    from_b = mixed["domain"] == "movies"
    assert from_b.mean() == pytest.approx(0.4, abs=0.05)
    assert (mixed["text"][from_b].to_numpy() == b["text"].to_numpy()[:1000][from_b]).all()
    assert (mixed["text"][~from_b] == a["text"][~from_b]).all()
    pd.testing.assert_frame_equal(transforms.ramp_mix(a, b, 0.0, 0), a)
    assert (transforms.ramp_mix(a, b, 1.0, 0)["domain"] == "movies").all()


TRANSFORMS: dict[str, Callable[[pd.DataFrame, int], pd.DataFrame]] = {
    "flip_labels": lambda df, seed: transforms.flip_labels(df, 0.5, seed),
    "shift_class_prior": lambda df, seed: transforms.shift_class_prior(df, 0.8, seed),
    "add_typos": lambda df, seed: transforms.add_typos(df, 0.5, seed),
    "truncate": lambda df, seed: transforms.truncate(df, 0.5, seed),
    "inject_garbage": lambda df, seed: transforms.inject_garbage(df, 0.5, seed),
    "ramp_mix": lambda df, seed: transforms.ramp_mix(df, df.iloc[::-1], 0.5, seed),
}


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_transforms_are_pure_and_deterministic(reviews: pd.DataFrame, name: str) -> None:
    sample = reviews.head(200)
    original = sample.copy(deep=True)
    first = TRANSFORMS[name](sample, 7)
    pd.testing.assert_frame_equal(sample, original)
    assert first is not sample
    pd.testing.assert_frame_equal(TRANSFORMS[name](sample, 7), first)
    assert not first.equals(TRANSFORMS[name](sample, 8))


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda df: transforms.flip_labels(df, 1.5, 0), "rate"),
        (lambda df: transforms.shift_class_prior(df, -0.1, 0), "positive_share"),
        (lambda df: transforms.add_typos(df, float("nan"), 0), "rate"),
        (lambda df: transforms.truncate(df, 0.5, 0, max_words=0), "max_words"),
        (lambda df: transforms.inject_garbage(df, "0.5", 0), "rate"),  # type: ignore[arg-type]
        (lambda df: transforms.ramp_mix(df, df, 2.0, 0), "progress"),
        (lambda df: transforms.ramp_mix(df, df.head(3), 0.5, 0), "b must have"),
        (lambda df: transforms.add_typos(df, 0.5, "seed"), "rng"),  # type: ignore[arg-type]
        (lambda df: transforms.truncate(df.drop(columns="text"), 0.5, 0), "df lacks column"),
    ],
)
def test_transforms_reject_bad_arguments(
    reviews: pd.DataFrame, call: Callable[[pd.DataFrame], pd.DataFrame], argument: str
) -> None:
    with pytest.raises(ValueError, match=argument):
        call(reviews.head(10))
