"""The `executor:` block: the default, bounds, and a dask executor without the dask extra."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import main
from monitor.config import load_config
from monitor.config.executor import DaskExecutorConfig, InProcessExecutorConfig


def _write(tmp_path: Path, executor: Any = None) -> Path:
    (tmp_path / "stream").mkdir(exist_ok=True)
    (tmp_path / "reference.csv").write_text("text,label\nfine,1\n")
    (tmp_path / "stream" / "001.csv").write_text("text,label\nok,0\n")
    (tmp_path / "model").mkdir(exist_ok=True)
    (tmp_path / "model" / "config.json").write_text("{}")
    document: dict[str, Any] = {
        "monitors": [
            {
                "name": "reviews",
                "model": {"type": "transformers", "path": "model"},
                "reference": {"path": "reference.csv"},
                "stream": {"path": "stream/*.csv"},
                "columns": {"text": "text", "target": "label"},
            }
        ]
    }
    if executor is not None:
        document["executor"] = executor
    path = tmp_path / "dw.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def test_the_default_is_in_process_on_a_bounded_pool(tmp_path: Path) -> None:
    executor = load_config(_write(tmp_path)).executor
    assert isinstance(executor, InProcessExecutorConfig) and executor.concurrency == 4
    executor = load_config(_write(tmp_path, {"concurrency": 12})).executor
    assert isinstance(executor, InProcessExecutorConfig) and executor.concurrency == 12


def test_a_dask_executor_takes_an_address(tmp_path: Path) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    executor = load_config(
        _write(tmp_path, {"type": "dask", "address": "tcp://127.0.0.1:8786", "timeout": "2m"})
    ).executor
    assert isinstance(executor, DaskExecutorConfig)
    assert executor.address == "tcp://127.0.0.1:8786" and executor.timeout.total_seconds() == 120
    local = load_config(_write(tmp_path, {"type": "dask", "address": "local", "workers": 3}))
    assert isinstance(local.executor, DaskExecutorConfig) and local.executor.workers == 3


@pytest.mark.parametrize(
    ("executor", "expected"),
    [
        ({"type": "dask", "address": "local"}, "pip install 'driftwarden[dask]'"),
        ({"type": "threads"}, "executor: unknown executor type (known: in-process, dask)"),
        ({"concurrency": 0}, "executor.concurrency: Input should be greater than or equal to 1"),
        (
            {"type": "dask", "address": "127.0.0.1:8786"},
            "executor.address: (the value given) is no",
        ),
        ({"type": "dask"}, "executor.address: Field required"),
        ({"nodes": 3}, "executor.nodes: unknown key"),
    ],
)
def test_bad_executors_are_config_errors(
    tmp_path: Path, monkeypatch, capsys, executor: dict[str, Any], expected: str
) -> None:
    # as on a machine without the extra: Dask distributed cannot be found
    monkeypatch.setattr("monitor.config.executor.dask_installed", lambda: False)
    assert main(["check-config", str(_write(tmp_path, executor))]) == 2
    assert expected in capsys.readouterr().err


def test_workers_apply_to_a_local_cluster_only(tmp_path: Path, capsys) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    path = _write(tmp_path, {"type": "dask", "address": "tcp://h:8786", "workers": 2})
    assert main(["check-config", str(path)]) == 2
    assert "apply to `address: local` only" in capsys.readouterr().err


def test_a_retrain_head_hook_needs_the_monitors_in_the_daemon(tmp_path: Path, capsys) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    path = _write(tmp_path, {"type": "dask", "address": "local"})
    document = yaml.safe_load(path.read_text())
    document["hooks"] = {"refit": {"type": "retrain-head"}}
    path.write_text(yaml.safe_dump(document))
    assert main(["check-config", str(path)]) == 2
    assert "hooks.refit: a retrain-head hook needs the monitors loaded in the daemon" in (
        capsys.readouterr().err
    )


def test_late_labels_need_the_monitors_in_the_daemon(tmp_path: Path, capsys) -> None:
    pytest.importorskip("distributed", reason="the dask extra is not installed")
    path = _write(tmp_path, {"type": "dask", "address": "local"})
    document = yaml.safe_load(path.read_text())
    document["monitors"][0]["labels"] = {"type": "files", "path": str(tmp_path / "l*.csv")}
    document["monitors"][0].setdefault("columns", {})["id"] = "id"
    path.write_text(yaml.safe_dump(document))
    assert main(["check-config", str(path)]) == 2
    assert "monitors[0].labels: late labels are joined by the monitors loaded in the daemon" in (
        capsys.readouterr().err
    )
