"""Opening a store: any SQLAlchemy URL, SQLite tuned for a daemon, migrations applied on open."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from monitor.errors import StoreError

log = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).parent / "alembic"


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
        return create_engine(url, pool_pre_ping=True)
    memory = parsed.database in (None, "", ":memory:")
    if not memory and not (parsed.database or "").startswith("file:"):
        folder = Path(parsed.database or "").expanduser().resolve().parent
        if not folder.is_dir():
            raise StoreError(f"cannot open {url}: folder {folder} does not exist")
    engine = create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 10},
        poolclass=StaticPool if memory else None,
    )
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it is already there)."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(_MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Store:
    """A migrated database and a session factory; every write goes through `transaction()`."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_store_engine(url)
        try:
            migrate(self.engine)
        except OperationalError as exc:
            raise StoreError(f"cannot open store {_safe(url)}: {exc.orig}") from None
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot migrate store {_safe(url)}: {exc}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: committed whole on exit, rolled back whole on any exception."""
        session = self._sessions()
        try:
            with session.begin():
                yield session
        except OperationalError as exc:
            raise StoreError(f"store {_safe(self.url)} failed: {exc.orig}") from exc
        finally:
            session.close()

    @contextmanager
    def reading(self) -> Iterator[Session]:
        session = self._sessions()
        try:
            yield session
        except OperationalError as exc:
            raise StoreError(f"store {_safe(self.url)} failed: {exc.orig}") from exc
        finally:
            session.close()

    def close(self) -> None:
        self.engine.dispose()


def _safe(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"


def open_store(url: str) -> Store:
    return Store(url)
