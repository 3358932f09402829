"""Opening a store: any SQLAlchemy URL, SQLite tuned for a daemon, migrations applied on open."""

from __future__ import annotations

import json
import logging
import math
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from monitor.database_urls import safe_url, with_driver
from monitor.errors import StoreError

log = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).parent / "alembic"
# One key for every driftwarden store: processes starting at once on one PostgreSQL database
# take turns at the migrations instead of both creating the tables.
_MIGRATION_LOCK = zlib.crc32(b"driftwarden.store.migrate")


# one encoder, built once: `json.dumps` with any option builds a new one per call
_STRICT_JSON = json.JSONEncoder(allow_nan=False)


def finite(value: Any) -> Any:
    """`value` with NaN and infinities as None, in nested lists and dicts too."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite(item) for item in value]
    return value


def dump_json(value: Any) -> str:
    """JSON for the store's JSON columns: strict JSON, NaN and infinities stored as null.

    PostgreSQL refuses `NaN` in a json column where SQLite keeps it as text; null on every
    backend keeps the two stores alike (a float column stores NaN as NULL too).
    """
    try:
        return _STRICT_JSON.encode(value)
    except ValueError:
        return _STRICT_JSON.encode(finite(value))


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")  # a scrape and a cycle may overlap
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_store_engine(url: str) -> Engine:
    """An engine for `url`; `sqlite://` (memory) shares one connection across threads."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"{url!r} is not a SQLAlchemy database URL") from None
    if parsed.get_backend_name() != "sqlite":
        return create_engine(with_driver(parsed), pool_pre_ping=True, json_serializer=dump_json)
    memory = parsed.database in (None, "", ":memory:")
    if not memory and not (parsed.database or "").startswith("file:"):
        folder = Path(parsed.database or "").expanduser().resolve().parent
        if not folder.is_dir():
            raise StoreError(f"cannot open {url}: folder {folder} does not exist")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 10},
        poolclass=StaticPool if memory else None,
        json_serializer=dump_json,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _lock_for_migrations(connection: Connection) -> None:
    """Hold the database's migration lock until the transaction ends.

    Without it, two first starts at once both see an empty schema and one of them fails on
    a table the other just created.
    """
    backend = connection.dialect.name
    if backend == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK})
    elif backend == "sqlite":
        # pysqlite runs DDL outside any transaction unless one is open: open it, taking the
        # write lock now, so a second process waits (busy_timeout) and then finds the tables
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        _lock_for_migrations(connection)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """A migrated database and a session factory; every write goes through `transaction()`.

    It remembers whether its last write went through (`write_problem`), so health checks
    and the exporter can say that the store takes reads but refuses writes (read-only, full
    disk) instead of reporting it up; `probe_write` makes a write to find out now.
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_store_engine(url)
        try:
            migrate(self.engine)
        except OperationalError as exc:
            raise StoreError(f"cannot open store {safe_url(url)}: {exc.orig}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate store {safe_url(url)}: {exc}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_problem: str | None = None
        self._probe_problem: str | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed whole on exit, rolled back whole on any exception."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
            self._write_problem = None
        except OperationalError as exc:
            self._write_problem = str(exc.orig)
            raise StoreError(f"store {safe_url(self.url)} failed: {exc.orig}") from exc
        except OSError as exc:  # the disk itself refused (a file size limit, no space)
            self._write_problem = exc.strerror or type(exc).__name__
            raise StoreError(f"store {safe_url(self.url)} failed: {self._write_problem}") from exc
        finally:
            session.close()

    def write_problem(self) -> str | None:
        """Why the last write or the last probe failed; None when both went through (or
        none was made). A store that is full takes some small writes and refuses others:
        a probe that failed keeps the verdict until the next probe, so `/readyz` and
        `store_up` agree and do not flap with every write that happens to fit."""
        return self._write_problem or self._probe_problem

    def probe_write(self, name: str) -> str | None:
        """Write and commit one small row now; why that failed, or None when it went through."""
        from monitor.store.schema_operations import StoreProbeRow

        try:
            with self.transaction() as session:
                session.merge(StoreProbeRow(name=name[:200], written_at=datetime.now(UTC)))
        except StoreError:
            self._probe_problem = self._write_problem
        except SQLAlchemyError as exc:  # not an operational failure, but a write that failed
            self._probe_problem = self._write_problem = type(exc).__name__
        else:
            self._probe_problem = None
        return self._probe_problem

    @contextmanager
    def reading(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
        except OperationalError as exc:
            raise StoreError(f"store {safe_url(self.url)} failed: {exc.orig}") from exc
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()


def open_store(url: str) -> Store:
    return Store(url)
