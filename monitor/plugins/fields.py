"""Field types every config model shares, the core's and the plugins' alike: durations, paths
relative to the config file, and the strict base model (unknown keys are errors)."""

from __future__ import annotations

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


def parse_duration(value: Any) -> timedelta:
    """`30s`, `5m`, `1.5h`, `1d`, a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = timedelta(seconds=value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        result = timedelta(seconds=float(match[1]) * _DURATION_UNITS[match[2]])
    else:
        raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 5m, 1h, 1d)")
    if result <= timedelta(0):
        raise ValueError("a duration must be positive")
    return result


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


DatabaseUrl = Annotated[str, AfterValidator(_resolve_sqlite_url)]
