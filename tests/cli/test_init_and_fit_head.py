"""`driftwarden init` makes a project `once` runs as it is, and `model fit-head` refuses a
label value too rare to be a class unless `--labels` names the classes. Real sentences,
the packaged MiniLM."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from monitor.cli import main


@pytest.mark.slow
def test_init_writes_a_project_that_once_runs(
    tmp_path: Path, sentiment_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "project"
    argv = ["init", "--data", str(sentiment_dir / "amazon.csv"), "--text-column", "text"]
    argv += ["--label-column", "label", "--out", str(out)]
    assert main(argv) == 0
    said = capsys.readouterr().out
    assert f"next: driftwarden once --config {out / 'driftwarden.yaml'}" in said
    for name in ("driftwarden.yaml", "data/reference.csv", "data/stream/0001.csv"):
        assert (out / name).is_file(), name
    assert json.loads((out / "models/head/head.json").read_text())["labels"] == ["0", "1"]
    reference = pd.read_csv(out / "data/reference.csv")
    stream = pd.read_csv(out / "data/stream/0001.csv")
    assert len(reference) + len(stream) == 1000 and not set(reference.id) & set(stream.id)
    config = str(out / "driftwarden.yaml")
    assert main(["check-config", config]) == 0
    assert main(["once", "--config", config]) == 0
    summary = capsys.readouterr().out
    assert "amazon: run 1, window" in summary and "100 rows" in summary
    # the whole first stream file in one call: 300 rows, three 100-row windows
    assert summary.splitlines()[-1] == "amazon: 3 window(s) recorded"
    assert main(["runs", "--config", config, "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [r["status"] for r in runs] == ["ok"] * 3
    assert runs[0]["metrics"]["accuracy"] > 0.7  # the head works
    # a second init over the same folder writes nothing
    assert main(argv) == 2
    assert "init writes nothing over existing files" in capsys.readouterr().err


def test_init_refuses_before_touching_anything(tmp_path: Path, capsys) -> None:
    (tmp_path / "driftwarden.yaml").write_text("keep me\n")
    data = tmp_path / "d.csv"
    data.write_text("text,label\n" + "".join(f"t {i},{i % 2}\n" for i in range(100)))
    argv = ["init", "--data", str(data), "--text-column", "text", "--label-column", "label"]
    assert main([*argv, "--out", str(tmp_path)]) == 2
    assert f"{tmp_path / 'driftwarden.yaml'}" in capsys.readouterr().err
    assert (tmp_path / "driftwarden.yaml").read_text() == "keep me\n"
    assert not (tmp_path / "data").exists()


@pytest.fixture
def stray_label(tmp_path: Path, amazon_split) -> Path:
    """200 real sentences labelled 0/1, and one labelled `neutral`."""
    reference, _ = amazon_split
    table = reference.iloc[:200][["text", "label"]].astype({"label": str})
    table.loc[len(table)] = ["It arrived on a Tuesday.", "neutral"]
    path = tmp_path / "train.csv"
    table.to_csv(path, index=False)
    return path


def test_fit_head_refuses_a_stray_label(stray_label: Path, tmp_path: Path, capsys) -> None:
    argv = ["model", "fit-head", "--data", str(stray_label), "--text-column", "text"]
    assert main([*argv, "--label-column", "label", "--out", str(tmp_path / "head")]) == 2
    err = capsys.readouterr().err
    assert "'neutral' (1 row)" in err and "--labels 0,1" in err
    assert not (tmp_path / "head").exists()


@pytest.mark.slow
def test_fit_head_with_labels_leaves_other_rows_out(
    stray_label: Path, tmp_path: Path, capsys
) -> None:
    argv = ["model", "fit-head", "--data", str(stray_label), "--text-column", "text"]
    argv += ["--label-column", "label", "--out", str(tmp_path / "head"), "--labels", "0,1"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "left out 1 rows with other labels: 'neutral' (1)" in captured.err
    assert "(labels: 0, 1; held-out accuracy" in captured.out
    assert json.loads((tmp_path / "head" / "head.json").read_text())["labels"] == ["0", "1"]
