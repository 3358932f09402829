"""The built-in stream types' config models and plugin specs (light: no pandas imported here)."""

from __future__ import annotations

import glob
import re
from pathlib import Path
from typing import Literal, Self

from pydantic import Field, model_validator

from monitor.plugins.fields import DatabaseUrl, RelGlob
from monitor.plugins.spec import ColumnNeeds, Finding, PluginSpec, SourceConfig

FILES_CHECKED = 50  # the newest stream files check-config reads: a stream may hold thousands
_NAME = r"^[A-Za-z_][A-Za-z0-9_$]*$"
_TABLE = r"^([A-Za-z_][A-Za-z0-9_$]*\.)?[A-Za-z_][A-Za-z0-9_$]*$"  # table or schema.table


class FilesStreamConfig(SourceConfig):
    """CSV, Parquet or JSON Lines files matched by a glob; new files are picked up."""

    type: Literal["files"] = "files"
    path: RelGlob
    format: Literal["csv", "parquet", "jsonl"] | None = None

    def check(self, needs: ColumnNeeds) -> list[Finding]:
        """The newest files have the columns the monitor reads (one that cannot be read, or
        lacks one, is set aside at run time: a warning); no file yet is a warning too."""
        from monitor.sources.headers import missing_columns, table_columns

        paths = sorted(glob.glob(self.path))
        if not paths:
            return [Finding("path", f"no file matches {self.path} yet; nothing to score", True)]
        required = (*needs.required, *([self.timestamp_column] if self.timestamp_column else []))
        findings: list[Finding] = []
        # a bad stream file is set aside when read (the others go on): a warning, not an error
        for path in map(Path, paths[-FILES_CHECKED:]):
            columns, problem = table_columns(path, self.format)
            if problem is not None:
                findings.append(Finding("path", f"{problem}; it will be set aside", True))
            elif columns:  # an empty file holds no rows, so it lacks nothing
                lacking = missing_columns("path", path, columns, required, warning=True)
                findings += [
                    Finding(f.key, f"{f.message}; it will be set aside", True) for f in lacking
                ]
                findings += missing_columns("path", path, columns, needs.optional, warning=True)
        if self.timestamp_column is not None:
            from monitor.sources.headers import first_timestamp

            for path in map(Path, paths[-FILES_CHECKED:]):
                shown = first_timestamp(
                    path, self.timestamp_column, self.timestamp_unit, self.format
                )
                if shown is not None:  # shown, so a wrong unit is seen before any window
                    message = f"first timestamp in {path.name}: {shown}"
                    findings.append(Finding("timestamp_column", message, True))
                    break
        return findings


class SqlStreamConfig(SourceConfig):
    """Rows of a database table or query, read past the last `order_by` value recorded."""

    type: Literal["sql"]
    url: DatabaseUrl = Field(description="SQLAlchemy URL of the database holding the rows")
    table: str | None = Field(None, pattern=_TABLE, description="a table, or schema.table")
    query: str | None = Field(None, description="a SELECT whose rows are the stream")
    order_by: str | None = Field(
        None, pattern=_NAME, description="an increasing id or timestamp column: the watermark"
    )
    timestamp_column: str | None = Field(None, pattern=_NAME)
    batch_rows: int = Field(10_000, ge=10, description="rows fetched per query")

    @model_validator(mode="after")
    def _one_origin(self) -> Self:
        if (self.table is None) == (self.query is None):
            raise ValueError("set exactly one of `table` or `query`")
        if self.query is not None and not re.match(r"^\s*(select|with)\b", self.query, re.I):
            raise ValueError("`query` must be one SELECT (or WITH ... SELECT) statement")
        if self.query is not None and ";" in self.query.strip().rstrip(";"):
            raise ValueError("`query` must be one statement")
        if self.order_by is None:
            if self.timestamp_column is None:
                raise ValueError("set `order_by` (an increasing id or timestamp column)")
            self.order_by = self.timestamp_column
        return self

    def duration_problem(self) -> str | None:
        problem = super().duration_problem()
        if problem is None and self.order_by != self.timestamp_column:
            return (
                "a `window.duration` over an sql stream reads rows in time order: "
                "leave `order_by` unset or set it to `timestamp_column`"
            )
        return problem


FILES = PluginSpec("files", FilesStreamConfig, "monitor.sources.files:FileSource")
SQL = PluginSpec("sql", SqlStreamConfig, "monitor.sources.sql:SqlSource")
