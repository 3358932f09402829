"""Field types every config model shares, the core's and the plugins' alike: durations, paths
relative to the config file, and the strict base model (unknown keys are errors)."""

from __future__ import annotations

import math
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, ValidationInfo

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class Strict(BaseModel):
    """A config block: unknown keys are errors, and keys may be given by alias or by name."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# Far past any schedule, window or timeout, and far inside what `timedelta` can hold.
MAX_DURATION = timedelta(days=3650)


def parse_duration(value: Any) -> timedelta:
    """`30s`, `5m`, `1.5h`, `1d`, a number of seconds, or a timedelta.

    Messages never repeat the value: a secret pasted into the wrong field stays unshown.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match[1]) * _DURATION_UNITS[match[2]]
    else:
        raise ValueError("not a duration (use e.g. 30s, 5m, 1h, 1d)")
    if not math.isfinite(seconds) or seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"a duration must be at most {MAX_DURATION.days} days")
    if seconds <= 0:
        raise ValueError("a duration must be positive")
    return value if isinstance(value, timedelta) else timedelta(seconds=seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def base_dir(info: ValidationInfo) -> Path | None:
    """The folder of the config file being validated (None when validating a bare document)."""
    base = (info.context or {}).get("base_dir")
    return None if base is None else Path(base)


def resolve_path(value: Path, info: ValidationInfo) -> Path:
    """`value` relative to the config file's folder, unless it is absolute."""
    base = base_dir(info)
    if base is not None and not value.is_absolute():
        return (base / value).resolve()
    return value


RelPath = Annotated[Path, AfterValidator(resolve_path)]


def _resolve_glob(value: str, info: ValidationInfo) -> str:
    base = base_dir(info)
    if base is not None and not os.path.isabs(value):
        return str(base.resolve() / value)
    return value


RelGlob = Annotated[str, AfterValidator(_resolve_glob)]


def _resolve_sqlite_url(url: str, info: ValidationInfo) -> str:
    """A relative SQLite path is relative to the config file, like every other path."""
    base = base_dir(info)
    prefix = "sqlite:///"
    if base is None or not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    database = url.removeprefix(prefix)
    if database in ("", ":memory:"):
        return url
    return prefix + str(base.resolve() / database)


#: a SQLite URL of the standard library's driver: known to open without importing SQLAlchemy
_PLAIN_SQLITE = re.compile(r"sqlite(\+pysqlite)?:///[^?]*")


def _openable_url(url: str) -> str:
    """A SQLAlchemy URL whose backend and driver are installed (never quoted back: a URL
    may hold a password)."""
    if _PLAIN_SQLITE.fullmatch(url) or url == "sqlite://":
        return url  # `check-config` stays well under a second: SQLAlchemy is not imported
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from monitor.database_urls import with_driver

    try:
        parsed = with_driver(make_url(url))
        dialect = parsed.get_dialect()
    except (ArgumentError, ValueError):
        raise ValueError("not a database URL (e.g. sqlite:///driftwarden.db)") from None
    except NoSuchModuleError:
        raise ValueError(
            "unknown database backend (e.g. sqlite:///, postgresql+psycopg://)"
        ) from None
    try:
        dialect.import_dbapi()
    except ImportError:
        hint = (
            " (pip install 'psycopg[binary]')" if parsed.get_backend_name() == "postgresql" else ""
        )
        raise ValueError(
            f"the {parsed.get_backend_name()} driver {parsed.get_driver_name()} is not "
            f"installed{hint}"
        ) from None
    return url


DatabaseUrl = Annotated[str, AfterValidator(_resolve_sqlite_url), AfterValidator(_openable_url)]
