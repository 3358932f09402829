"""What a newcomer sees of the demo: its log names each phase as the stream enters it, and
bare `status` and `runs` read its store."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.config import ColumnsConfig
from monitor.demo.home import demo_store_file
from monitor.demo.stream import DemoStream, DriftCycle
from monitor.store import open_store

NOW = datetime(2025, 3, 3, tzinfo=UTC)


def test_the_log_names_each_phase_once_as_the_stream_enters_it(caplog) -> None:
    stream = DemoStream(ColumnsConfig(text="text", target="label"), 50, DriftCycle(1000))
    after = None
    with caplog.at_level(logging.INFO, logger="driftwarden.demo"):
        for _ in range(20):  # 1,000 rows and more: one whole period
            after = stream.read(after, NOW).position
    phases = [r.phase for r in caplog.records if hasattr(r, "phase")]
    assert phases == ["healthy", "drifting", "recovering", "healthy"]
    assert caplog.records[1].getMessage().startswith("demo stream: drifting: ")
    assert json.loads(after)["row"] >= 1000


def test_bare_status_and_runs_read_the_demo_store(capsys, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("DRIFTWARDEN_HOME", str(tmp_path))
    assert main(["runs"]) == 2
    err = capsys.readouterr().err
    assert "give --config FILE or --db URL" in err and str(tmp_path / "demo.db") in err
    open_store(f"sqlite:///{demo_store_file()}").close()  # what `driftwarden run` creates
    assert main(["runs", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out) == []
    assert captured.err == f"(no --config or --db: reading the demo's store {tmp_path}/demo.db)\n"
    assert main(["status"]) == 1  # an empty store watches nothing
    assert "no monitor recorded in this store yet" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["status", "runs"])
def test_bare_commands_without_a_demo_say_which_store_is_missing(
    command: str, capsys, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("DRIFTWARDEN_HOME", str(tmp_path / "none"))
    assert main([command]) == 2
    assert "the demo's store" in capsys.readouterr().err
