"""`once` runs every monitor it can: one that cannot load is reported, the others run."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from alerts.support import config_document, window_rows

from monitor.cli import main


def test_once_runs_the_monitors_after_one_that_cannot_load(tmp_path: Path, capsys) -> None:
    document = config_document(tmp_path, alerts=[])
    working = document["monitors"][0]
    broken = {**working, "name": "broken", "model": {"type": "sklearn", "path": "broken.joblib"}}
    (tmp_path / "broken.joblib").write_bytes(b"not a pickle at all")
    document["monitors"] = [broken, working]
    (tmp_path / "stream").mkdir()
    window_rows(1.0).to_csv(tmp_path / "stream" / "001.csv", index=False)
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump(document))

    assert main(["once", "--config", str(config)]) == 1
    captured = capsys.readouterr()
    assert "error: broken: cannot load the monitor: cannot load" in captured.err
    assert "tabular: run 2, window" in captured.out  # the monitor after it ran
    assert captured.err.splitlines()[-1] == "error: 1 of 2 monitor(s) failed: broken"

    assert main(["runs", "--config", str(config), "--json"]) == 0
    runs = {r["monitor"]: r for r in json.loads(capsys.readouterr().out)}
    assert runs["broken"]["status"] == "error" and "cannot load" in runs["broken"]["error"]
    assert runs["tabular"]["status"] == "ok" and runs["tabular"]["rows"] == 40
