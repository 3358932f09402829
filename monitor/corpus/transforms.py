"""Pure, seeded drift transforms on ``text``/``label`` DataFrames, used to build drift scenarios.

Every function returns a new DataFrame and leaves its input untouched.
"""

from __future__ import annotations

import re
from collections.abc import Hashable

import numpy as np
import pandas as pd

from monitor.corpus.reviews import check_share
from monitor.corpus.vocabulary import LABELS

RandomSource = np.random.Generator | int

_WHITESPACE_SPLIT = re.compile(r"(\s+)")
_GARBAGE_ALPHABET = "%#@$&*!?^~+=|<>0123456789"
# Fixed garbage covers the cases a quarantine must recognise; random symbol strings add variety.
_FIXED_GARBAGE = ("", " ", "\t\n", "   ", "%%%% 1234 ####", "????", "0000 0000", "#&!@*")


def _generator(rng: RandomSource) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, int | np.integer) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise ValueError(f"rng must be a numpy.random.Generator or an int seed, got {rng!r}")


def _check_columns(name: str, df: pd.DataFrame, *columns: Hashable) -> None:
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{name} must be a pandas DataFrame, got {type(df).__name__}")
    missing = [column for column in columns if column not in df.columns]
    if missing:
        raise ValueError(f"{name} lacks column(s) {', '.join(map(repr, missing))}")


def _pick_rows(n: int, rate: float, rng: np.random.Generator) -> np.ndarray:
    # An exact count (not one coin per row) makes the realised rate equal the requested one,
    # so a scenario's drift magnitude does not wobble with the seed.
    count = round(rate * n)
    return np.sort(rng.choice(n, size=count, replace=False))


def _set_text(df: pd.DataFrame, positions: np.ndarray, texts: list[str]) -> pd.DataFrame:
    out = df.copy()
    column = out.columns.get_loc("text")
    if len(positions):
        # An object column keeps strings as str whatever dtype the input had.
        out["text"] = out["text"].astype(object)
        out.iloc[positions, column] = texts
    return out


def flip_labels(df: pd.DataFrame, rate: float, rng: RandomSource) -> pd.DataFrame:
    """Concept drift: swap the label of exactly ``round(rate * len(df))`` random rows.

    The two classes are the two distinct labels present, or ``LABELS`` when only labels
    from that pair occur (e.g. a window with a single class). Missing labels stay missing.

    >>> frame = pd.DataFrame({"text": ["a", "b"], "label": ["negative", "positive"]})
    >>> flip_labels(frame, 1.0, 0)["label"].tolist()
    ['positive', 'negative']
    """
    _check_columns("df", df, "text", "label")
    rate = check_share("rate", rate)
    generator = _generator(rng)
    present = list(pd.unique(df["label"].dropna()))
    classes: list[Hashable]
    if len(present) == 2:
        classes = present
    elif set(present) <= set(LABELS):
        classes = list(LABELS)
    else:
        raise ValueError(f"df: label must have two classes to flip, found {len(present)}")
    swap = {classes[0]: classes[1], classes[1]: classes[0]}
    positions = _pick_rows(len(df), rate, generator)
    out = df.copy()
    if len(positions):
        column = out.columns.get_loc("label")
        flipped = [swap.get(value, value) for value in out["label"].iloc[positions]]
        out.iloc[positions, column] = flipped
    return out


def shift_class_prior(
    df: pd.DataFrame,
    positive_share: float,
    rng: RandomSource,
    positive_label: Hashable = "positive",
) -> pd.DataFrame:
    """Prior drift: resample to ``round(positive_share * len(df))`` positive rows, same size.

    Rows are drawn without replacement while a class has enough of them, with replacement
    otherwise; the result is shuffled and gets a fresh ``RangeIndex``.
    """
    _check_columns("df", df, "text", "label")
    positive_share = check_share("positive_share", positive_share)
    generator = _generator(rng)
    is_positive = (df["label"] == positive_label).to_numpy()
    positive_rows = np.flatnonzero(is_positive)
    other_rows = np.flatnonzero(~is_positive)
    n_positive = round(positive_share * len(df))
    n_other = len(df) - n_positive
    if n_positive and not len(positive_rows):
        raise ValueError(f"positive_label: no row of df has the label {positive_label!r}")
    if n_other and not len(other_rows):
        raise ValueError(f"positive_label: every row of df has the label {positive_label!r}")
    chosen = []
    for pool, count in ((positive_rows, n_positive), (other_rows, n_other)):
        if count:
            chosen.append(generator.choice(pool, size=count, replace=count > len(pool)))
    order = generator.permutation(np.concatenate(chosen)) if chosen else np.array([], int)
    return df.iloc[order].reset_index(drop=True)


