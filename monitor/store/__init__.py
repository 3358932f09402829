"""The store: SQLAlchemy models, migrations applied on open, and repository functions."""

from monitor.store.database import Store, open_store
from monitor.store.repository import RunRecord

__all__ = ["RunRecord", "Store", "open_store"]
