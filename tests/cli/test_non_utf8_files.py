"""`check-config` and `once` say the same about a stream file with bytes that are not UTF-8:
a bad line costs that row (no warning), a bad header costs the file (a warning, then set
aside)."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import yaml
from alerts.support import config_document, window_rows

from monitor.cli import main


def labelled_rows(seed: int = 0) -> pd.DataFrame:
    """A window's rows with whole-number labels, as a CSV a user writes holds them."""
    return window_rows(1.0, seed=seed).astype({"y": int})


def project(tmp_path: Path, first_file: bytes) -> str:
    document = config_document(tmp_path, alerts=[])
    (tmp_path / "stream").mkdir()
    (tmp_path / "stream" / "001.csv").write_bytes(first_file)
    labelled_rows(seed=3).to_csv(tmp_path / "stream" / "002.csv", index=False)
    path = tmp_path / "dw.yaml"
    path.write_text(yaml.safe_dump(document))
    return str(path)


def quarantined(config: str, capsys) -> list[dict]:
    capsys.readouterr()
    assert main(["quarantine", "--config", config, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_bad_byte_in_a_row_costs_the_row_in_both(tmp_path: Path, capsys) -> None:
    good = labelled_rows().to_csv(index=False).encode()
    header, first, rest = good.split(b"\n", 2)
    config = project(tmp_path, header + b"\n" + first + b"\n0.5,1\xff\n" + rest)
    assert main(["check-config", config]) == 0
    assert capsys.readouterr().err == ""  # nothing to set aside
    assert main(["once", "--config", config]) == 0
    rows = quarantined(config, capsys)
    assert len(rows) == 1 and rows[0]["kind"] != "file"
    assert "not UTF-8 text (byte 0xff)" in rows[0]["reason"]


def test_a_bad_byte_in_the_header_costs_the_file_in_both(tmp_path: Path, capsys) -> None:
    config = project(tmp_path, b"x,y\xff\n0.5,1\n")
    assert main(["check-config", config]) == 0
    warning = capsys.readouterr().err
    assert "the header is not UTF-8 text (byte 0xff); it will be set aside" in warning
    assert main(["once", "--config", config]) == 0
    rows = quarantined(config, capsys)
    assert [r["kind"] for r in rows] == ["file"]
    assert "the header is not UTF-8 text (byte 0xff)" in rows[0]["reason"]
    # while the file is in the stream, the monitor is not healthy
    assert main(["status", "--config", config]) == 1
    assert "tabular: stream file(s) set aside whole: 001.csv" in capsys.readouterr().out
    # fixed in place, the file is read again at the next cycle: not set aside any more
    fixed = tmp_path / "stream" / "001.csv"
    fixed.write_bytes(b"x,y\n0.5,1\n")
    later = time.time() + 60  # past the quarantine's record, whatever the clock's resolution
    os.utime(fixed, (later, later))
    assert main(["status", "--config", config]) == 0
