"""The column types every table uses, and the declarative base.

They keep what is stored alike on every backend: aware UTC datetimes, NaN stored as NULL,
and text without NUL characters (PostgreSQL refuses them).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    Float,
    String,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; pass an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def without_nul(text: str) -> str:
    """`text` as the store keeps it: each NUL character replaced by U+FFFD."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _bind_without_nul(value: Any) -> Any:
    return value.replace("\x00", "\ufffd") if type(value) is str and "\x00" in value else value


class NulFreeText(TypeDecorator[str]):
    """Text of any length; a NUL character (a stray byte in a stream) is stored as U+FFFD."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return _bind_without_nul(value)  # SQL rendered with literals; binds: bind_processor

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any]:
        # one plain call per value: the prediction log binds several per scored row
        inner = self.impl_instance.bind_processor(dialect)
        if inner is None:
            return _bind_without_nul
        return lambda value: inner(_bind_without_nul(value))


class NulFreeString(NulFreeText):
    """A bounded name (monitor, rule, hook, status): `String(length)` without NULs."""

    impl = String  # type: ignore[assignment]
    cache_ok = True


class MeasuredFloat(TypeDecorator[float]):
    """A float where NaN (nothing measured) is stored as NULL, as SQLite itself does."""

    impl = Float
    cache_ok = True

    def process_bind_param(self, value: float | None, dialect: Dialect) -> float | None:
        if value is None or math.isnan(value):
            return None
        return float(value)


class Base(DeclarativeBase):
    pass
