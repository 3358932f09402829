"""Database URLs as driftwarden opens them (the store's and an sql stream's alike)."""

from __future__ import annotations

import importlib.util

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError


def with_driver(url: URL) -> URL:
    """`postgresql://` with psycopg 3 when psycopg2 (SQLAlchemy 2.0's default) is absent."""
    if url.drivername != "postgresql":
        return url
    if importlib.util.find_spec("psycopg2") is None and importlib.util.find_spec("psycopg"):
        return url.set(drivername="postgresql+psycopg")
    return url


def safe_url(url: str) -> str:
    """The URL without its password, for messages and logs."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid url>"
