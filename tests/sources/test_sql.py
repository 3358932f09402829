"""The sql stream on SQLite and on a real PostgreSQL: windows as from files, every row in
exactly one window across restarts, quarantine, and only rows past the watermark read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
)

from monitor.config import ColumnsConfig, WindowConfig
from monitor.errors import SourceError
from monitor.sources.base import SourceContext, Window
from monitor.sources.rows import RowCheck
from monitor.sources.specs import SqlStreamConfig
from monitor.sources.sql import SqlSource

NOW = datetime(2030, 1, 1, tzinfo=UTC)
T0 = datetime(2024, 1, 1, tzinfo=UTC)
COLUMNS = ColumnsConfig(text="text", target="label", id="id")


def known_label(value: object) -> str | None:
    return None if str(value) in ("0", "1") else f"label {value!r} is not one the model knows"


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'stream.db'}"
    return str(request.getfixturevalue("postgres").fresh_database())


class Stream:
    """A `reviews` table in a real database, and sources reading it as a monitor would."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
        self.table = Table(
            "reviews",
            MetaData(),
            Column("id", Integer, primary_key=True),
            Column("text", String, nullable=True),
            Column("label", String, nullable=True),
            Column("lang", String, nullable=True),
            Column("ts", DateTime(timezone=True), nullable=True),
        )
        self.table.create(self.engine)

    def add(self, rows: list[dict[str, Any]]) -> None:
        full = [{"text": None, "label": None, "lang": "en", "ts": None, **row} for row in rows]
        with self.engine.begin() as connection:
            connection.execute(insert(self.table), full)

    def source(
        self, window: dict[str, Any], columns: ColumnsConfig = COLUMNS, **stream
    ) -> SqlSource:
        config = SqlStreamConfig.model_validate({"type": "sql", "url": self.url, **stream})
        check = RowCheck(columns, known_label)
        context = SourceContext("reviews", columns, WindowConfig.model_validate(window), check)
        return SqlSource(config, context)

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture
def stream(url: str) -> Any:
    opened = Stream(url)
    yield opened
    opened.close()


def drain(
    make_source: Any, after: str | None = None, now: datetime = NOW
) -> tuple[list[Window], str | None]:
    """Every window until the source waits, each read by a fresh source (a restart)."""
    windows = []
    while (window := make_source().read(after, now)) is not None:
        windows.append(window)
        after = window.position
    return windows, after


def ids(window: Window) -> list[int]:
    return [int(i) for i in window.rows["id"]]


def test_rows_windows_take_the_next_n_usable_rows_across_restarts(stream: Stream) -> None:
    rows = [{"id": i, "text": f"review {i}", "label": str(i % 2)} for i in range(1, 11)]
    rows[2]["text"] = "   "  # id 3: empty text
    rows[5]["label"] = "maybe"  # id 6: a label the model does not know
    stream.add(rows)

    def make() -> SqlSource:
        return stream.source({"rows": 3}, table="reviews", order_by="id")

    windows, after = drain(make)
    assert [ids(w) for w in windows] == [[1, 2, 4], [5, 7, 8]]
    assert [[r.row_id for r in w.rejected] for w in windows] == [["3"], ["6"]]
    assert windows[0].rejected[0].reason == "empty text"
    assert "maybe" in windows[1].rejected[0].reason
    assert json.loads(after or "")["key"] == [8]
    # rows 9 and 10 wait for a third usable row; new rows are picked up after a restart
    stream.add([{"id": 11, "text": "late review", "label": "1"}])
    later, _ = drain(make, after)
    assert [ids(w) for w in later] == [[9, 10, 11]]


def test_a_read_asks_only_for_rows_past_the_watermark(stream: Stream) -> None:
    stream.add([{"id": i, "text": f"r{i}", "label": "0"} for i in range(1, 7)])
    source = stream.source({"rows": 3}, table="reviews", order_by="id")
    first = source.read(None, NOW)
    assert first is not None
    sent: list[tuple[str, Any]] = []
    event.listen(
        source.engine, "before_cursor_execute", lambda *args: sent.append((args[2], args[3]))
    )
    second = source.read(first.position, NOW)
    assert second is not None and ids(second) == [4, 5, 6]
    ((query, parameters),) = sent
    assert "WHERE" in query and "ORDER BY" in query
    values = parameters.values() if isinstance(parameters, dict) else parameters
    assert 3 in list(values)  # the watermark: the id of the last row recorded


def test_a_query_is_a_stream_too(stream: Stream) -> None:
    stream.add(
        [
            {"id": i, "text": f"r{i}", "label": "1", "lang": "en" if i % 3 else "fr"}
            for i in range(1, 10)
        ]
    )
    query = "SELECT id, text, label FROM reviews WHERE lang = 'en'"
    windows, _ = drain(lambda: stream.source({"rows": 2}, query=query, order_by="id"))
    assert [ids(w) for w in windows] == [[1, 2], [4, 5], [7, 8]]


