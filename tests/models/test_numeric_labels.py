"""Numeric labels that are not the class ids 0..k-1 (labels 1 and 2) match classes by name."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from monitor.clock import SimulatedClock
from monitor.config import parse_config
from monitor.cycle import MonitorRuntime, run_cycle
from monitor.models.sklearn import SklearnModel
from monitor.models.specs import SklearnModelConfig
from monitor.sources.memory import MemorySource
from monitor.store import open_store


def rows(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({"x": rng.normal(0, 1, n), "y": rng.normal(0, 1, n)})
    frame["label"] = np.where(frame["x"] + rng.normal(0, 0.3, n) > 0, 2, 1)  # classes 1, 2
    return frame


def model_file(tmp_path: Path) -> Path:
    train = rows(400, seed=1)
    path = tmp_path / "model.joblib"
    joblib.dump(LogisticRegression().fit(train[["x", "y"]], train["label"]), path)
    return path


def test_class_id_reads_numbers_as_names_when_every_class_is_an_integer(tmp_path: Path) -> None:
    model = SklearnModel(SklearnModelConfig(type="sklearn", path=model_file(tmp_path)))
    assert model.class_names == ("1", "2")
    assert [model.class_id(v) for v in (1, 2, np.int64(2), 2.0, "2", " 1 ")] == [0, 1, 1, 1, 1, 0]
    assert model.class_id(0) is None and model.class_id(3) is None  # not a class name


def test_a_cycle_compares_labels_1_and_2_with_the_classes_of_those_names(tmp_path: Path) -> None:
    path = model_file(tmp_path)
    rows(300, seed=2).to_csv(tmp_path / "ref.csv", index=False)
    config = parse_config(
        {
            "storage": "sqlite://",
            "monitors": [
                {
                    "name": "numeric",
                    "model": {"type": "sklearn", "path": str(path)},
                    "reference": {"path": str(tmp_path / "ref.csv")},
                    "stream": {"path": str(tmp_path / "none-*.csv")},
                    "columns": {"features": ["x", "y"], "target": "label"},
                    "window": {"rows": 200},
                    "snapshot": False,
                }
            ],
        }
    )
    monitor = config.monitors[0]
    window = rows(200, seed=3)
    source = MemorySource(monitor.columns, monitor.window)
    source.append(window)
    runtime = MonitorRuntime.build(monitor, source=source)
    outcome = run_cycle(
        runtime, open_store("sqlite://"), SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    )
    assert outcome.status == "ok" and outcome.quarantined == 0
    assert outcome.result is not None
    estimator = joblib.load(path)
    expected = float(np.mean(estimator.predict(window[["x", "y"]]) == window["label"]))
    assert expected > 0.8  # read as class ids, labels 1/2 would score about 1 - expected
    assert outcome.result.quality["accuracy"] == expected
