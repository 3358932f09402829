"""The migrations produce exactly `monitor/store/schema.py`: Alembic's `compare_metadata`
between a fresh store upgraded to head and `Base.metadata` finds nothing.

A column added to the models without a migration (or a migration the models do not follow)
fails here, before a user's store and a fresh one differ.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import String, Text, create_engine

from monitor.store import open_store
from monitor.store.schema import Base

# Migration 0003 made these columns unbounded (`Text`) only where a server enforces VARCHAR
# lengths: on SQLite a declared length is a comment, and rewriting the prediction log to
# change it would cost a copy of the table. So SQLite keeps `VARCHAR(200)` there, by design.
SQLITE_KEEPS_VARCHAR = {
    ("predictions", "row_id"),
    ("predictions", "predicted_name"),
    ("predictions", "target"),
    ("quarantined_rows", "row_id"),
    ("metric_values", "feature"),
}


def _differences(url: str) -> list[Any]:
    open_store(url).engine.dispose()  # migrates to head, as every start does
    engine = create_engine(url)
    sqlite = engine.dialect.name == "sqlite"

    def same_type(
        context: Any, inspected: Any, metadata: Any, inspected_type: Any, metadata_type: Any
    ) -> bool | None:
        column = (metadata.table.name, metadata.name)
        if sqlite and column in SQLITE_KEEPS_VARCHAR and isinstance(inspected_type, String):
            return not isinstance(metadata_type.impl_instance, Text)
        return None  # Alembic's own comparison

    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": same_type})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def test_sqlite_migrated_to_head_is_the_schema(tmp_path: Path) -> None:
    differences = _differences(f"sqlite:///{tmp_path / 'fresh.db'}")
    assert differences == []


def test_the_exemption_is_only_sqlite_s_declared_lengths(tmp_path: Path) -> None:
    """Without the SQLite exemption the comparison does report those five columns: the
    check above compares types, and would catch any other type change."""
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    open_store(url).engine.dispose()
    engine = create_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        found = {
            (diff[0][2], diff[0][3])
            for diff in compare_metadata(context, Base.metadata)
            if isinstance(diff, list) and diff[0][0] == "modify_type"
        }
    engine.dispose()
    assert found == SQLITE_KEEPS_VARCHAR


@pytest.mark.integration
def test_postgresql_migrated_to_head_is_the_schema(postgres: Any) -> None:
    assert _differences(postgres.fresh_database()) == []