def _typo(word: str, rng: np.random.Generator) -> str:
    letters = [i for i, char in enumerate(word) if char.isalpha()]
    swaps = [
        i for i in letters[:-1] if word[i + 1].isalpha() and word[i].lower() != word[i + 1].lower()
    ]
    # Only operations that really change the word, so the realised rate is the requested one.
    operations = ["duplicate"] + (["drop"] if len(word) > 1 else []) + (["swap"] if swaps else [])
    operation = operations[int(rng.integers(len(operations)))]
    if operation == "swap":
        i = swaps[int(rng.integers(len(swaps)))]
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    i = letters[int(rng.integers(len(letters)))]
    if operation == "drop":
        return word[:i] + word[i + 1 :]
    return word[: i + 1] + word[i] + word[i + 1 :]


def add_typos(df: pd.DataFrame, rate: float, rng: RandomSource) -> pd.DataFrame:
    """Character noise: each word containing a letter gets, with probability ``rate``, one
    adjacent-letter swap, dropped letter or duplicated letter. Whitespace is kept as it was.
    """
    _check_columns("df", df, "text")
    rate = check_share("rate", rate)
    generator = _generator(rng)
    texts = []
    for text in df["text"]:
        if not isinstance(text, str):
            texts.append(text)
            continue
        tokens = _WHITESPACE_SPLIT.split(text)
        hits = generator.random(len(tokens)) < rate
        texts.append(
            "".join(
                _typo(token, generator) if hit and any(c.isalpha() for c in token) else token
                for token, hit in zip(tokens, hits, strict=True)
            )
        )
    return _set_text(df, np.arange(len(df)), texts)


def truncate(df: pd.DataFrame, rate: float, rng: RandomSource, max_words: int = 3) -> pd.DataFrame:
    """Cut exactly ``round(rate * len(df))`` random rows to their first ``max_words`` words."""
    _check_columns("df", df, "text")
    rate = check_share("rate", rate)
    if isinstance(max_words, bool) or not isinstance(max_words, int | np.integer) or max_words < 1:
        raise ValueError(f"max_words must be an integer >= 1, got {max_words!r}")
    generator = _generator(rng)
    positions = _pick_rows(len(df), rate, generator)
    texts = [
        " ".join(text.split()[:max_words]) if isinstance(text, str) else text
        for text in df["text"].iloc[positions]
    ]
    return _set_text(df, positions, texts)


def _garbage(rng: np.random.Generator) -> str:
    if rng.random() < 0.5:
        return _FIXED_GARBAGE[int(rng.integers(len(_FIXED_GARBAGE)))]
    length = int(rng.integers(4, 17))
    characters = rng.choice(list(_GARBAGE_ALPHABET + " "), size=length)
    return "".join(characters).strip() or "%%%%"


def inject_garbage(df: pd.DataFrame, rate: float, rng: RandomSource) -> pd.DataFrame:
    """Replace the text of exactly ``round(rate * len(df))`` random rows by empty strings,
    whitespace or symbol/digit garbage such as ``"%%%% 1234 ####"``; labels are kept.
    """
    _check_columns("df", df, "text")
    rate = check_share("rate", rate)
    generator = _generator(rng)
    positions = _pick_rows(len(df), rate, generator)
    return _set_text(df, positions, [_garbage(generator) for _ in positions])


def ramp_mix(a: pd.DataFrame, b: pd.DataFrame, progress: float, rng: RandomSource) -> pd.DataFrame:
    """Gradual drift: row ``i`` of the result is row ``i`` of ``b`` with probability
    ``progress``, else row ``i`` of ``a``. The result has ``a``'s length, columns and index;
    ``b`` needs at least as many rows and all of ``a``'s columns.
    """
    _check_columns("a", a)
    _check_columns("b", b, *a.columns)
    progress = check_share("progress", progress)
    if len(b) < len(a):
        raise ValueError(f"b must have at least as many rows as a ({len(a)}), got {len(b)}")
    generator = _generator(rng)
    from_b = generator.random(len(a)) < progress
    out = a.copy()
    if from_b.any():
        taken = b[list(a.columns)].iloc[: len(a)]
        for column in a.columns:
            # Through numpy so differing indexes of a and b cannot realign the rows.
            out[column] = a[column].mask(from_b, taken[column].to_numpy())
    return out
