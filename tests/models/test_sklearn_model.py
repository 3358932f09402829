"""A fitted scikit-learn pipeline on tabular features, through a whole cycle."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import LinearSVC

from monitor.clock import SimulatedClock
from monitor.config import ColumnsConfig, WindowConfig, parse_config
from monitor.cycle import MonitorRuntime, run_cycle
from monitor.errors import ModelError
from monitor.models.sklearn import SklearnModel
from monitor.models.specs import SklearnModelConfig
from monitor.sources.memory import MemorySource
from monitor.store import open_store


def tabular(n: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "amount": rng.normal(100 + shift * 40, 20, n),
            "age": rng.normal(40, 10, n),
            "channel": rng.choice(
                ["web", "shop", "phone"], n, p=[0.6 - shift * 0.3, 0.3, 0.1 + shift * 0.3]
            ),
        }
    )
    frame["label"] = np.where(frame["amount"] + rng.normal(0, 10, n) > 105, "fraud", "ok")
    return frame


@pytest.fixture(scope="module")
def pipeline_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    train = tabular(600, seed=1)
    pipeline = make_pipeline(
        ColumnTransformer(
            [("num", StandardScaler(), ["amount", "age"]), ("cat", OneHotEncoder(), ["channel"])]
        ),
        LogisticRegression(),
    ).fit(train[["amount", "age", "channel"]], train["label"])
    path = tmp_path_factory.mktemp("sk") / "model.joblib"
    joblib.dump(pipeline, path)
    return path


def test_tabular_cycle_drift_and_quality(pipeline_file: Path, tmp_path: Path) -> None:
    reference = tabular(400, seed=2)
    reference.to_csv(tmp_path / "ref.csv", index=False)
    config = parse_config(
        {
            "storage": "sqlite://",
            "monitors": [
                {
                    "name": "fraud",
                    "model": {"type": "sklearn", "path": str(pipeline_file)},
                    "reference": {"path": str(tmp_path / "ref.csv")},
                    "stream": {"path": str(tmp_path / "none-*.csv")},
                    "columns": {"features": ["amount", "age", "channel"], "target": "label"},
                    "window": {"rows": 200},
                    "snapshot": False,
                }
            ],
        }
    )
    monitor = config.monitors[0]
    source = MemorySource(monitor.columns, monitor.window)
    source.append(tabular(200, seed=3))
    source.append(tabular(200, seed=4, shift=1.0))
    runtime = MonitorRuntime.build(monitor, source=source)
    store = open_store("sqlite://")
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    calm, shifted = run_cycle(runtime, store, clock), run_cycle(runtime, store, clock)
    assert calm.result is not None and shifted.result is not None
    assert set(calm.result.features) == {"amount", "age", "channel"}
    assert calm.result.features["channel"].method == "jensenshannon"
    assert calm.result.features["amount"].method == "ks"
    assert not calm.result.dataset_drift
    assert shifted.result.features["amount"].drifted and shifted.result.features["channel"].drifted
    assert shifted.result.dataset_drift
    assert calm.result.embedding is None  # a tabular model gives no embeddings
    assert 0.7 < calm.result.quality["accuracy"] <= 1.0


def test_an_estimator_without_predict_proba_still_scores(tmp_path: Path) -> None:
    train = tabular(300, seed=5)
    model = make_pipeline(StandardScaler(), LinearSVC()).fit(
        train[["amount", "age"]], train["label"]
    )
    joblib.dump(model, tmp_path / "svc.joblib")
    adapter = SklearnModel(SklearnModelConfig(type="sklearn", path=tmp_path / "svc.joblib"))
    scores = adapter.score(train[["amount", "age"]].iloc[:10])
    assert scores.probabilities is None
    assert scores.predicted_names == list(model.predict(train[["amount", "age"]].iloc[:10]))


def test_a_file_without_a_classifier_is_refused(tmp_path: Path) -> None:
    joblib.dump({"not": "a model"}, tmp_path / "x.joblib")
    with pytest.raises(ModelError, match="has no predict"):
        SklearnModel(SklearnModelConfig(type="sklearn", path=tmp_path / "x.joblib"))
    with pytest.raises(ModelError, match="does not exist"):
        SklearnModel(SklearnModelConfig(type="sklearn", path=tmp_path / "absent.joblib"))


def test_missing_feature_values_are_quarantined() -> None:
    source = MemorySource(ColumnsConfig(features=["a", "b"]), WindowConfig(rows=2))
    source.append(pd.DataFrame({"a": [1.0, None, 3.0], "b": [1.0, 2.0, 3.0]}))
    window = source.read(None, datetime(2030, 1, 1, tzinfo=UTC))
    assert window is not None and window.rows["a"].tolist() == [1.0, 3.0]
    assert [r.reason for r in window.rejected] == ["missing value in feature 'a'"]
