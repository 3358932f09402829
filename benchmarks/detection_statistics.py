"""Which two-sample statistic finds partial drift in text embeddings: the measurements
behind the drift family's whitened-mean test (`monitor/metrics/whitened.py`) and the
figures on the detection benchmark page.

Each statistic is an unbiased MMD² under some kernel of the pooled rows (reference and
window), tested by the same 999 random splits (2,000 for the pooled windows), so every
row has an exact permutation null except the one marked "reference-only", which shows
why the whitening must be fitted on the pooled rows. The windows are
`benchmarks/detection.py`'s (reference 500 amazon rows; 20 windows of 100 per cell).

- Gaussian kernels at 0.25, 0.5, 1 times the median squared distance between reference
  rows, and the family's sum over 1, 2 and 4 times it;
- the linear kernel (the squared distance of means);
- the linear kernel after whitening the pooled rows with a ridge of r times the mean
  eigenvalue of their covariance (r = 0.1 ... 10), and after whitening with the
  reference's covariance alone (r = 0.1, 1, 5: not exact, the reference rows are
  in-sample for it);
- outlier statistics: the window rows' mean similarity to the reference part (Gaussian,
  median bandwidth) and the share of window rows whose distance to their 5th-nearest
  reference row exceeds the reference rows' 90th percentile.

Then the sequential protocol: 20 streams per domain, 5 control windows then 5 at f=0.1;
after each drifted window the last 5 windows' distinct rows are tested against the
reference; a stream is caught when one of its 5 pooled tests reaches the level.

    python benchmarks/detection_statistics.py [--cache PATH]

Takes about 10 minutes on one core. The last line is JSON: per statistic, the windows
flagged at p <= 0.01 of 20 (yelp f=0.2, imdb f=0.2, f=0, issue 17's controls), and the
streams caught of 40 at 0.001 / 0.002 / 0.005.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection import REFERENCE, Window, issue17_control, load_corpus, mixture


def squared_distances(a: np.ndarray) -> np.ndarray:
    norms = (a * a).sum(axis=1)
    return np.maximum(norms[:, None] + norms[None, :] - 2.0 * a @ a.T, 0.0)


def split_matrix(n: int, m: int, splits: int, seed: int) -> np.ndarray:
    """(n + m, splits + 1) 0/1: the window part of the observed split, then random ones."""
    rng = np.random.default_rng(seed)
    window = np.zeros((n + m, splits + 1))
    window[n:, 0] = 1.0
    for b in range(splits):
        window[rng.permutation(n + m)[n:], b + 1] = 1.0
    return window


def unbiased_mmd(kernel: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Unbiased MMD² of every split (a column of `window`) under a pooled kernel matrix."""
    reference = 1.0 - window
    m, n = window[:, 0].sum(), reference[:, 0].sum()
    off = kernel - np.diag(np.diag(kernel))
    within_w = (window * (off @ window)).sum(axis=0) / (m * (m - 1))
    within_r = (reference * (off @ reference)).sum(axis=0) / (n * (n - 1))
    between = (reference * (kernel @ window)).sum(axis=0) / (n * m)
    return within_w + within_r - 2.0 * between


def p_value(values: np.ndarray) -> float:
    return float((1 + (values[1:] >= values[0] - 1e-12).sum()) / len(values))


def whitened(pooled: np.ndarray, ridge: float, fitted_on: np.ndarray | None = None) -> np.ndarray:
    """The linear kernel after whitening with the (regularized) covariance of `fitted_on`
    (the pooled rows themselves where None)."""
    basis = pooled if fitted_on is None else fitted_on
    centre = basis.mean(axis=0)
    covariance = np.cov((basis - centre).T)
    covariance += ridge * np.trace(covariance) / len(covariance) * np.eye(len(covariance))
    lower = np.linalg.cholesky(covariance)
    rows = np.linalg.solve(lower, (pooled - centre).T).T
    return rows @ rows.T


def kernels(pooled: np.ndarray, reference: np.ndarray, median: float) -> dict[str, np.ndarray]:
    distances = squared_distances(pooled)
    found = {
        f"gaussian x{scale}": np.exp(-distances / (scale * median)) for scale in (0.25, 0.5, 1.0)
    }
    found["gaussian sum 1,2,4 (the family's MMD)"] = np.mean(
        [np.exp(-distances / (s * median)) for s in (1.0, 2.0, 4.0)], axis=0
    )
    found["linear (distance of means)"] = pooled @ pooled.T
    for ridge in (0.1, 0.3, 1.0, 2.0, 3.0, 5.0, 10.0):
        found[f"whitened pooled, ridge {ridge:g}"] = whitened(pooled, ridge)
    for ridge in (0.1, 1.0, 5.0):
        found[f"whitened reference-only, ridge {ridge:g}"] = whitened(
            pooled, ridge, fitted_on=reference
        )
    return found


