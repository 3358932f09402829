"""The replay runner's guards and its progress line (no model loaded)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import UsageError
from monitor.replay import parse_scenario
from monitor.replay.progress import ProgressLine
from monitor.replay.runner import replay
from monitor.store import RunRecord, open_store
from monitor.store.repository import record_run

SCENARIO = {
    "name": "guarded",
    "reference": {"rows": 40, "mix": {"books": 1}},
    "phases": [{"windows": 1, "mix": {"books": 1}}],
}


def test_a_store_holding_the_monitors_windows_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'used.db'}"
    store = open_store(url)
    moment = datetime(2024, 1, 1, tzinfo=UTC)
    with store.transaction() as session:
        record_run(
            session,
            RunRecord("guarded", moment, moment, moment, moment, position='{"window": 0}'),
        )
    store.close()
    with pytest.raises(UsageError, match="already holds windows of monitor 'guarded'"):
        replay(parse_scenario(SCENARIO), db=url)


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_on_a_terminal_and_prints_one_line_elsewhere() -> None:
    terminal = Terminal()
    bar = ProgressLine("replay x", terminal)
    bar(1, 4)
    bar(4, 4)
    bar.close()
    drawn = terminal.getvalue()
    assert drawn.startswith("\rreplay x [#######") and "1/4 windows" in drawn
    assert drawn.endswith(" s\n") and drawn.count("4/4 windows") == 2

    log = io.StringIO()
    bar = ProgressLine("replay x", log)
    bar(1, 4)
    bar(4, 4)
    bar.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("replay x [" + "#" * 30 + "] 4/4 windows")
