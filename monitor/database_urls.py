"""Database URLs as driftwarden opens them (the store's and an sql stream's alike)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

#: how `postgres://` (Heroku's, libpq's and most hosts' spelling) is meant
_ALIASES = {"postgres": "postgresql"}


def with_driver(url: URL) -> URL:
    """`postgres://` as `postgresql://`, and that with psycopg 3 when psycopg2 (SQLAlchemy
    2.0's default) is absent."""
    backend, plus, driver = url.drivername.partition("+")
    if backend in _ALIASES:
        url = url.set(drivername=_ALIASES[backend] + plus + driver)
    if url.drivername != "postgresql":
        return url
    if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg"):
        return url.set(drivername="postgresql+psycopg")
    return url


def url_problem(url: str) -> str | None:
    """Why `url` cannot be opened, without connecting (never quoting it back: a URL may hold
    a password); None when its backend and driver are installed."""
    try:
        parsed = with_driver(make_url(url))
        dialect = parsed.get_dialect()
    except NoSuchModuleError:  # an ArgumentError too: first
        return "unknown database backend (e.g. sqlite:///, postgresql://)"
    except (ArgumentError, ValueError):
        return "not a database URL (e.g. sqlite:///driftwarden.db, postgresql://user@host/db)"
    try:
        dialect.import_dbapi()
    except ImportError:
        backend = parsed.get_backend_name()
        hint = " (pip install 'psycopg[binary]')" if backend == "postgresql" else ""
        return f"the {backend} driver {parsed.get_driver_name()} is not installed{hint}"
    return None


def store_url_problem(url: str) -> str | None:
    """`url_problem`, and for a SQLite file a folder that does not exist."""
    problem = url_problem(url)
    if problem is not None:
        return problem
    parsed = make_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in ("", ":memory:"):
        return None
    if database.startswith("file:"):
        return None
    folder = Path(database).expanduser().resolve().parent
    return (
        None if folder.is_dir() else f"folder {folder} does not exist (the SQLite file goes there)"
    )


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"