def test_duration_windows_are_aligned_and_complete_before_they_are_cut(stream: Stream) -> None:
    # batches of 10 rows, and timestamps shared by several rows across batch boundaries
    stamps = [T0 + timedelta(minutes=20 * (i // 3)) for i in range(30)]  # 3 rows per stamp
    stream.add(
        [{"id": i + 1, "text": f"r{i}", "label": "0", "ts": t} for i, t in enumerate(stamps)]
    )

    def make() -> SqlSource:
        return stream.source(
            {"duration": "1h"},
            ColumnsConfig(text="text", target="label"),  # no id: ties are told apart by time
            table="reviews",
            timestamp_column="ts",
            batch_rows=10,
        )

    now = T0 + timedelta(hours=3, minutes=30)
    windows, after = drain(make, now=now)
    assert [(w.start, w.end) for w in windows] == [
        (T0 + timedelta(hours=h), T0 + timedelta(hours=h + 1)) for h in range(3)
    ]
    assert [len(w.rows) for w in windows] == [9, 9, 9]  # [03:00, 04:00) is not complete yet
    # each row once, in its hour (rows sharing a time come in the database's order)
    assert [sorted(w.rows["text"], key=lambda t: int(t[1:])) for w in windows] == [
        [f"r{i}" for i in range(9 * h, 9 * h + 9)] for h in range(3)
    ]
    rest, _ = drain(make, after, now=T0 + timedelta(hours=5))
    assert [len(w.rows) for w in rest] == [3, 0]  # 03:00-04:00, then an empty 04:00-05:00


def test_rows_sharing_a_value_at_the_cut_need_an_id(stream: Stream) -> None:
    stream.add([{"id": i, "text": f"r{i}", "label": "1", "ts": T0} for i in range(1, 5)])
    columns = ColumnsConfig(text="text", target="label")
    source = stream.source({"rows": 3}, columns, table="reviews", order_by="ts")
    with pytest.raises(SourceError, match=r"set `columns\.id`"):
        source.read(None, NOW)
    tied = stream.source({"rows": 3}, table="reviews", order_by="ts")  # columns.id: id
    windows, _ = drain(lambda: tied)
    assert [ids(w) for w in windows] == [[1, 2, 3]]


def test_missing_columns_and_tables_are_clear_errors(stream: Stream) -> None:
    stream.add([{"id": 1, "text": "r", "label": "1"}])
    columns = ColumnsConfig(text="body")
    source = stream.source({"rows": 2}, columns, table="reviews", order_by="id")
    with pytest.raises(SourceError, match=r"column\(s\) 'body' not found"):
        source.read(None, NOW)
    missing = stream.source({"rows": 2}, table="nope", order_by="id")
    with pytest.raises(SourceError, match="nope"):
        missing.read(None, NOW)


def test_the_config_names_what_is_wrong() -> None:
    def problems(**block: Any) -> str:
        with pytest.raises(ValueError) as caught:
            SqlStreamConfig.model_validate({"type": "sql", "url": "sqlite://", **block})
        return str(caught.value)

    assert "exactly one of `table` or `query`" in problems(order_by="id")
    assert "set `order_by`" in problems(table="reviews")
    assert "one SELECT" in problems(query="DELETE FROM reviews", order_by="id")
    assert "one statement" in problems(query="SELECT 1; DROP TABLE x", order_by="id")


def test_a_relative_sqlite_url_is_relative_to_the_config(tmp_path: Path) -> None:
    from monitor.config import parse_config

    document = {
        "monitors": [
            {
                "name": "m",
                "model": {"type": "sklearn", "path": "m.joblib"},
                "reference": {"path": "r.csv"},
                "stream": {
                    "type": "sql",
                    "url": "sqlite:///events.db",
                    "table": "e",
                    "order_by": "id",
                },
                "columns": {"features": ["x"]},
            }
        ]
    }
    stream = parse_config(document, tmp_path).monitors[0].stream
    assert isinstance(stream, SqlStreamConfig)
    assert stream.url == f"sqlite:///{tmp_path.resolve() / 'events.db'}"


def test_once_scores_an_sql_stream_window_by_window(tmp_path: Path, capsys) -> None:
    """The whole cycle on a table: the registry builds the source from the config."""
    import yaml
    from alerts.support import window_rows, write_model

    from monitor.cli import main

    model, reference = write_model(tmp_path)
    events = pd.concat([window_rows(0.75, seed=1), window_rows(1.0, seed=2)], ignore_index=True)
    events.insert(0, "event_id", range(1, len(events) + 1))
    engine = create_engine(f"sqlite:///{tmp_path / 'events.db'}")
    events.to_sql("events", engine, index=False)
    engine.dispose()
    monitor = {
        "name": "tabular",
        "model": {"type": "sklearn", "path": str(model)},
        "reference": {"path": str(reference)},
        "stream": {
            "type": "sql",
            "url": "sqlite:///events.db",
            "table": "events",
            "order_by": "event_id",
        },
        "columns": {"features": ["x"], "target": "y", "id": "event_id"},
        "window": {"rows": 40},
        "snapshot": False,
    }
    config = tmp_path / "dw.yaml"
    config.write_text(yaml.safe_dump({"storage": "sqlite:///dw.db", "monitors": [monitor]}))
    assert main(["check-config", str(config)]) == 0
    for _ in range(3):
        assert main(["once", "--config", str(config)]) == 0
    assert (
        "nothing new" in capsys.readouterr().out
    )  # 80 rows make two windows, both recorded at once
    assert main(["runs", "--config", str(config), "--json"]) == 0
    runs = json.loads(capsys.readouterr().out)
    assert [(r["rows"], r["metrics"]["accuracy"]) for r in runs] == [(40, 0.75), (40, 1.0)]
