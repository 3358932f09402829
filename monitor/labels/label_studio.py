"""Label Studio exports read as label files: `labels: {type: files, path: "exports/*.json"}`.

Label Studio's JSON export is one JSON array of tasks, each with the `data` it was given
(here the task file `label-requests` wrote: the row id, text, monitor and run) and its
`annotations`, each a `result` list of regions; a classification is a `choices` region. A
task's label is the first choice of its newest annotation that was not cancelled (of the
control named as the label column, when one is). The flat exports (JSON-MIN, CSV) need
nothing of this module: a JSON-MIN array is read here as rows as they are, a CSV by the
CSV reader.

An export is a snapshot, rewritten or saved anew as labelling goes on: a file that changed
is parsed whole and only its tasks past those already read become rows, and a newer export
file's repeats of labels an older one gave are left out, so a label is read once (after a
restart, a repeat the source no longer remembers is joined as a `duplicate`, which changes
nothing). A file that is not such an export is set aside whole, with the reason.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pandas as pd

from monitor.sources.file_identity import FileState
from monitor.sources.file_readers import START
from monitor.sources.file_scan import StreamFiles
from monitor.sources.tabular import LINE

#: the control types whose values are class names
_CLASS_REGIONS = ("choices", "labels", "taxonomy")


def is_label_studio_export(pattern: str) -> bool:
    """Whether a labels glob names Label Studio JSON exports (`.json`, not JSON Lines)."""
    return pattern.lower().endswith(".json")


def task_label(task: dict[str, Any], control: str | None) -> str | None:
    """The class a task's newest kept annotation chose (None: not labelled yet)."""
    annotations = [a for a in task.get("annotations") or [] if not a.get("was_cancelled")]
    annotations.sort(key=lambda a: str(a.get("updated_at") or a.get("created_at") or ""))
    for annotation in reversed(annotations):
        for region in annotation.get("result") or []:
            if control is not None and region.get("from_name") not in (control, None):
                continue
            value = region.get("value") or {}
            for kind in _CLASS_REGIONS:
                chosen = value.get(kind)
                if chosen:
                    return str(chosen[0])
    return None


def export_rows(
    body: Any, id_column: str, label_column: str, timestamp_column: str | None
) -> list[dict[str, Any]]:
    """The label rows of a parsed export, in task order (unlabelled tasks left out)."""
    if not isinstance(body, list):
        raise ValueError("not a Label Studio export (a JSON array of tasks)")
    rows: list[dict[str, Any]] = []
    for task in body:
        if not isinstance(task, dict):
            raise ValueError("not a Label Studio export (an item is not a task object)")
        if "annotations" not in task:  # JSON-MIN: the data and the choice, flat
            rows.append(dict(task))
            continue
        label = task_label(task, label_column)
        if label is None:
            continue
        data = task.get("data") or {}
        row = {id_column: data.get(id_column), label_column: label}
        if timestamp_column is not None:
            newest = (task.get("annotations") or [{}])[-1]
            row[timestamp_column] = data.get(timestamp_column, newest.get(timestamp_column))
        rows.append(row)
    return rows


class LabelStudioExports(StreamFiles):
    """The Label Studio exports a glob matches, known and positioned as stream files are
    (`StreamFiles`); only reading one file differs: it is parsed whole, and its tasks past
    those already read are its new rows."""

    def __init__(
        self, pattern: str, id_column: str, label_column: str, timestamp_column: str | None
    ) -> None:
        required = [c for c in (id_column, label_column, timestamp_column) if c is not None]
        super().__init__(pattern, None, required, ())
        self.columns = (id_column, label_column, timestamp_column)
        # (row id, label) pairs given from any file: a newer export repeats every task
        # labelled before it, and those repeats would each be quarantined as duplicates
        self.given: set[tuple[str, str]] = set()

    def _read(self, path: Path, info: os.stat_result, state: FileState) -> pd.DataFrame | None:
        stamp = (info.st_size, info.st_mtime_ns)
        state.identity = (info.st_dev, info.st_ino)
        if stamp == state.stamp and not state.retry:
            return None  # unchanged since the last read (or since it was set aside)
        state.stamp, state.unreadable, state.retry = stamp, None, False
        try:
            with open(path, encoding="utf-8") as handle:
                rows = export_rows(json.load(handle), *self.columns)
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError too
            state.unreadable = str(exc).splitlines()[0][:200]
            return None
        done = min(state.lines, len(rows))
        state.offset = state.lines = len(rows)
        frame = pd.DataFrame(rows[done:], columns=[c for c in self.columns if c is not None])
        frame[LINE] = range(done + 1, len(rows) + 1)
        frame[START] = range(done, len(rows))
        if state.skip_lines:
            frame = frame[frame[LINE] > state.skip_lines]
        pairs = list(
            zip(
                frame[self.columns[0]].astype(str),
                frame[self.columns[1]].astype(str),
                strict=True,
            )
        )
        fresh = [pair not in self.given for pair in pairs]
        self.given.update(pairs)
        return frame[fresh].reset_index(drop=True)
