"""Progress on a terminal: `once` in a real pseudo-terminal shows its steps; in a pipe, or
with JSON logs, nothing is drawn."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from pathlib import Path

import yaml
from alerts.support import config_document, window_rows

ENTRY = "import sys; from monitor.cli import main; sys.exit(main())"
STEP = "tabular: running a cycle"


def project(tmp_path: Path) -> str:
    document = config_document(tmp_path, [])
    (tmp_path / "stream").mkdir()
    window_rows(0.9, seed=1).to_csv(tmp_path / "stream" / "001.csv", index=False)
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump(document))
    return str(config)


def in_terminal(argv: list[str]) -> tuple[int, str]:
    """Run the CLI with stdout and stderr on a pseudo-terminal; everything it wrote there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", ENTRY, *argv],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
        env={**os.environ, "TERM": "xterm", "COLUMNS": "120"},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: the process closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return process.wait(timeout=120), b"".join(chunks).decode("utf-8", "replace")


def test_once_shows_its_steps_on_a_terminal(tmp_path: Path) -> None:
    code, screen = in_terminal(["once", "--config", project(tmp_path)])
    assert code == 0, screen
    assert STEP in screen
    assert "tabular: run 1" in screen  # the summary line follows the erased spinner


def test_nothing_is_drawn_in_a_pipe_or_with_json_logs(tmp_path: Path) -> None:
    config = project(tmp_path)
    piped = subprocess.run(
        [sys.executable, "-c", ENTRY, "once", "--config", config],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert piped.returncode == 0 and STEP not in piped.stderr + piped.stdout
    code, screen = in_terminal(["--log-format", "json", "once", "--config", config])
    assert code == 0 and STEP not in screen and "\x1b[?25l" not in screen  # no hidden cursor
