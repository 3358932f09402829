"""`check-config` checks what a config points at, and no command imports a model stack
before its config, scenario or data file is known to be valid."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from alerts.support import config_document

from monitor.cli import main

HEAVY = ("torch", "transformers", "evidently", "onnxruntime")


def write(tmp_path: Path, document: dict[str, Any]) -> str:
    path = tmp_path / "dw.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


@pytest.fixture
def tabular(tmp_path: Path) -> dict[str, Any]:
    """A valid tabular config with one stream file (id, x, y, ts)."""
    document = config_document(tmp_path, [])
    monitor = document["monitors"][0]
    monitor["columns"]["id"] = "id"
    monitor["stream"]["timestamp_column"] = "ts"
    (tmp_path / "stream").mkdir()
    (tmp_path / "stream" / "001.csv").write_text("id,x,y,ts\n1,0.5,1,2024-01-01T00:00:00Z\n")
    return document


def check(config: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(["check-config", config])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_config_whose_files_are_right_is_ok(tmp_path: Path, tabular, capsys) -> None:
    code, out, err = check(write(tmp_path, tabular), capsys)
    assert code == 0 and out.endswith(": ok (1 monitor(s): tabular; 0 hook(s))\n"), err
    assert err == ""


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda m, d: m["reference"].update(path=str(d / "nope.csv")),
            "monitors[0].reference.path: {d}/nope.csv does not exist",
        ),
        (
            lambda m, d: m["columns"].update(features=["x", "z"]),
            "monitors[0].reference.path: {d}/reference.csv has no column(s) 'z' (columns: x, y)",
        ),
        (
            lambda m, d: m["model"].update(path=str(d / "model.pkl")),
            "monitors[0].model.path: {d}/model.pkl does not exist",
        ),
        (
            lambda m, d: m.update(schedule={"cron": "61 * * * *"}),
            "monitors[0].schedule.cron: '61 * * * *' is not valid",
        ),
    ],
    ids=["reference", "reference-column", "sklearn-file", "cron"],
)
def test_a_wrong_file_or_column_is_a_problem_at_its_key(
    tmp_path: Path, tabular, capsys, change, expected
) -> None:
    change(tabular["monitors"][0], tmp_path)
    code, _, err = check(write(tmp_path, tabular), capsys)
    assert code == 2
    assert any(expected.format(d=tmp_path) in line for line in err.splitlines()), err


def test_a_stream_file_without_a_column_is_a_warning_it_is_set_aside(
    tmp_path: Path, tabular, capsys
) -> None:
    tabular["monitors"][0]["stream"]["timestamp_column"] = "time"
    code, out, err = check(write(tmp_path, tabular), capsys)
    assert code == 0 and ": ok (" in out  # the daemon sets such a file aside and goes on
    expected = (
        f"warning: monitors[0].stream.path: {tmp_path}/stream/001.csv has no column(s) 'time'"
    )
    assert err.startswith(expected) and err.rstrip().endswith("; it will be set aside"), err


def test_optional_columns_and_an_empty_glob_are_warnings(tmp_path: Path, tabular, capsys) -> None:
    (tmp_path / "stream" / "001.csv").write_text("x,ts\n0.5,2024-01-01T00:00:00Z\n")
    code, out, err = check(write(tmp_path, tabular), capsys)
    assert code == 0 and ": ok (" in out
    assert "warning: monitors[0].stream.path:" in err and "'y', 'id'" in err
    tabular["monitors"][0]["stream"]["path"] = str(tmp_path / "later" / "*.csv")
    code, out, err = check(write(tmp_path, tabular), capsys)
    assert code == 0 and f"no file matches {tmp_path}/later/*.csv yet" in err


def test_text_models_need_their_folders_and_a_head(tmp_path: Path, capsys) -> None:
    (tmp_path / "head").mkdir()
    (tmp_path / "head" / "head.json").write_text("{}")
    (tmp_path / "bert").mkdir()
    (tmp_path / "reference.csv").write_text("text,label\nfine,1\n")
    (tmp_path / "stream").mkdir()
    (tmp_path / "stream" / "a.jsonl").write_text(json.dumps({"text": "ok", "label": 1}) + "\n")
    monitor = {
        "reference": {"path": "reference.csv"},
        "stream": {"path": "stream/*.jsonl"},
        "columns": {"text": "text", "target": "label"},
    }
    document = {
        "storage": f"sqlite:///{tmp_path / 'nodir' / 'dw.db'}",
        "monitors": [
            {**monitor, "name": "head", "model": {"type": "embedding-head", "head": "head"}},
            {**monitor, "name": "clf", "model": {"type": "transformers", "path": "bert"}},
            {
                **monitor,
                "name": "enc",
                "model": {"type": "embedding-head", "encoder": "package:no_such_fm", "head": "x"},
            },
        ],
    }
    code, _, err = check(write(tmp_path, document), capsys)
    assert code == 2
    for line in [
        f"storage: folder {tmp_path}/nodir does not exist",
        f"monitors[0].model.head: {tmp_path}/head holds no head (head.json and head.npz expected)",
        f"monitors[1].model.path: {tmp_path}/bert has no config.json",
        "monitors[2].model.encoder: package 'no_such_fm' is not installed",
        f"monitors[2].model.head: {tmp_path}/x does not exist",
    ]:
        assert any(problem.startswith(line) for problem in err.splitlines()), (line, err)


def heavy_modules_after(argv: list[str]) -> tuple[int, list[str], str]:
    """Run a command line in a fresh interpreter; the heavy modules it imported."""
    probe = (
        "import sys; from monitor.cli import main; code = main(sys.argv[1:]); "
        f"print(code, [m for m in {HEAVY!r} if m in sys.modules])"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, *argv], capture_output=True, text=True, timeout=120
    )
    code, heavy = result.stdout.strip().splitlines()[-1].split(" ", 1)
    return int(code), json.loads(heavy.replace("'", '"')), result.stderr


def test_no_command_loads_a_model_stack_to_reject_its_input(tmp_path: Path, tabular) -> None:
    good = write(tmp_path, tabular)
    typo = tmp_path / "typo.yaml"
    typo.write_text("monitors:\n  - name: a\n    modle: {}\n")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text("name: x\nbogus: 1\n")
    data = ["--text-column", "text", "--label-column", "label", "--out", str(tmp_path / "h")]
    for argv, code in [
        (["check-config", good], 0),
        (["once", "--config", str(typo)], 2),
        (["run", "--config", str(typo)], 2),
        (["replay", str(scenario)], 2),
        (["model", "fit-head", "--data", str(tmp_path / "nope.csv"), *data], 2),
        (["status", "--config", good], 1),
    ]:
        returned, heavy, err = heavy_modules_after(argv)
        assert (returned, heavy) == (code, []), (argv, err)


def test_once_says_when_the_stream_glob_matches_nothing(tmp_path: Path, tabular, capsys) -> None:
    tabular["monitors"][0]["stream"] = {"path": str(tmp_path / "later" / "*.csv")}
    assert main(["once", "--config", write(tmp_path, tabular)]) == 0
    out = capsys.readouterr().out
    assert (
        f"tabular: nothing new (no stream files match {tmp_path}/later/*.csv yet); nothing recorded"
        in out
    )
