"""A stream of database rows: a table or a query, read past the last `order_by` value recorded.

The watermark is the sort key of the last row a window consumed: the `order_by` value, and
the row's `columns.id` where it is set (to tell apart rows sharing a value). Each read asks
only for rows past it, in key order, a batch at a time, so a cycle's cost follows the
window, not the table. Windows are cut as from files: `rows: N` takes the next N usable
rows, `duration` the rows of one aligned interval once it is complete.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    and_,
    column,
    create_engine,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from monitor.database_urls import safe_url, with_driver
from monitor.errors import SourceError
from monitor.records.rows import ROW_ID, TIMESTAMP, Rejected
from monitor.sources.base import Source, SourceContext, Window
from monitor.sources.cutting import first_timestamp, last_timestamp
from monitor.sources.rows import json_safe, split_usable
from monitor.sources.specs import SqlStreamConfig
from monitor.sources.values import parse_timestamps
from monitor.sources.windowing import duration_bounds, key_position

Key = tuple[Any, ...]


def _encode(value: Any) -> Any:
    """A key value as JSON, tagged so that it binds back as the type the driver gave."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, uuid.UUID):
        return {"uuid": str(value)}
    raise SourceError(f"cannot keep a watermark on a {type(value).__name__} value ({value!r})")


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    ((kind, raw),) = value.items()
    decoders: dict[str, Callable[[str], Any]] = {
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
        "decimal": Decimal,
        "uuid": uuid.UUID,
    }
    return decoders[kind](raw)


