"""`once` on a first project: a config mistake is exit 2 before the store exists, every
complete window is recorded in one call, and nothing new is answered without a model."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from alerts.support import config_document, window_rows

from monitor.cli import main


def write(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "dw.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Any]:
    """A tabular monitor (40-row windows) whose first stream file holds three windows and
    a half."""
    document = config_document(tmp_path, alerts=[])
    (tmp_path / "stream").mkdir()
    rows = pd.concat([window_rows(1.0, seed=s) for s in range(4)]).iloc[:140]
    rows.to_csv(tmp_path / "stream" / "001.csv", index=False)
    return document


@pytest.mark.parametrize("command", ["once", "run"])
def test_a_config_mistake_is_exit_2_with_check_configs_lines_and_no_store(
    tmp_path: Path, project, capsys, command: str
) -> None:
    project["monitors"][0]["columns"]["features"] = ["x", "nope"]
    config = write(tmp_path, project)
    assert main(["check-config", config]) == 2
    said = capsys.readouterr().err.splitlines()
    expected = "".join(f"{line}\n" for line in said if not line.startswith("warning: "))

    assert main([command, "--config", config]) == 2
    assert capsys.readouterr().err == expected  # check-config's errors (its warnings: its own)
    assert "monitors[0].reference.path:" in expected and "'nope'" in expected
    assert not (tmp_path / "dw.db").exists()  # no failed run recorded, no store created


def test_once_records_every_complete_window_and_says_how_many(
    tmp_path: Path, project, capsys
) -> None:
    config = write(tmp_path, project)
    assert main(["once", "--config", config]) == 0
    out = capsys.readouterr().out
    assert [line.split(",")[0] for line in out.splitlines()[:3]] == [
        "tabular: run 1",
        "tabular: run 2",
        "tabular: run 3",
    ]
    assert out.splitlines()[-1] == "tabular: 3 window(s) recorded"

    assert main(["once", "--config", config]) == 0
    assert capsys.readouterr().out == (
        "tabular: nothing new (fewer than 40 new rows); nothing recorded\n"
    )


def test_max_windows_bounds_the_catch_up(tmp_path: Path, project, capsys) -> None:
    config = write(tmp_path, project)
    assert main(["once", "--config", config, "--max-windows", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "tabular: 2 window(s) recorded (--max-windows reached: run once again for any more)"
    )
    assert main(["once", "--config", config, "--max-windows", "2"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "tabular: 1 window(s) recorded"
    assert main(["once", "--config", config, "--max-windows", "0"]) == 2


def test_nothing_new_loads_no_model(tmp_path: Path, project) -> None:
    config = write(tmp_path, project)
    assert main(["once", "--config", config]) == 0
    probe = (
        "import sys; from monitor.cli import main; code = main(sys.argv[1:]); "
        "print(code, 'sklearn' in sys.modules, 'evidently' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "once", "--config", config],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "tabular: nothing new" in result.stdout, result.stderr
    assert result.stdout.splitlines()[-1] == "0 False False", result.stderr
