"""`driftwarden status` says when a quality metric is below its rule's floor, as the
dashboards' status does (`driftwarden:monitor_status`), in one word and with the numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cli.test_status_and_quarantine import make_project, run
from monitor.cli import main


def test_a_quality_rule_firing_reads_quality_below_floor(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = {"name": "accuracy-drop", "metric": "accuracy", "below": 0.9, "for": 1}
    config = make_project(tmp_path, [rule], {})
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    code, out, _ = run(["status", "--config", config], capsys)
    assert code == 1
    assert "tabular: status quality below floor" in out
    # 19 of the 40 usable labels are flipped: accuracy 0.525
    assert "tabular: quality below floor: accuracy under 0.9 for rule accuracy-drop" in out
    assert "(accuracy 0.525)" in out
    (health,) = json.loads(run(["status", "--config", config, "--json"], capsys)[1])
    assert health["state"] == "quality below floor"
    assert health["quality_below_floor"] == [
        {"rule": "accuracy-drop", "metric": "accuracy", "floor": 0.9}
    ]


def test_a_healthy_monitor_has_no_quality_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rule = {"name": "accuracy-drop", "metric": "accuracy", "below": 0.1, "for": 1}
    config = make_project(tmp_path, [rule], {})
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    code, out, _ = run(["status", "--config", config], capsys)
    assert code == 0 and "quality below floor" not in out
    (health,) = json.loads(run(["status", "--config", config, "--json"], capsys)[1])
    assert health["state"] == "ok" and health["quality_below_floor"] == []
