"""A head promoted while a cycle is between scoring and metrics: the window is scored and
compared under one version, and the next cycle runs under the new one.

Real threads: the cycle runs in its own thread, its model blocks after scoring until the
promotion (`driftwarden model promote`'s own function) has committed in another.
"""

from __future__ import annotations

import ast
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitor.clock import SimulatedClock
from monitor.config import parse_config
from monitor.cycle import CycleOutcome, MonitorRuntime, run_cycle
from monitor.cycle.scoring import input_features
from monitor.metrics.engine import MetricsEngine, Observed
from monitor.models.base import ModelInputs
from monitor.models.embedding_head import EmbeddingHeadModel, Head, fit_head
from monitor.models.encoder import SentenceEncoder
from monitor.records.scores import Scores
from monitor.sources.memory import MemorySource
from monitor.store import open_store
from monitor.store.model_versions import add_version
from monitor.store.run_reads import predictions
from monitor.versions.catalog import promote_version
from monitor.versions.folders import versions_folder
from monitor.views.runs import run_summaries

WINDOW = 50
START = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def heads(tiny_bert: Path, amazon_split) -> tuple[SentenceEncoder, Head, Head]:
    """The live head, and a candidate that calls nearly everything positive."""
    encoder = SentenceEncoder(str(tiny_bert), backend="torch", max_length=128, cache_size=5000)
    reference = amazon_split[0].iloc[:200]
    texts = reference["text"].tolist()
    labels = reference["label"].astype(str).tolist()
    skewed = ["0" if i % 10 == 0 else "1" for i in range(len(texts))]
    return encoder, fit_head(encoder, texts, labels), fit_head(encoder, texts, skewed)


def scored_under(head: Head, encoder: SentenceEncoder, texts: list[str]) -> Scores:
    embeddings = encoder.encode(texts)
    probabilities = head.classifier.predict_proba(embeddings)
    return Scores(probabilities.argmax(axis=1), head.labels, probabilities, embeddings)


def prediction_drift(
    head: Head, encoder: SentenceEncoder, reference: pd.DataFrame, window: list[str], config
) -> float:
    """The window's predicted-class drift, everything scored and fitted under `head`."""
    ref_rows = reference.assign(text=reference["text"].astype(str))
    engine = MetricsEngine(config.drift).fit(
        Observed(
            input_features(ref_rows, config), scored_under(head, encoder, ref_rows["text"].tolist())
        )
    )
    frame = pd.DataFrame({"text": window})
    observed = Observed(input_features(frame, config), scored_under(head, encoder, window))
    return engine.calculate(observed).prediction["predicted_class"].score


def test_a_promotion_mid_cycle_waits_for_the_next_cycle(
    tmp_path: Path, heads: tuple[SentenceEncoder, Head, Head], amazon_split
) -> None:
    encoder, live, candidate = heads
    reference = amazon_split[0].iloc[:200].reset_index(drop=True)
    held_out = amazon_split[1]
    live.save(tmp_path / "head")
    reference.to_csv(tmp_path / "reference.csv", index=False)
    document = {
        "storage": f"sqlite:///{tmp_path / 'dw.db'}",
        "monitors": [
            {
                "name": "reviews",
                "model": {"type": "embedding-head", "head": "head", "encoder": "unused"},
                "reference": {"path": "reference.csv"},
                "stream": {"path": "stream/*.csv"},
                "columns": {"text": "text", "target": "label"},
                "window": {"rows": WINDOW},
                "drift": {"embedding": {"method": "off"}},
                "snapshot": False,
            }
        ],
    }
    config = parse_config(document, tmp_path).monitors[0]
    store = open_store(f"sqlite:///{tmp_path / 'dw.db'}")
    clock = SimulatedClock(START)
    # the candidate is a stored version, not live yet
    folder = versions_folder(tmp_path / "head") / candidate.version
    candidate.save(folder)
    with store.transaction() as session:
        add_version(session, "reviews", candidate.version, str(folder), "retrain", START)

    model = EmbeddingHeadModel(config.model, encoder=encoder, head=live)  # type: ignore[arg-type]
    source = MemorySource(config.columns, config.window)
    runtime = MonitorRuntime(config, source, model, reference)
    source.append(held_out.iloc[:WINDOW])
    scored, promoted = threading.Event(), threading.Event()
    score = model._score

    def score_then_wait(inputs: ModelInputs) -> Scores:
        scores = score(inputs)
        scored.set()
        assert promoted.wait(60), "the promotion never committed"
        return scores

    model._score = score_then_wait  # type: ignore[method-assign]
    outcomes: list[CycleOutcome] = []
    cycle = threading.Thread(target=lambda: outcomes.append(run_cycle(runtime, store, clock)))
    cycle.start()
    try:
        assert scored.wait(60), "the cycle never scored"
        promote_version(store, config, candidate.version, START)  # commits before it returns
    finally:
        promoted.set()
        cycle.join(60)
    model._score = score  # type: ignore[method-assign]

    (first,) = outcomes
    assert first.status == "ok", first.error
    with store.reading() as session:
        (run,) = run_summaries(session)
        stored = predictions(session, run["run_id"])
    texts = [p.text or "" for p in stored]
    assert run["model_version"] == live.version
    # scored by the live head...
    expected = scored_under(live, encoder, texts).probabilities
    np.testing.assert_allclose([p.probabilities for p in stored], expected, rtol=0, atol=1e-12)
    # ...and compared with the reference as the live head scores it, not the candidate
    under_live = prediction_drift(live, encoder, reference, texts, config)
    under_candidate = prediction_drift(candidate, encoder, reference, texts, config)
    # the two versions tell apart (how far apart depends on the tiny model; 1e-12 decides)
    assert abs(under_live - under_candidate) > 1e-6
    assert run["metrics"]["prediction_drift_score"] == pytest.approx(under_live, abs=1e-12)
    assert runtime.model.version == live.version  # nothing swapped it mid-cycle

    # the next cycle takes the promoted head up first, and scores and compares under it
    source.append(held_out.iloc[WINDOW : 2 * WINDOW])
    clock.advance(timedelta(minutes=5))
    second = run_cycle(runtime, store, clock)
    assert second.status == "ok", second.error
    assert runtime.model.version == candidate.version
    with store.reading() as session:
        later = run_summaries(session)[-1]
        texts = [p.text or "" for p in predictions(session, later["run_id"])]
    assert later["model_version"] == candidate.version
    assert later["metrics"]["prediction_drift_score"] == pytest.approx(
        prediction_drift(candidate, encoder, reference, texts, config), abs=1e-12
    )
    store.close()


def _imports(module: Path) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


def test_no_hook_or_lifecycle_module_imports_the_cycle() -> None:
    """Hooks read monitors through MonitorView; the lifecycle package sits below the cycle."""
    root = Path(__file__).resolve().parents[2] / "monitor"
    for module in sorted([*root.glob("hooks/*.py"), *root.glob("versions/*.py")]):
        assert not [n for n in _imports(module) if n.startswith("monitor.cycle")], module.name


def test_only_the_version_switch_changes_a_runtime_model() -> None:
    """One switch site: `swap(` is called in monitor/versions/switch.py and nowhere else."""
    root = Path(__file__).resolve().parents[2] / "monitor"
    callers = []
    for module in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(module.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "swap"
            ):
                callers.append(module.relative_to(root).as_posix())
    assert callers == ["versions/switch.py"]
