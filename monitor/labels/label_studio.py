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

import glob
import json
import os
from typing import Any

import pandas as pd

from monitor.records.rows import FILE_KIND, Rejected
from monitor.sources.file_scan import ScanResult, Stamp
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


class LabelStudioFiles:
    """The Label Studio exports a glob matches, in `StreamFiles`' shape for the labels source."""

    def __init__(
        self, pattern: str, id_column: str, label_column: str, timestamp_column: str | None
    ) -> None:
        self.pattern = pattern
        self.columns = (id_column, label_column, timestamp_column)
        self.read: dict[str, int] = {}  # file name: tasks' rows already given
        self.stamps: dict[str, Stamp] = {}
        self.unreadable: dict[str, str] = {}
        # (row id, label) pairs given from any file: a newer export repeats every task
        # labelled before it, and those repeats would each be quarantined as duplicates
        self.given: set[tuple[str, str]] = set()

    def start_at(self, offsets: dict[str, tuple[int, int]], skip_before: str | None) -> None:
        self.read = {name: lines for name, (_, lines) in offsets.items()}
        self.stamps, self.unreadable, self.given = {}, {}, set()

    def matching(self) -> bool:
        return bool(glob.glob(self.pattern))

    def scan(self) -> ScanResult:
        result = ScanResult()
        for path in sorted(glob.glob(self.pattern)):
            name = os.path.basename(path)
            try:
                stat = os.stat(path)
                stamp = (stat.st_size, stat.st_mtime_ns)
                if self.stamps.get(name) == stamp:
                    continue
                self.stamps[name] = stamp
                with open(path, encoding="utf-8") as handle:
                    rows = export_rows(json.load(handle), *self.columns)
            except FileNotFoundError:
                continue
            except (OSError, UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError too
                self.unreadable[name] = str(exc).splitlines()[0][:200]
                continue
            self.unreadable.pop(name, None)
            done = self.read.get(name, 0)
            if len(rows) > done:
                frame = pd.DataFrame(rows[done:])
                frame[LINE] = range(done + 1, len(rows) + 1)
                self.read[name] = len(rows)
                pairs = list(
                    zip(
                        frame[self.columns[0]].astype(str),
                        frame[self.columns[1]].astype(str),
                        strict=True,
                    )
                )
                fresh = [pair not in self.given for pair in pairs]
                self.given.update(pairs)
                if any(fresh):
                    result.chunks[name] = frame[fresh].reset_index(drop=True)
        return result

    def set_aside(self) -> list[Rejected]:
        return [
            Rejected(name, f"unreadable file: {reason}", {"file": name}, FILE_KIND)
            for name, reason in sorted(self.unreadable.items())
        ]
