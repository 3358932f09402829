"""Labels sources: real files and a real SQLite table, read in arrival order past a position."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine

from monitor.config import parse_config
from monitor.labels.base import LABEL, build_labels_source
from monitor.records.rows import ROW_ID, TIMESTAMP

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def document(labels: dict[str, object], row_ids: bool = True) -> dict[str, object]:
    columns = {"features": ["x"], "target": "y", **({"id": "id"} if row_ids else {})}
    monitor = {
        "name": "reviews",
        "model": {"type": "sklearn", "path": "model.joblib"},
        "reference": {"path": "reference.csv"},
        "stream": {"path": "stream/*.csv"},
        "columns": columns,
        "labels": labels,
    }
    return {"monitors": [monitor]}


def labels_config(tmp_path: Path, labels: dict[str, object]):
    return parse_config(document(labels), tmp_path).monitors[0].labels


def read_all(source, after=None):
    """Every batch past `after`, and the last position."""
    batches = []
    while (batch := source.read(after, NOW)) is not None:
        batches.append(batch)
        after = batch.position
    return batches, after


def test_label_files_are_read_in_file_then_line_order_and_new_lines_are_picked_up(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "labels"
    folder.mkdir()
    pd.DataFrame({"id": [3, 1], "y": ["pos", "neg"]}).to_csv(folder / "b.csv", index=False)
    pd.DataFrame({"id": [7.0, None, 8.0], "y": ["neg", "pos", None]}).to_csv(
        folder / "a.csv", index=False
    )
    config = labels_config(tmp_path, {"path": "labels/*.csv"})
    assert config.id_column == "id" and config.label_column == "y"  # from `columns`
    source = build_labels_source(config, "reviews")
    batches, position = read_all(source)
    assert len(batches) == 1
    (batch,) = batches
    # a.csv first; an id read as 7.0 (the column has a gap) is the id 7, as the stream's
    assert batch.rows[ROW_ID].tolist() == ["7", "3", "1"]
    assert batch.rows[LABEL].tolist() == ["neg", "pos", "neg"]
    assert batch.rows[TIMESTAMP].isna().all()
    assert sorted(r.reason for r in batch.rejected) == ["missing label", "missing row id"]
    assert source.read(position, NOW) is None  # nothing new
    with (folder / "b.csv").open("a") as handle:
        handle.write("9,pos\n")
    pd.DataFrame({"id": [10], "y": ["neg"]}).to_csv(folder / "c.csv", index=False)
    (batch,) = read_all(source, position)[0]
    assert batch.rows[ROW_ID].tolist() == ["9", "10"]
    # rows before a read's position are dropped; asked for them again (a store reset under
    # a running process), the source reads the files anew
    again, _ = read_all(source)
    assert [r for b in again for r in b.rows[ROW_ID]] == ["7", "3", "1", "9", "10"]


def test_observed_times_are_parsed_and_bad_ones_set_aside(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    frame = pd.DataFrame(
        {"key": ["a", "b"], "truth": [1, 0], "seen": ["2030-01-01T10:00:00Z", "yesterday"]}
    )
    frame.to_csv(tmp_path / "labels" / "1.csv", index=False)
    config = labels_config(
        tmp_path,
        {
            "path": "labels/*.csv",
            "id_column": "key",
            "label_column": "truth",
            "timestamp_column": "seen",
        },
    )
    (batch,), _ = read_all(build_labels_source(config, "reviews"))
    assert batch.rows[ROW_ID].tolist() == ["a"]
    assert batch.rows[TIMESTAMP].iloc[0] == pd.Timestamp("2030-01-01T10:00:00Z")
    assert [r.reason for r in batch.rejected] == ["unparseable timestamp 'yesterday'"]


def test_label_files_without_the_columns_are_set_aside_with_the_reason(tmp_path: Path) -> None:
    """As a stream file: a label file without the id or label column is set aside whole
    (the label join quarantines it once, with the columns it has) and the others are read."""
    (tmp_path / "labels").mkdir()
    pd.DataFrame({"id": [1], "label": ["x"]}).to_csv(tmp_path / "labels" / "1.csv", index=False)
    pd.DataFrame({"id": [2], "y": ["pos"]}).to_csv(tmp_path / "labels" / "2.csv", index=False)
    source = build_labels_source(labels_config(tmp_path, {"path": "labels/*.csv"}), "reviews")
    batches, position = read_all(source)
    assert [b.rows[ROW_ID].tolist() for b in batches] == [["2"]]
    (aside,) = source.unreadable_files()
    assert aside.row_id == "1.csv" and "no column(s) 'y' (columns: id, label)" in aside.reason
    assert source.read(position, NOW) is None


def test_an_sql_table_of_labels_is_read_in_batches_past_its_last_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'labels.db'}"
    rows = pd.DataFrame(
        {"seq": range(1, 26), "id": [f"r{i}" for i in range(25)], "y": [0, 1] * 12 + [1]}
    )
    rows.to_sql("labels", create_engine(url), index=False)
    config = labels_config(
        tmp_path,
        {"type": "sql", "url": url, "table": "labels", "order_by": "seq", "batch_rows": 10},
    )
    source = build_labels_source(config, "reviews")
    batches, position = read_all(source)
    # a full batch stops before its last key, whose rows may go on in the next (the sql
    # stream's reading: the position never lands inside a group of rows sharing a key)
    assert [len(b.rows) for b in batches] == [9, 9, 7]
    assert [i for b in batches for i in b.rows[ROW_ID]] == rows["id"].tolist()
    pd.DataFrame({"seq": [26], "id": ["late"], "y": [0]}).to_sql(
        "labels", create_engine(url), index=False, if_exists="append"
    )
    (batch,), _ = read_all(source, position)  # a restart reads on from the stored position
    assert batch.rows[ROW_ID].tolist() == ["late"]
    source.close()


def test_a_monitor_with_labels_needs_row_ids(tmp_path: Path) -> None:
    from monitor.errors import ConfigError

    with pytest.raises(ConfigError) as caught:
        parse_config(document({"type": "kafka"}), tmp_path)
    known = "unknown labels source type (the value given) (known: files, sql)"
    assert any(known in problem for problem in caught.value.problems)
    with pytest.raises(ConfigError) as caught:
        parse_config(document({"path": "labels/*.csv", "final_coverage": 0}), tmp_path)
    assert any("final_coverage" in problem for problem in caught.value.problems)
    with pytest.raises(ConfigError) as caught:
        parse_config(document({"path": "labels/*.csv"}, row_ids=False), tmp_path)
    assert any("set `columns.id`" in problem for problem in caught.value.problems)


def test_a_label_file_arriving_with_an_earlier_name_is_read(tmp_path: Path) -> None:
    """Issue 22: `labels-10.csv` sorts before `labels-2.csv`; arriving after it, it was
    never read (the position was a (file, line) key in name order)."""
    folder = tmp_path / "labels"
    folder.mkdir()
    pd.DataFrame({"id": [1, 2], "y": ["pos", "neg"]}).to_csv(folder / "labels-2.csv", index=False)
    config = labels_config(tmp_path, {"path": "labels/*.csv"})
    batches, position = read_all(build_labels_source(config, "reviews"))
    assert [b.rows[ROW_ID].tolist() for b in batches] == [["1", "2"]]
    pd.DataFrame({"id": [10], "y": ["pos"]}).to_csv(folder / "labels-10.csv", index=False)
    for source in (build_labels_source(config, "reviews"),):  # a restarted process too
        batches, _ = read_all(source, position)
        assert [b.rows[ROW_ID].tolist() for b in batches] == [["10"]]


def test_a_label_with_a_gap_in_its_column_keeps_its_class_while_it_waits(tmp_path: Path):
    """Issue 22: a label read as 0.0 (its column had a gap) was kept as the text '0.0'
    while it waited for its row, then re-decided as `label '0.0' is not a class`."""
    folder = tmp_path / "labels"
    folder.mkdir()
    pd.DataFrame({"id": ["a", "b"], "y": [0, None]}).to_csv(folder / "1.csv", index=False)
    (batch,), _ = read_all(
        build_labels_source(labels_config(tmp_path, {"path": "labels/*.csv"}), "reviews")
    )
    assert batch.rows[LABEL].tolist() == [0]
    assert str(batch.rows[LABEL].iloc[0]) == "0"
