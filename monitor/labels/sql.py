"""Labels from a database table or query, read past the last `order_by` value recorded, a
batch at a time (the sql stream's reading: any SQLAlchemy URL, keyset pagination)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import SourceError
from monitor.labels.base import label_batch
from monitor.labels.specs import SqlLabelsConfig
from monitor.sources.base import SourceContext, Window
from monitor.sources.sql import SqlSource, _encoded, _key_after
from monitor.sources.windowing import key_position


class SqlLabelSource(SqlSource):
    """One batch of `batch_rows` label rows per read, in `order_by` (then id) order."""

    def __init__(self, config: SqlLabelsConfig, context: SourceContext) -> None:
        super().__init__(config, context)
        self.labels = config
        self.where = self.where.replace("stream ", "labels ", 1)

    def read(self, after: str | None, now: datetime) -> Window | None:
        try:
            with self.engine.connect() as connection:
                frame, keys, _ = self._fetch(connection, _key_after(after))
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            raise SourceError(f"{self.where}: {type(exc).__name__}: {reason}") from None
        if frame.empty:
            return None
        return label_batch(frame, self.labels, key_position(_encoded(keys[-1])))
