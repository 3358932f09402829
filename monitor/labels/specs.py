"""The built-in labels source types' config models and plugin specs (light: no pandas).

They are the stream types with a labels block's keys added: a folder of label files, or a
table or query of a database, read past the last position recorded, like a stream.
"""

from __future__ import annotations

import glob
from dataclasses import replace
from typing import Literal

from monitor.plugins.spec import ColumnNeeds, Finding, LabelsConfig, PluginSpec
from monitor.sources.specs import FilesStreamConfig, SqlStreamConfig


class FilesLabelsConfig(LabelsConfig, FilesStreamConfig):
    """CSV, Parquet or JSON Lines label files matched by a glob; new files and appended
    lines are picked up, in file-name then line order."""

    type: Literal["files"] = "files"

    def check(self, needs: ColumnNeeds) -> list[Finding]:
        """The stream's checks on the label files (`needs`: the id and label columns)."""
        if self.path.lower().endswith(".json") and glob.glob(self.path):
            return []  # Label Studio exports (`monitor.labels.label_studio`): read whole
        return [
            replace(f, message=f.message.replace("nothing to score", "no labels yet"))
            for f in super().check(needs)
        ]


class SqlLabelsConfig(LabelsConfig, SqlStreamConfig):
    """Label rows of a database table or query, read past the last `order_by` value
    recorded (a column that grows as labels are written: an id or an insertion time)."""

    type: Literal["sql"]


FILES = PluginSpec("files", FilesLabelsConfig, "monitor.labels.files:FileLabelSource")
SQL = PluginSpec("sql", SqlLabelsConfig, "monitor.labels.sql:SqlLabelSource")