def outlier_statistics(pooled: np.ndarray, window: np.ndarray, median: float) -> dict:
    """Per split: minus the window part's mean similarity to the reference part, and the
    share of window-part rows beyond the reference part's 90th percentile of distance to
    the 5th-nearest reference-part row."""
    distances = squared_distances(pooled)
    similarity = np.exp(-distances / median)
    np.fill_diagonal(similarity, 0.0)
    np.fill_diagonal(distances, np.inf)
    reference = 1.0 - window
    own = (similarity @ reference) / (reference.sum(axis=0) - reference)  # leave-one-out
    mean_similarity = -(own * window).sum(axis=0) / window.sum(axis=0)
    tail = np.empty(window.shape[1])
    for b in range(window.shape[1]):
        in_reference = reference[:, b] > 0
        fifth = np.partition(distances[:, in_reference], 4, axis=1)[:, 4]
        limit = np.quantile(fifth[in_reference], 0.9)
        tail[b] = (fifth[~in_reference] > limit).mean()
    return {
        "outliers: mean similarity to the reference": mean_similarity,
        "outliers: share beyond the 5th-neighbour 90th percentile": tail,
    }


def windows_table(corpus, median: float) -> pd.DataFrame:
    reference = corpus.embeddings["amazon"][REFERENCE].astype(np.float64)
    cells: dict[str, list[Window]] = {
        "yelp f=0.2": [mixture(1000 + k, "yelp", 0.2) for k in range(20)],
        "imdb f=0.2": [mixture(1000 + k, "imdb", 0.2) for k in range(20)],
        "f=0": [mixture(1000 + k, "yelp", 0.0) for k in range(20)],
        "issue 17 controls": [issue17_control(k) for k in range(20)],
    }
    split = split_matrix(len(reference), 100, 999, seed=7)
    flagged: dict[str, dict[str, int]] = {}
    for cell, windows in cells.items():
        for parts in windows:
            rows = np.vstack([corpus.embeddings[d][r] for d, r in parts]).astype(np.float64)
            pooled = np.vstack([reference, rows])
            values = {
                name: unbiased_mmd(kernel, split)
                for name, kernel in kernels(pooled, reference, median).items()
            }
            values.update(outlier_statistics(pooled, split, median))
            for name, found in values.items():
                row = flagged.setdefault(name, {c: 0 for c in cells})
                row[cell] += p_value(found) <= 0.01
    return pd.DataFrame(flagged).T


def streams_table(corpus, median: float) -> pd.DataFrame:
    reference = corpus.embeddings["amazon"][REFERENCE].astype(np.float64)
    levels = (0.001, 0.002, 0.005)
    caught = {name: dict.fromkeys(levels, 0) for name in ("gaussian sum", "whitened ridge 5")}
    for domain in ("yelp", "imdb"):
        for s in range(20):
            stream = [mixture(5000 + 10 * s + j, domain, 0.0) for j in range(5)]
            stream += [mixture(5000 + 10 * s + 5 + j, domain, 0.1) for j in range(5)]
            smallest = dict.fromkeys(caught, 1.0)
            for j in range(5, 10):
                rows = sorted(
                    {(d, int(r)) for parts in stream[j - 4 : j + 1] for d, rs in parts for r in rs}
                )
                pooled = np.vstack(
                    [reference, np.array([corpus.embeddings[d][r] for d, r in rows], dtype=float)]
                )
                split = split_matrix(len(reference), len(rows), 1999, seed=len(rows) + j)
                distances = squared_distances(pooled)
                gaussian = np.mean(
                    [np.exp(-distances / (c * median)) for c in (1.0, 2.0, 4.0)], axis=0
                )
                for name, kernel in (
                    ("gaussian sum", gaussian),
                    ("whitened ridge 5", whitened(pooled, 5.0)),
                ):
                    smallest[name] = min(smallest[name], p_value(unbiased_mmd(kernel, split)))
            for name, p in smallest.items():
                for level in levels:
                    caught[name][level] += p <= level
    return pd.DataFrame(caught).T.rename(columns=lambda level: f"caught of 40 at {level}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/driftwarden-minilm-3000.npz"))
    args = parser.parse_args()
    corpus = load_corpus(args.cache)
    reference = corpus.embeddings["amazon"][REFERENCE].astype(np.float64)
    median = float(np.median(squared_distances(reference)[np.triu_indices(len(reference), 1)]))
    with threadpool_limits(1):
        windows = windows_table(corpus, median)
        print("windows flagged at p <= 0.01, of 20 per cell (100 rows, 999 splits):")
        print(windows.to_string())
        streams = streams_table(corpus, median)
        print("\nstreams caught within 5 windows at f=0.1 (5 windows pooled, 2,000 splits):")
        print(streams.to_string())
    print(
        json.dumps(
            {"windows": windows.to_dict(orient="index"), "streams": streams.to_dict(orient="index")}
        )
    )


if __name__ == "__main__":
    main()