class SqlSource(Source):
    """Reads `table` (or `query`) through SQLAlchemy; any URL SQLAlchemy can open."""

    def __init__(self, config: SqlStreamConfig, context: SourceContext) -> None:
        assert config.order_by is not None  # the config fills it from timestamp_column
        self.config = config
        self.context = context
        self.order_by = config.order_by
        tiebreak = context.columns.id
        self.tiebreak = tiebreak if tiebreak not in (None, config.order_by) else None
        self.where = f"stream {safe_url(config.url)} ({config.table or 'query'})"
        if config.table is not None:
            schema, _, name = config.table.rpartition(".")
            self._rows: Any = table(name, schema=schema or None)
        else:
            self._rows = text(config.query or "").columns().subquery("driftwarden_stream")
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            try:
                url = with_driver(make_url(self.config.url))
                self._engine = create_engine(url, pool_pre_ping=True)
            except (ArgumentError, ImportError) as exc:
                raise SourceError(f"{self.where}: cannot open the database: {exc}") from None
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def read(self, after: str | None, now: datetime) -> Window | None:
        try:
            with self.engine.connect() as connection:
                if self.context.window.rows is not None:
                    return self._rows_window(connection, after, self.context.window.rows)
                return self._duration_window(connection, after, now)
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise SourceError(f"{self.where}: {type(exc).__name__}: {reason}") from None

    # -- reading

    def _key(self, row: dict[str, Any]) -> Key:
        if self.tiebreak is None:
            return (row[self.order_by],)
        return (row[self.order_by], row[self.tiebreak])

    def _past(self, key: Key) -> Any:
        """Rows whose sort key is past `key`."""
        order: Any = column(self.order_by)
        if self.tiebreak is None:
            return order > key[0]
        return or_(order > key[0], and_(order == key[0], column(self.tiebreak) > key[1]))

    def _fetch(
        self, connection: Connection, after: Key | None
    ) -> tuple[pd.DataFrame, list[Key], bool]:
        """The next batch of rows past `after` in key order, their keys, and whether more
        rows may follow. A batch holds whole groups of rows sharing a key: the watermark
        moves past a value, never into the middle of its rows."""
        order: list[Any] = [column(self.order_by)]
        if self.tiebreak is not None:
            order.append(column(self.tiebreak))
        query: Any = select(literal_column("*")).select_from(self._rows).order_by(*order)
        if after is not None:
            query = query.where(self._past(after))
        result = connection.execute(query.limit(self.config.batch_rows))
        names = [str(name) for name in result.keys()]  # noqa: SIM118 - a Result, not a dict
        self._check_columns(names)
        records = [dict(row) for row in result.mappings()]
        keys = [self._key(record) for record in records]
        more = len(records) == self.config.batch_rows
        if more:
            whole = len(keys)
            while whole > 0 and keys[whole - 1] == keys[-1]:
                whole -= 1  # the last key's rows may go on in the next batch: read them then
            if whole == 0:
                raise SourceError(
                    f"{self.where}: more than {self.config.batch_rows} rows share "
                    f"{self.order_by} = {keys[-1][0]!r}; set `columns.id` to order them"
                )
            records, keys = records[:whole], keys[:whole]
        frame = pd.DataFrame.from_records(records, columns=names)
        if self.context.columns.id is not None:
            frame[ROW_ID] = [str(r[self.context.columns.id]) for r in records]
        else:
            frame[ROW_ID] = [f"{self.order_by}={key[0]}" for key in keys]
        if self.config.timestamp_column is not None:
            raw = frame[self.config.timestamp_column]
            frame[TIMESTAMP] = parse_timestamps(raw, self.config.timestamp_unit)
        return frame, keys, more

    def _check_columns(self, names: list[str]) -> None:
        columns = self.context.columns
        needed: list[str | None] = [columns.text] if columns.text else [*(columns.features or [])]
        needed += [self.order_by, self.config.timestamp_column, self.tiebreak]
        missing = sorted({c for c in needed if c is not None and c not in names})
        if missing:
            raise SourceError(
                f"{self.where}: column(s) {', '.join(map(repr, missing))} not found "
                f"(columns: {', '.join(names)})"
            )

    # -- cutting

    def _rows_window(self, connection: Connection, after: str | None, size: int) -> Window | None:
        cursor = _key_after(after)
        frames: list[pd.DataFrame] = []
        keys: list[Key] = []
        while True:
            frame, batch, more = self._fetch(connection, cursor)
            frames.append(frame)
            keys += batch
            candidates = pd.concat(frames, ignore_index=True)
            usable, rejected, consumed = split_usable(candidates, self.context.check, limit=size)
            if len(usable) >= size:
                break
            if not more:  # fewer than `size` usable rows past the watermark: wait, unless
                return self._unusable_window(candidates, keys, size)  # none of them is
            cursor = batch[-1]
        if consumed < len(keys) and keys[consumed] == keys[consumed - 1]:
            raise SourceError(
                f"{self.where}: the window would end inside the rows sharing "
                f"{self.order_by} = {keys[consumed][0]!r}; make `order_by` unique or set "
                "`columns.id` to order rows that share a value"
            )
        return Window(
            rows=usable,
            rejected=rejected,
            position=key_position(_encoded(keys[consumed - 1])),
            start=first_timestamp(usable),
            end=last_timestamp(usable),
        )

    def _unusable_window(
        self, candidates: pd.DataFrame, keys: list[Key], size: int
    ) -> Window | None:
        """The first `size` rows past the watermark when none is usable: a window of their
        own (rows 0, all quarantined), so a stream that turned bad shows in the store."""
        if len(candidates) < size or (size < len(keys) and keys[size] == keys[size - 1]):
            return None
        front = candidates.iloc[:size]
        usable, rejected, _ = split_usable(front, self.context.check, limit=None)
        if not usable.empty:
            return None
        position = key_position(_encoded(keys[size - 1]))
        return Window(usable, rejected, position, first_timestamp(front), last_timestamp(front))

    def _duration_window(
        self, connection: Connection, after: str | None, now: datetime
    ) -> Window | None:
        duration = self.context.window.duration
        column_name = self.config.timestamp_column
        assert duration is not None and column_name is not None
        cursor = _key_after(after)
        frame, batch, more = self._fetch(connection, cursor)
        dated = frame[TIMESTAMP].dropna()
        first = None if dated.empty else dated.iloc[0].to_pydatetime()
        bounds = duration_bounds(after, first, duration, now)
        if bounds is None:
            return None
        start, end = bounds
        # rows come in time order: the window consumes them up to the first one at or past
        # `end` (unparseable timestamps are consumed and quarantined; earlier ones, which
        # arrived after their window was recorded, are passed over as a file source does)
        taken: list[pd.DataFrame] = []
        last = cursor
        while True:
            before_end = ~(frame[TIMESTAMP] >= end)
            stop = len(frame) if before_end.all() else int((~before_end).to_numpy().argmax())
            taken.append(frame.iloc[:stop])
            if stop:
                last = batch[stop - 1]
            if stop < len(frame) or not more:
                break
            frame, batch, more = self._fetch(connection, batch[-1])
        consumed = pd.concat(taken, ignore_index=True)
        undated = consumed[consumed[TIMESTAMP].isna()]
        inside = consumed[(consumed[TIMESTAMP] >= start) & (consumed[TIMESTAMP] < end)]
        usable, rejected, _ = split_usable(inside, self.context.check, limit=None)
        unparseable = [
            Rejected(str(row_id), f"unparseable timestamp {value!r}", json_safe(record))
            for row_id, value, record in zip(
                undated[ROW_ID], undated[column_name], undated.to_dict("records"), strict=True
            )
        ]
        position = {"end": end.isoformat(), "key": None if last is None else _encoded(last)}
        return Window(usable, unparseable + rejected, json.dumps(position), start, end)


def _encoded(key: Key) -> list[Any]:
    return [_encode(value) for value in key]


def _key_after(after: str | None) -> Key | None:
    if after is None:
        return None
    try:
        stored = json.loads(after)["key"]
    except (ValueError, KeyError, TypeError):
        raise SourceError(
            f"the stored watermark {after!r} is not an sql stream's; use a fresh store"
        ) from None
    return None if stored is None else tuple(_decode(value) for value in stored)
