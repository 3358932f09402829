"""What changed in a window: the rows, terms and descriptors that set it apart from the reference.

Three readings, each from what the cycle already has (no extra model):

- rows: the witness function of the drift family's embedding test (the RBF kernel's MMD
  witness, `f(x) = mean_w k(x, w) - mean_r k(x, r)`, same kernel and bandwidth): the window
  rows where it is highest are the ones least like the reference, the reference rows where
  it is lowest the ones least like the window;
- terms: the log-odds ratio of each term between window and reference with an informative
  Dirichlet prior (the pooled counts), z-scored by its approximate standard error (Monroe,
  Colaresi and Quinn 2008, "Fightin' Words"), so a rare term seen twice does not outrank a
  common one that moved;
- descriptors: each text descriptor's standardized mean difference (Cohen's d, pooled
  standard deviation), largest first.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from monitor.metrics.permutation import squared_distances
from monitor.records.explanations import (
    TOP,
    DescriptorShift,
    ExampleRow,
    Explanation,
    TermShift,
)

__all__ = ["DescriptorShift", "ExampleRow", "Explainer", "Explanation", "TermShift"]

#: terms kept (a reader scans more terms than rows)
TOP_TERMS = 10
#: reference rows the witness is measured on (a seeded sample beyond that)
REFERENCE_SAMPLE = 2000
#: characters of a row's text kept in an explanation
TEXT_CHARS = 300
#: a term must occur this often in the window to be named (one stray word explains nothing)
MIN_TERM_COUNT = 2
#: |Cohen's d| from which a descriptor counts as moved (Cohen's "small" effect) ...
MOVED_EFFECT = 0.2
#: ... and at least this many standard errors of d: a 100-row window's d is noisy (about
#: 0.11 against 400 reference rows), and chance alone must not name a descriptor
MOVED_ERRORS = 3.0

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def terms_of(text: str) -> list[str]:
    """The content words of `text`, lower-cased (English stop words and single letters out)."""
    return [
        word
        for word in _WORD.findall(text.lower())
        if len(word) > 1 and word not in ENGLISH_STOP_WORDS
    ]


def count_terms(texts: Iterable[str]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(terms_of(text))
    return counts


def log_odds_z(
    window: Counter[str], reference: Counter[str], min_count: int = MIN_TERM_COUNT
) -> list[TermShift]:
    """Every term's z-scored log-odds ratio (window vs reference), informative Dirichlet
    prior from the pooled counts; terms seen fewer than `min_count` times on both sides
    are left out. Sorted from most over-represented in the window to most under."""
    n_window, n_reference = sum(window.values()), sum(reference.values())
    if not n_window or not n_reference:
        return []
    alpha_total = n_window + n_reference  # the pooled counts' total
    # only terms seen `min_count` times on one side count: walk those, not the vocabulary
    frequent = {t for t, c in window.items() if c >= min_count}
    frequent.update(t for t, c in reference.items() if c >= min_count)
    terms = sorted(frequent)
    in_window = np.array([window.get(t, 0) for t in terms], dtype=np.int64)
    in_reference = np.array([reference.get(t, 0) for t in terms], dtype=np.int64)
    alpha = (in_window + in_reference).astype(np.float64)  # the prior: the pooled count
    odds_window = (in_window + alpha) / (n_window + alpha_total - in_window - alpha)
    odds_reference = (in_reference + alpha) / (n_reference + alpha_total - in_reference - alpha)
    delta = np.log(odds_window) - np.log(odds_reference)
    z = delta / np.sqrt(1.0 / (in_window + alpha) + 1.0 / (in_reference + alpha))
    # most over-represented first; ties by term (`terms` is sorted, the sort is stable)
    order = np.argsort(-z, kind="stable")
    return [
        TermShift(terms[i], float(z[i]), int(in_window[i]), int(in_reference[i])) for i in order
    ]


def descriptor_shifts(reference: pd.DataFrame, window: pd.DataFrame) -> list[DescriptorShift]:
    """Each shared numeric column's Cohen's d (window minus reference), largest |d| first."""
    shifts = []
    for column in reference.columns:
        if column not in window.columns or not pd.api.types.is_numeric_dtype(reference[column]):
            continue
        r = reference[column].to_numpy(dtype=float)
        w = window[column].to_numpy(dtype=float)
        r, w = r[np.isfinite(r)], w[np.isfinite(w)]
        if len(r) < 2 or len(w) < 2:
            continue
        pooled = ((len(r) - 1) * r.var(ddof=1) + (len(w) - 1) * w.var(ddof=1)) / (
            len(r) + len(w) - 2
        )
        difference = float(w.mean() - r.mean())
        effect = difference / math.sqrt(pooled) if pooled > 0 else 0.0
        # the large-sample standard error of d (Hedges and Olkin 1985)
        error = math.sqrt(1 / len(r) + 1 / len(w) + effect**2 / (2 * (len(r) + len(w))))
        shifts.append(
            DescriptorShift(
                str(column),
                float(r.mean()),
                float(w.mean()),
                effect,
                abs(effect) >= max(MOVED_EFFECT, MOVED_ERRORS * error),
            )
        )
    shifts.sort(key=lambda shift: (-abs(shift.effect_size), shift.name))
    return shifts


class Explainer:
    """Fitted on the reference (its texts, embeddings and descriptors); `explain(window)`.

    `bandwidth`: the drift family's RBF bandwidth, so the witness is that of the test the
    family ran (None: the median heuristic the family uses, on these reference rows).
    """

    def __init__(
        self,
        texts: Sequence[str],
        features: pd.DataFrame,
        embeddings: np.ndarray | None = None,
        bandwidth: float | None = None,
        *,
        sample: int = REFERENCE_SAMPLE,
    ) -> None:
        self.features = features.reset_index(drop=True)
        self.terms = count_terms(texts)
        self.embeddings: np.ndarray | None = None
        positions = np.arange(len(texts))
        if embeddings is not None and len(positions) >= 2:
            if len(positions) > sample:  # a fixed draw: the same rows for every window
                positions = np.sort(
                    np.random.default_rng(0).choice(len(positions), sample, replace=False)
                )
            vectors = np.ascontiguousarray(embeddings[positions], dtype=np.float64)
            distances = squared_distances(vectors, vectors)
            if bandwidth is None:
                upper = distances[np.triu_indices(len(vectors), k=1)]
                median = float(np.median(upper))
                bandwidth = median if median > 0 else 1.0
            self.bandwidth = bandwidth
            kernel = np.exp(-distances / bandwidth)
            # mean over the other reference rows: a row's likeness to itself says nothing
            self.reference_self = (kernel.sum(axis=1) - 1.0) / (len(vectors) - 1)
            self.embeddings = vectors
        self.texts = [str(texts[int(i)]) for i in positions]

    def window_witness(self, embeddings: np.ndarray) -> np.ndarray:
        """Each window row's witness value (higher: less like the reference); the kernel
        part of `explain`, for `label-requests`."""
        assert self.embeddings is not None, "fitted without embeddings"
        window = np.ascontiguousarray(embeddings, dtype=np.float64)
        cross = np.exp(-squared_distances(window, self.embeddings) / self.bandwidth)
        within = np.exp(-squared_distances(window, window) / self.bandwidth)
        np.fill_diagonal(within, 1.0)
        return (within.sum(axis=1) - 1.0) / max(len(window) - 1, 1) - cross.mean(axis=1)

    def explain(
        self,
        texts: Sequence[str],
        features: pd.DataFrame,
        embeddings: np.ndarray | None = None,
        row_ids: Sequence[str] | None = None,
        top: int = TOP,
    ) -> Explanation:
        window_terms = log_odds_z(count_terms(texts), self.terms)
        over = [t for t in window_terms if t.z > 0][:TOP_TERMS]
        under = [t for t in reversed(window_terms) if t.z < 0][:TOP_TERMS]
        under = [TermShift(t.term, -t.z, t.reference_count, t.window_count) for t in under]
        descriptors = descriptor_shifts(self.features, features)
        if self.embeddings is None or embeddings is None or len(texts) < 2:
            return Explanation([], [], over, under, descriptors, None)
        window = np.ascontiguousarray(embeddings, dtype=np.float64)
        cross = np.exp(-squared_distances(window, self.embeddings) / self.bandwidth)
        within = np.exp(-squared_distances(window, window) / self.bandwidth)
        np.fill_diagonal(within, 1.0)
        m = len(window)
        window_witness = (within.sum(axis=1) - 1.0) / (m - 1) - cross.mean(axis=1)
        reference_witness = cross.mean(axis=0) - self.reference_self
        ids = list(row_ids) if row_ids is not None else [None] * m
        window_rows = _distinct(
            (
                ExampleRow(_clip(texts[i]), float(window_witness[i]), ids[i])
                for i in np.argsort(-window_witness, kind="stable")
            ),
            top,
        )
        reference_rows = _distinct(
            (
                ExampleRow(_clip(self.texts[i]), float(reference_witness[i]))
                for i in np.argsort(reference_witness, kind="stable")
            ),
            top,
        )
        return Explanation(window_rows, reference_rows, over, under, descriptors, "mmd-witness")


def _clip(text: str) -> str:
    text = str(text)
    return text if len(text) <= TEXT_CHARS else text[: TEXT_CHARS - 1] + "…"


def _distinct(rows: Iterable[ExampleRow], top: int) -> list[ExampleRow]:
    """The first `top` rows of distinct text (a repeated row would fill the list)."""
    kept: list[ExampleRow] = []
    seen: set[str] = set()
    for row in rows:
        if row.text in seen:
            continue
        seen.add(row.text)
        kept.append(row)
        if len(kept) == top:
            break
    return kept
