"""Every command, called wrongly, answers with one line on stderr and exit 2: no traceback.

The cases cover each leaf command of the tree (a new command without cases fails here),
and the command lines a fresh install was seen to traceback on are run once more through
the real `driftwarden` console script, as a user types them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
import yaml
from alerts.support import config_document

from monitor import __version__
from monitor.cli import app, main
from monitor.store import open_store

MISSING = "missing.yaml"


@pytest.fixture
def rig(tmp_path: Path) -> dict[str, str]:
    """A valid config (sklearn model, real files), its SQLite store, a labelled CSV."""
    document = config_document(tmp_path, [])
    (tmp_path / "stream").mkdir()
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump(document))
    open_store(document["storage"]).close()
    labelled = tmp_path / "labelled.csv"
    labelled.write_text("text,label\n" + "".join(f"text {i},{i % 2}\n" for i in range(40)))
    bad_scenario = tmp_path / "bad-scenario.yaml"
    bad_scenario.write_text("name: x\nbogus: 1\n")
    return {
        "cfg": str(config),
        "db": document["storage"],
        "csv": str(labelled),
        "missing": str(tmp_path / MISSING),
        "out": str(tmp_path / "out.html"),
        "dir": str(tmp_path / "project"),
        "scenario": str(bad_scenario),
    }


# Per leaf command: argument lists that must each exit 2 (`{name}` from the rig).
BAD: dict[str, list[list[str]]] = {
    "check-config": [[], ["{missing}"], ["{cfg}", "extra"]],
    "once": [[], ["--config", "{missing}"], ["--config", "{cfg}", "--monitor", "nope"]],
    "run": [
        ["--metrics-port", "99999"],
        ["--metrics-port", "abc"],
        ["--max-cycles", "0"],
        ["--config", "{missing}"],
    ],
    "replay": [[], ["{missing}"], ["{scenario}"]],
    "status": [[], ["--db", "{db}", "extra"]],
    "quarantine": [
        [],
        ["--db", "{db}", "--run", "abc"],
        ["--db", "{db}", "--run", "99"],
        ["--db", "{db}", "--limit", "0"],
        ["--db", "{db}", "--monitor", "nope"],
    ],
    "runs": [
        [],
        ["--confg", "x"],
        ["--db", "{db}", "--limit", "-1"],
        ["--db", "{db}", "--monitor", "nope"],
        ["--config", "{missing}"],
    ],
    "hooks": [[], ["--db", "{db}", "--limit", "abc"], ["--db", "{db}", "--monitor", "nope"]],
    "report": [
        [],
        ["abc"],
        ["1"],
        ["0", "--db", "{db}", "--out", "{out}"],
        ["5", "--db", "{db}", "--out", "{out}"],
    ],
    "init": [
        [],
        ["--data", "{missing}", "--text-column", "text", "--label-column", "label"],
        ["--data", "{csv}", "--text-column", "nope", "--label-column", "label"],
        ["--data", "{csv}", "--text-column", "text", "--label-column", "label", "--labels", "0"],
    ],
    "model fit-head": [
        [],
        ["--data", "{missing}", "--text-column", "text", "--label-column", "label", "--out", "x"],
        ["--data", "{csv}", "--text-column", "nope", "--label-column", "label", "--out", "x"],
        ["--data", "{csv}", "--text-column", "text", "--label-column", "label", "--threads", "0"],
    ],
    "label-requests": [
        [],
        ["--config", "{cfg}", "--out", "{out}"],
        ["--config", "{cfg}", "--out", "{dir}.json"],
        ["--config", "{cfg}", "--out", "{dir}.json", "--budget", "0"],
        ["--config", "{cfg}", "--out", "{dir}.json", "--monitor", "nope"],
    ],
    "backtest": [
        [],
        ["--config", "{missing}"],
        ["--config", "{cfg}", "--monitor", "nope"],
        ["--config", "{cfg}", "--since", "thirty days"],
        ["--config", "{cfg}", "--alpha", "2"],
        ["--config", "{cfg}", "--rules", "{missing}"],
    ],
    "model versions": [[], ["--config", "{cfg}", "--monitor", "nope"]],
    "model promote": [[], ["v1"], ["v1", "--config", "{cfg}", "--monitor", "nope"]],
    "model convert-head": [[], ["{missing}"], ["{dir}", "extra"]],
}
# Whole command lines: the top level and groups.
TOP: list[list[str]] = [
    ["nope"],
    ["rnus"],
    ["--bogus"],
    ["--log-format", "xml", "runs"],
    ["model", "fit"],
    ["model", "--bogus"],
]


def leaf_commands(group: Any, prefix: str = "") -> list[str]:
    names = []
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            names += leaf_commands(command, f"{prefix}{name} ")
        else:
            names.append(f"{prefix}{name}")
    return names


def command_lines() -> list[list[str]]:
    lines = [list(line) for line in TOP]
    for command, cases in BAD.items():
        lines.append([*command.split(), "--no-such-option"])
        lines += [[*command.split(), *case] for case in cases]
    return lines


def one_error_line(stderr: str, allow_problems: bool = False) -> str:
    assert "Traceback" not in stderr, stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert lines and lines[0].startswith("error: "), stderr
    if not allow_problems:
        assert len(lines) == 1, stderr
    return lines[0]


def test_every_leaf_command_has_bad_cases() -> None:
    assert sorted(leaf_commands(typer.main.get_command(app))) == sorted(BAD)


@pytest.mark.parametrize("line", command_lines(), ids=" ".join)
def test_a_wrong_command_line_exits_2_with_one_line(
    line: list[str], rig: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    argv = [part.format(**rig) for part in line]
    assert main(argv) == 2
    stderr = capsys.readouterr().err
    # a config or scenario file lists each of its problems on a line of its own
    first = one_error_line(stderr, allow_problems=rig["scenario"] in argv)
    assert len(first) < 300


@pytest.mark.parametrize(
    ("line", "says"),
    [
        (["runs", "--confg", "x"], "no such option --confg (did you mean --config?)"),
        (["rnus"], "no such command 'rnus' (did you mean runs?)"),
        (["model", "fit"], "did you mean fit-head?"),
        (["report"], "missing argument 'RUN_ID'"),
        (["report", "abc"], "'RUN_ID'"),
        (["run", "--metrics-port", "99999"], "'--metrics-port'"),
        (["runs", "--db", "{db}", "--monitor", "tabulr"], "no monitor named 'tabulr'"),
    ],
)
def test_the_line_names_what_was_wrong(
    line: list[str], says: str, rig: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([part.format(**rig) for part in line]) == 2
    assert says in one_error_line(capsys.readouterr().err)


def test_a_monitor_close_to_a_known_one_gets_a_hint(
    rig: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["once", "--config", rig["cfg"], "--monitor", "tabulr"]) == 2
    assert "(did you mean tabular?); known: tabular" in one_error_line(capsys.readouterr().err)


def test_no_arguments_prints_the_help_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert "Usage: driftwarden [OPTIONS] COMMAND" in captured.err
    assert "Traceback" not in captured.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"driftwarden {__version__}"


def test_debug_still_exits_2_on_a_usage_error(
    rig: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--debug", "runs", "--db", rig["db"], "--monitor", "nope"]) == 2
    assert "Traceback" in capsys.readouterr().err  # --debug adds it, the exit code stays


def _help_lines() -> list[tuple[str, str]]:
    texts = []
    for command in ["", *BAD]:
        argv = [*command.split(), "--help"]
        result = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from monitor.cli import main; sys.exit(main())",
                *argv,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={"COLUMNS": "120", "PATH": "/usr/bin:/bin"},
        )
        assert result.returncode == 0, result.stderr
        texts.append((command, result.stdout))
    return texts


def test_help_texts_show_no_internal_types_and_every_option_has_help() -> None:
    for command, text in _help_lines():
        assert "<bool>" not in text and "{" not in text, (command, text)
    for path in BAD:
        node: Any = typer.main.get_command(app)
        for part in path.split():
            node = node.commands[part]
        for param in node.params:
            assert getattr(param, "help", None), f"{path}: {param.name} has no help"


CONSOLE = shutil.which("driftwarden")  # the installed console script, found as a shell would


@pytest.mark.skipif(CONSOLE is None, reason="no driftwarden console script on PATH")
@pytest.mark.parametrize(
    ("argv", "code"),
    [
        ([], 2),
        (["--version"], 0),
        (["nope"], 2),
        (["runs", "--confg", "x"], 2),
        (["report"], 2),
        (["report", "abc"], 2),
        (["run", "--metrics-port", "99999"], 2),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else str(value),
)
def test_the_console_script_as_a_user_types_it(argv: list[str], code: int) -> None:
    result = subprocess.run([str(CONSOLE), *argv], capture_output=True, text=True, timeout=60)
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    if code == 0:
        assert result.stdout.startswith("driftwarden ")
    elif argv:
        one_error_line(result.stderr)
