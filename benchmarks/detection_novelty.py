"""The nearest-neighbour novelty test across reference splits and its settings: does its
power on partial drift hold for other random halves of the reference, not only the one the
family's seed picks, and on windows that took no part in choosing it?

The detection protocol's windows (`benchmarks/detection.py`): reference 500 amazon rows;
20 windows of 100 per cell at f=0.2 for yelp and imdb (`default_rng(1000 + k)`, the
fresh `default_rng(7000 + k)`, and `default_rng(9000 + k)`, drawn only after the settings
were fixed), at f=0.1 (`default_rng(1000 + k)`); the sequential streams (5 control
windows, then 5 at f=0.1; `default_rng(5000 + 10 s + j)`) and a long control stream
(`default_rng(20000 + k)`). For each of `--splits` seeds of the base / calibration split:

- single windows at the level the family's weighted Holm gives the novelty test first
  (0.3 x 0.01), for the default statistic (the rank tail above 0.85), the tail above 0.8
  and 0.9, and the count of window rows in the pooled top tenth (hypergeometric p-value:
  the first version of the test);
- with the default statistic: streams caught within 5 windows by the pooled test at 0.001
  (or by a window alone at 0.003), and alarms on the control stream, pooled and alone.

    python benchmarks/detection_novelty.py [--splits 5] [--controls 1000]

The last line is JSON: per split seed, the counts; then their minimum and maximum.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy import stats
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection import REFERENCE, Window, load_corpus, mixture

from monitor.metrics.novelty import NearestNeighbourNovelty

SINGLE, POOLED = 0.3 * 0.01, 0.001


def rows(corpus, window: Window) -> tuple[list[str], np.ndarray]:
    keys = [f"{domain}:{row}" for domain, part in window for row in part]
    return keys, np.vstack([corpus.embeddings[domain][part] for domain, part in window])


def pooled(corpus, windows: list[Window]) -> np.ndarray:
    """The distinct rows of the windows (a row met twice counts once)."""
    seen: dict[str, np.ndarray] = {}
    for window in windows:
        for key, vector in zip(*rows(corpus, window), strict=True):
            seen[key] = vector
    return np.array(list(seen.values()))


def top_tenth_p_value(test: NearestNeighbourNovelty, vectors: np.ndarray) -> float:
    """The first version's p-value: window rows among the pooled top tenth, hypergeometric."""
    window = test.scores(vectors)
    scores = np.concatenate([test.calibration, window])
    threshold = np.quantile(scores, 0.9)
    top, novel = int((scores >= threshold).sum()), int((window >= threshold).sum())
    return float(stats.hypergeom.sf(novel - 1, len(scores), top, len(window)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/driftwarden-minilm-3000.npz"))
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--controls", type=int, default=1000)
    args = parser.parse_args()
    corpus = load_corpus(args.cache)
    reference = corpus.embeddings["amazon"][REFERENCE]
    cells = {
        f"{domain} f={share}{tag}": [
            rows(corpus, mixture(base + k, domain, share))[1] for k in range(20)
        ]
        for domain in ("yelp", "imdb")
        for share, base, tag in (
            (0.2, 1000, ""),
            (0.2, 7000, ", fresh"),
            (0.2, 9000, ", unseen"),
            (0.1, 1000, ""),
        )
    }
    found: dict[str, dict[str, int]] = {}
    with threadpool_limits(1):
        for seed in range(args.splits):
            tests = {
                f"tail {tail}": NearestNeighbourNovelty(reference, [seed], tail=tail)
                for tail in (0.85, 0.8, 0.9)
            }
            default = tests["tail 0.85"]
            counts: dict[str, int] = {}
            for name, test in tests.items():
                for cell, windows in cells.items():
                    counts[f"{name}: {cell}"] = sum(test.test(w)[1] <= SINGLE for w in windows)
            for cell, windows in cells.items():
                flagged = sum(top_tenth_p_value(default, w) <= SINGLE for w in windows)
                counts[f"top tenth: {cell}"] = flagged

            def alone(window: Window, default: NearestNeighbourNovelty = default) -> bool:
                return default.test(rows(corpus, window)[1])[1] <= SINGLE

            for domain in ("yelp", "imdb"):
                caught = 0
                for s in range(20):
                    stream = [mixture(5000 + 10 * s + j, domain, 0.0) for j in range(5)]
                    stream += [mixture(5000 + 10 * s + 5 + j, domain, 0.1) for j in range(5)]
                    caught += any(
                        alone(stream[j])
                        or default.test(pooled(corpus, stream[j - 4 : j + 1]))[1] <= POOLED
                        for j in range(5, 10)
                    )
                counts[f"{domain} streams caught within 5"] = caught
            controls = [mixture(20000 + k, "yelp", 0.0) for k in range(args.controls)]
            counts["control alarms, pooled"] = sum(
                default.test(pooled(corpus, controls[max(0, j - 4) : j + 1]))[1] <= POOLED
                for j in range(args.controls)
            )
            counts["control alarms, one window"] = sum(alone(w) for w in controls)
            found[f"split {seed}"] = counts
            print(f"split seed {seed}: {counts}", flush=True)
    keys = next(iter(found.values()))
    values = {k: [c[k] for c in found.values()] for k in keys}
    spread = {k: [min(v), max(v)] for k, v in values.items()}
    for key, (low, high) in spread.items():
        print(f"{key:45s} {low:4d} - {high:4d}")
    print(json.dumps({"splits": found, "min_max": spread}))


if __name__ == "__main__":
    main()
