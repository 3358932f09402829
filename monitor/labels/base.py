"""What a labels source is: a `Source` whose windows are batches of newly arrived labels.

A labels source reads rows of (row id, label[, when observed]) past its stored position, in
arrival order, like a stream does; the built-in types are the stream types (files, sql)
reading a label column instead of model inputs. `read(after, now)` returns the next batch
(None: no new labels), its rows in the shape the label join reads: `_row_id`, `_label` and
`_ts` (when observed; NaT when the source has no timestamp column).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from monitor.config import ColumnsConfig, WindowConfig
from monitor.errors import SourceError
from monitor.plugins import LABELS, REGISTRY, LabelsConfig
from monitor.records.rows import ROW_ID, TIMESTAMP, Rejected
from monitor.sources.base import Source, SourceContext, Window
from monitor.sources.rows import RowCheck, json_safe
from monitor.sources.values import parse_timestamps

LABEL = "_label"
RAW = "_raw"  # the label row as read, kept with a quarantined label
BATCH_ROWS = 10_000  # label rows joined per transaction


def label_context(monitor: str, config: LabelsConfig) -> SourceContext:
    """The context a labels source is built with: the label column is its one input column
    and `id_column` gives its row ids, so the stream types' column checks and ids apply."""
    assert config.id_column is not None and config.label_column is not None  # config fills them
    columns = ColumnsConfig(features=[config.label_column], id=config.id_column)
    return SourceContext(monitor, columns, WindowConfig(rows=BATCH_ROWS), RowCheck(columns))


def build_labels_source(config: LabelsConfig, monitor: str) -> Source:
    """The labels source of type `config.type` for `monitor`."""
    source = REGISTRY.create(LABELS, config.type, config, label_context(monitor, config))
    if not isinstance(source, Source):
        raise SourceError(
            f"labels source plugin {config.type!r} built a {type(source).__name__}, "
            "not a monitor.sources.base.Source"
        )
    return source


def row_id_text(value: Any) -> str | None:
    """A row id as the prediction log keeps it: `17` for 17 and for 17.0 (a CSV column with a
    gap reads as floats), None when missing."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return None
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def label_batch(frame: pd.DataFrame, config: LabelsConfig, position: str) -> Window:
    """Label rows of `frame` (in arrival order) as a batch; rows without an id or a label, or
    with an unparseable observation time, are set aside with the reason."""
    assert config.id_column is not None and config.label_column is not None
    observed = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns, UTC]")
    if config.timestamp_column is not None:
        raw_times = frame[config.timestamp_column]
        observed = parse_timestamps(raw_times, config.timestamp_unit)
    kept: list[dict[str, Any]] = []
    rejected: list[Rejected] = []
    for (_, record), stamp in zip(frame.iterrows(), observed, strict=True):
        raw = json_safe(record.to_dict())
        row_id = row_id_text(record[config.id_column])
        label = record[config.label_column]
        if row_id is None:
            rejected.append(Rejected(str(record.get(ROW_ID, "")), "missing row id", raw))
        elif label is None or (isinstance(label, float) and np.isnan(label)):
            rejected.append(Rejected(row_id, "missing label", raw))
        elif config.timestamp_column is not None and pd.isna(stamp):
            value = record[config.timestamp_column]
            rejected.append(Rejected(row_id, f"unparseable timestamp {value!r}", raw))
        else:
            kept.append({ROW_ID: row_id, LABEL: _label_value(label), TIMESTAMP: stamp, RAW: raw})
    rows = pd.DataFrame(kept, columns=[ROW_ID, LABEL, TIMESTAMP, RAW])
    return Window(rows, rejected, position, None, None)


def _label_value(value: Any) -> Any:
    """A label as it was written: 0, not 0.0, when a column with gaps made it a float. A
    label kept waiting for its row is stored as text and decided again from that text, so
    it must read as the class it names (`'0.0'` names none)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return int(value)
    return value
