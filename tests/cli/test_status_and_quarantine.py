"""`driftwarden status` and `driftwarden quarantine` on a real store that `once` filled."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from alerts.support import config_document, window_rows

from monitor.cli import main


def make_project(tmp_path: Path, alerts: list[dict[str, Any]], hooks: dict[str, Any]) -> str:
    """A tabular monitor whose first stream file holds one window and two unusable rows."""
    document = config_document(tmp_path, alerts, hooks)
    document["monitors"][0]["columns"]["id"] = "id"
    (tmp_path / "stream").mkdir()
    frame = window_rows(0.5, rows=42, seed=3)
    frame.loc[[10, 11], "x"] = float("nan")  # two rows without their feature
    frame.insert(0, "id", [f"row-{i}" for i in range(len(frame))])
    frame.to_csv(tmp_path / "stream" / "001.csv", index=False)
    path = tmp_path / "dw.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_fresh_healthy_monitor_exits_0(tmp_path: Path, capsys) -> None:
    config = make_project(tmp_path, [], {})
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    code, out, _ = run(["status", "--config", config], capsys)
    assert code == 0, out
    header, line = out.splitlines()[:2]
    assert header.split()[:5] == ["monitor", "health", "run", "age", "stale"]
    assert line.split()[:3] == ["tabular", "ok", "1"] and " fresh " in line
    assert "accuracy 0.525" in line  # 19 of the 40 usable labels are flipped
    code, out, _ = run(["status", "--config", config, "--json"], capsys)
    (health,) = json.loads(out)
    assert health["healthy"] is True and health["stale"] is False
    assert health["schedule_seconds"] == 300 and health["last_run"]["rows"] == 40
    assert health["outbox"] == {"pending": 0, "failed": 0}


def test_firing_rules_stale_runs_and_failed_hooks_make_it_unhealthy(tmp_path: Path, capsys) -> None:
    rule = {"name": "accuracy-drop", "metric": "accuracy", "below": 0.9, "for": 1}
    config = make_project(
        tmp_path,
        [{**rule, "hooks": ["page"]}],
        {"page": {"type": "command", "argv": ["false"], "retries": 0}},
    )
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    code, out, _ = run(["status", "--config", config], capsys)
    assert code == 1
    assert "UNHEALTHY" in out and "tabular: firing: accuracy-drop" in out
    (health,) = json.loads(run(["status", "--config", config, "--json"], capsys)[1])
    assert health["firing"] == ["accuracy-drop"] and health["outbox"]["failed"] == 1
    # the last run finished an hour ago: more than 3 periods of 5 minutes
    with sqlite3.connect(tmp_path / "dw.db") as db:
        old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        db.execute("UPDATE runs SET finished_at = ?", (old,))
    code, out, _ = run(["status", "--config", config], capsys)
    assert code == 1 and "tabular: stale: no run for 1h" in out and " STALE " in out


def test_with_only_a_store_the_staleness_is_unknown(tmp_path: Path, capsys) -> None:
    config = make_project(tmp_path, [], {})
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    db = f"sqlite:///{tmp_path / 'dw.db'}"
    code, out, _ = run(["status", "--db", db], capsys)
    assert code == 0 and " unknown " in out
    assert "staleness unknown without --config" in out


def test_a_configured_monitor_that_never_ran_is_unhealthy(tmp_path: Path, capsys) -> None:
    config = make_project(tmp_path, [], {})
    code, out, _ = run(["status", "--config", config], capsys)
    assert code == 1 and "tabular: no run recorded yet" in out
    code, out, _ = run(["status", "--db", f"sqlite:///{tmp_path / 'other.db'}"], capsys)
    assert code == 1 and "no monitor recorded in this store yet" in out


def test_quarantine_lists_the_rows_a_window_set_aside(tmp_path: Path, capsys) -> None:
    config = make_project(tmp_path, [], {})
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    code, out, _ = run(["quarantine", "--config", config], capsys)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["run", "monitor", "row", "reason", "row", "data"]
    assert [line.split()[:3] for line in lines[1:]] == [
        ["1", "tabular", "row-10"],
        ["1", "tabular", "row-11"],
    ]
    assert all("missing value in feature 'x'" in line for line in lines[1:])
    listed = json.loads(run(["quarantine", "--config", config, "--run", "1", "--json"], capsys)[1])
    assert [(r["row_id"], r["run_id"]) for r in listed] == [("row-10", 1), ("row-11", 1)]
    assert listed[0]["raw"]["id"] == "row-10" and "y" in listed[0]["raw"]
    assert json.loads(run(["quarantine", "--config", config, "-n", "1", "--json"], capsys)[1])[0][
        "row_id"
    ] == ("row-11")
    code, _, err = run(["quarantine", "--config", config, "--monitor", "tabulr"], capsys)
    assert code == 2 and "did you mean tabular?" in err


def test_hooks_and_runs_tables_show_whole_names(tmp_path: Path, capsys) -> None:
    hook = "page-the-on-call-data-science-team"
    rule = {"name": "accuracy-below-the-accepted-floor", "metric": "accuracy", "below": 0.9}
    config = make_project(
        tmp_path,
        [{**rule, "for": 1, "hooks": [hook]}],
        {hook: {"type": "command", "argv": ["false"], "retries": 0}},
    )
    assert main(["once", "--config", config]) == 0
    capsys.readouterr()
    code, out, _ = run(["hooks", "--config", config], capsys)
    assert code == 0
    header, attempt = out.splitlines()[:2]
    assert hook in attempt.split() and f"tabular/{rule['name']}" in attempt.split()
    # each header starts where its column starts
    assert attempt.index(hook) == header.index("hook")
    assert attempt.index("tabular/") == header.index("monitor/rule")
