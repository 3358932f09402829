"""Arguments that cannot work are exit 2 at once, in one line: store URLs, a data file that
is not one, a report written into a folder that does not exist."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from monitor.cli import main
from monitor.database_urls import store_url_problem, url_problem, with_driver

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["status", "--db", "notaurl"], "error: --db: not a database URL"),
        (["runs", "--db", "nosuchdb://x/y"], "error: --db: unknown database backend"),
        (
            ["status", "--db", "sqlite:////missing/dir/x.db"],
            "error: --db: folder /missing/dir does not exist",
        ),
        (["status", "--db", "sqlite:///missing/dir/x.db"], "error: --db: folder /"),
        (["replay", "x.yaml", "--db", "notaurl"], "error: --db: not a database URL"),
        (
            ["report", "1", "--db", "sqlite://", "--out", "/missing/dir/x.html"],
            "error: --out /missing/dir/x.html: folder /missing/dir does not exist",
        ),
        (
            ["init", "--data", str(README), "--text-column", "t", "--label-column", "l"],
            f"error: --data {README}: not a data file (use .csv, .parquet or .jsonl)",
        ),
    ],
)
def test_an_unusable_argument_is_one_line_and_exit_2(
    argv: list[str], expected: str, tmp_path: Path, capsys, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(expected) and len(err.splitlines()) == 1, err


def test_a_data_file_without_the_named_column_is_refused_before_loading(
    tmp_path: Path, capsys
) -> None:
    data = tmp_path / "rows.csv"
    data.write_text("text,label\nfine,1\n")
    argv = ["init", "--data", str(data), "--text-column", "body", "--label-column", "label"]
    assert main([*argv, "--out", str(tmp_path / "p")]) == 2
    assert capsys.readouterr().err == (
        f"error: --data {data} has no column 'body' (columns: text, label)\n"
    )


def test_postgres_urls_are_postgresql() -> None:
    for url in ("postgres://u@h/db", "postgres+psycopg://u@h/db"):
        assert url_problem(url) is None, url
        assert with_driver(make_url(url)).get_backend_name() == "postgresql"
    assert store_url_problem("sqlite://") is None


def test_a_postgres_url_reaches_the_server(capsys) -> None:
    """Accepted as PostgreSQL: the failure is the connection's (nothing listens on port 1),
    not an unknown backend."""
    assert main(["status", "--db", "postgres://u@127.0.0.1:1/db"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot open store postgres") and "NoSuchModule" not in err, err
