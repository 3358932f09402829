"""A label file set aside whole (wrong columns) is in the labels' quarantine once, not only
in the log (issue 22: it showed in neither `quarantine --labels` nor a metric)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from labels.test_sources import labels_config, read_all

from monitor.labels.base import build_labels_source
from monitor.store import open_store
from monitor.store.label_files import quarantine_label_files
from monitor.store.quarantine import quarantined_label_rows
from monitor.store.repository import monitor_id

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_label_file_with_wrong_columns_is_quarantined_once(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    pd.DataFrame({"id": [1], "wrong": ["x"]}).to_csv(tmp_path / "labels" / "1.csv", index=False)
    source = build_labels_source(labels_config(tmp_path, {"path": "labels/*.csv"}), "reviews")
    read_all(source)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    for _ in range(2):  # every cycle reports the file; the store keeps it once
        with store.transaction() as session:
            mid = monitor_id(session, "reviews", NOW)
            fresh = quarantine_label_files(session, mid, source.unreadable_files(), NOW)
    assert fresh == []
    with store.reading() as session:
        (entry,) = quarantined_label_rows(session, monitor="reviews")
    assert entry["row_id"] == "1.csv" and entry["kind"] == "invalid"
    assert "no column(s) 'y'" in entry["reason"]
