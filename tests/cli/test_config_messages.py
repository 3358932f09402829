"""What `check-config` says about a config a newcomer wrote: a near key is suggested, an
unset variable is one line, `--config F` works as everywhere else, and the check imports
neither pandas nor SQLAlchemy (it answers well under a second)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml
from alerts.support import config_document

from monitor.cli import main

TYPOS = """\
storage: sqlite:///dw.db
hooks:
  page: {type: webhook, url: "http://127.0.0.1:1/", retires: 2}
monitors:
  - name: a
    model: {type: sklearn, path: m.joblib}
    reference: {path: r.csv, row: 3}
    stream: {path: "s/*.csv", formt: csv}
    columns: {features: [x]}
    window: {rowz: 3}
    alerts: [{name: low, metric: accuracy, bellow: 0.5}]
"""


def test_an_unknown_key_gets_the_nearest_accepted_one(tmp_path: Path, capsys) -> None:
    config = tmp_path / "dw.yaml"
    config.write_text(TYPOS)
    assert main(["check-config", str(config)]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == f"error: {config} is invalid"
    assert sorted(lines[1:]) == [
        "hooks.page.retires: unknown key (did you mean retries?)",
        "monitors[0].alerts[0].bellow: unknown key (did you mean below?)",
        "monitors[0].reference.row: unknown key (did you mean rows?)",
        "monitors[0].stream.formt: unknown key (did you mean format?)",
        "monitors[0].window.rowz: unknown key (did you mean rows?)",
    ]


def test_an_unset_variable_is_one_line(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DW_TEST_ROWS", raising=False)
    config = tmp_path / "dw.yaml"
    config.write_text(TYPOS.replace("{rowz: 3}", '{rows: "${DW_TEST_ROWS}"}'))
    assert main(["check-config", str(config)]) == 2
    err = capsys.readouterr().err
    window = [line for line in err.splitlines() if "window" in line]
    assert window == ["monitors[0].window.rows: environment variable DW_TEST_ROWS is not set"]


def test_check_config_takes_config_like_every_command(tmp_path: Path, capsys) -> None:
    document = config_document(tmp_path, [])
    (tmp_path / "stream").mkdir()
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump(document))
    assert main(["check-config", "--config", str(config)]) == 0
    assert main(["check-config", "-c", str(config)]) == 0
    assert main(["check-config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(set(out)) == 1 and out[0].endswith(": ok (1 monitor(s): tabular; 0 hook(s))")
    assert main(["check-config", str(config), "--config", str(tmp_path / "other.yaml")]) == 2
    assert "give the config once" in capsys.readouterr().err


def test_check_config_imports_neither_pandas_nor_sqlalchemy(tmp_path: Path) -> None:
    document = config_document(tmp_path, [])
    (tmp_path / "stream").mkdir()
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump(document))
    probe = (
        "import sys; from monitor.cli import main; code = main(sys.argv[1:]); "
        "print(code, sorted(m for m in ('pandas', 'sqlalchemy', 'alembic', 'sklearn') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe, "check-config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.stdout.splitlines()[-1] == "0 []", result.stderr
