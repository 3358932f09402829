"""The nearest-neighbour novelty test across reference splits: does its power on partial
drift hold for other random halves of the reference, not only the one the family's seed
picks?

The detection protocol's windows (`benchmarks/detection.py`): reference 500 amazon rows;
20 windows of 100 per cell at f=0.2 (`default_rng(1000 + k)` and the fresh
`default_rng(7000 + k)`) for yelp and imdb, and the sequential streams (5 control windows,
then 5 at f=0.1; `default_rng(5000 + 10 s + j)`), with a long control stream
(`default_rng(20000 + k)`). For each of `--splits` seeds of the base / calibration split,
`NearestNeighbourNovelty` alone: windows flagged at the level the family's weighted Holm
gives it first (0.3 x 0.01), streams caught within 5 windows by the pooled test at 0.001
(or by a window alone at 0.003), and alarms on the control stream.

    python benchmarks/detection_novelty.py [--splits 5] [--controls 1000]

The last line is JSON: per split seed, the counts; then their minimum and maximum.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parent))
from detection import REFERENCE, Window, load_corpus, mixture

from monitor.metrics.novelty import NearestNeighbourNovelty


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/driftwarden-minilm-3000.npz"))
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--controls", type=int, default=1000)
    args = parser.parse_args()
    corpus = load_corpus(args.cache)
    reference = corpus.embeddings["amazon"][REFERENCE]
    single, level = 0.3 * 0.01, 0.001
    cells = {
        f"{domain} f=0.2{tag}": [mixture(base + k, domain, 0.2) for k in range(20)]
        for domain in ("yelp", "imdb")
        for base, tag in ((1000, ""), (7000, ", fresh"))
    }
    found: dict[str, dict[str, int]] = {}
    with threadpool_limits(1):
        for seed in range(args.splits):
            test = NearestNeighbourNovelty(reference, [seed])

            def flags(window: Window, test: NearestNeighbourNovelty = test) -> bool:
                return test.test(rows(corpus, window)[1])[1] <= single

            counts = {cell: sum(flags(w) for w in ws) for cell, ws in cells.items()}
            for domain in ("yelp", "imdb"):
                caught = 0
                for s in range(20):
                    stream = [mixture(5000 + 10 * s + j, domain, 0.0) for j in range(5)]
                    stream += [mixture(5000 + 10 * s + 5 + j, domain, 0.1) for j in range(5)]
                    caught += any(
                        flags(stream[j])
                        or test.test(pooled(corpus, stream[j - 4 : j + 1]))[1] <= level
                        for j in range(5, 10)
                    )
                counts[f"{domain} streams caught within 5"] = caught
            controls = [mixture(20000 + k, "yelp", 0.0) for k in range(args.controls)]
            counts["control alarms, pooled"] = sum(
                test.test(pooled(corpus, controls[max(0, j - 4) : j + 1]))[1] <= level
                for j in range(args.controls)
            )
            counts["control alarms, one window"] = sum(flags(w) for w in controls)
            found[f"split {seed}"] = counts
            print(f"split seed {seed}: {counts}", flush=True)
    keys = next(iter(found.values()))
    values = {k: [c[k] for c in found.values()] for k in keys}
    spread = {k: [min(v), max(v)] for k, v in values.items()}
    print(json.dumps({"splits": found, "min_max": spread}))


if __name__ == "__main__":
    main()
