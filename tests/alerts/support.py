"""A small real monitor for alert and hook tests: a fitted scikit-learn model on one feature.

Windows are built with an exact accuracy (the model predicts `x > 0`; a share of labels is
flipped), so a test says which windows breach a rule and the cycle measures it for real.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from monitor.clock import SimulatedClock
from monitor.config import Config, parse_config
from monitor.cycle import CycleOutcome, MonitorRuntime, run_cycle
from monitor.models.registry import load_model
from monitor.sources.memory import MemorySource
from monitor.store import Store, open_store

START = datetime(2024, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


def window_rows(
    accuracy: float | None, rows: int = 40, seed: int = 0, shift: float = 0.0
) -> pd.DataFrame:
    """Rows the model gets right exactly `accuracy` of the time (None: unlabelled).

    `x` follows the reference's N(0, 1), kept 0.2 away from the decision boundary so the
    model's answer is certain; `shift` moves the whole window (the labels follow).
    """
    rng = np.random.default_rng(seed)
    x = rng.normal(size=rows)
    x = np.sign(x) * np.maximum(np.abs(x), 0.2) + shift
    truth = (x > 0).astype(float)
    if accuracy is None:
        return pd.DataFrame({"x": x, "y": np.nan})
    wrong = round((1 - accuracy) * rows)
    truth[:wrong] = 1 - truth[:wrong]
    return pd.DataFrame({"x": x, "y": truth})


def write_model(folder: Path) -> tuple[Path, Path]:
    rng = np.random.default_rng(1)
    x = rng.normal(size=400)
    reference = pd.DataFrame({"x": x, "y": (x > 0).astype(int)})
    model = LogisticRegression().fit(reference[["x"]], reference["y"])
    joblib.dump(model, folder / "model.joblib")
    reference.to_csv(folder / "reference.csv", index=False)
    return folder / "model.joblib", folder / "reference.csv"


def config_document(
    folder: Path, alerts: list[dict[str, Any]], hooks: dict[str, Any] | None = None
) -> dict[str, Any]:
    model, reference = write_model(folder)
    return {
        "storage": f"sqlite:///{folder / 'dw.db'}",
        "hooks": hooks or {},
        "monitors": [
            {
                "name": "tabular",
                "model": {"type": "sklearn", "path": str(model)},
                "reference": {"path": str(reference)},
                "stream": {"path": str(folder / "stream" / "*.csv")},
                "columns": {"features": ["x"], "target": "y"},
                "window": {"rows": 40},
                "snapshot": False,
                "alerts": alerts,
            }
        ],
    }


@dataclass
class Rig:
    """One monitor driven cycle by cycle on a simulated clock, against a SQLite file."""

    folder: Path
    config: Config
    source: MemorySource
    clock: SimulatedClock = field(default_factory=lambda: SimulatedClock(START))
    store: Store = field(init=False)
    runtime: MonitorRuntime = field(init=False)
    windows: int = 0

    def __post_init__(self) -> None:
        self.store = open_store(self.config.storage)
        self.runtime = self._runtime()

    def _runtime(self) -> MonitorRuntime:
        monitor = self.config.monitors[0]
        reference = pd.read_csv(monitor.reference.path)
        return MonitorRuntime(monitor, self.source, load_model(monitor.model), reference)

    @property
    def monitor(self) -> str:
        return self.config.monitors[0].name

    def window(self, accuracy: float | None, shift: float = 0.0) -> CycleOutcome:
        """Append one window's rows and run one cycle on it."""
        self.windows += 1
        self.source.append(window_rows(accuracy, seed=self.windows, shift=shift))
        self.clock.advance(STEP)
        outcome = run_cycle(self.runtime, self.store, self.clock)
        assert outcome.status == "ok", outcome.error
        return outcome

    def restart(self) -> None:
        """What a process restart keeps: the store file and the stream; nothing in memory."""
        self.store.close()
        self.store = open_store(self.config.storage)
        self.runtime = self._runtime()

    def close(self) -> None:
        self.store.close()


def make_rig(
    folder: Path, alerts: list[dict[str, Any]], hooks: dict[str, Any] | None = None
) -> Rig:
    document = config_document(folder, alerts, hooks)
    config = parse_config(document, folder)
    monitor = config.monitors[0]
    return Rig(folder, config, MemorySource(monitor.columns, monitor.window))
