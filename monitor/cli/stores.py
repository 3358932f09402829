"""Which store a command reads (`--config F` or `--db URL`), opened lazily."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from monitor.cli.suggest import unknown_name
from monitor.config import Config, MonitorConfig, load_config
from monitor.errors import UsageError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from monitor.store import Store


def read_target(config: Path | None, db: str | None) -> tuple[str, Config | None]:
    """The store's URL (`--db` wins over the config's `storage`) and the config, if given."""
    settings = load_config(config) if config is not None else None
    if db is not None:
        return db, settings
    if settings is not None:
        return settings.storage, settings
    from monitor.demo.home import demo_store_file

    demo = demo_store_file()
    if demo.is_file():  # after `driftwarden run` without a config, its store is the one meant
        typer.echo(f"(no --config or --db: reading the demo's store {demo})", err=True)
        return f"sqlite:///{demo}", None
    raise UsageError(
        "give --config FILE or --db URL to say which store to read (the demo's store, "
        f"{demo}, does not exist yet)"
    )


def storage_url(config: Path | None, db: str | None) -> str:
    return read_target(config, db)[0]


def open_url(url: str) -> Store:
    from monitor.store import open_store  # SQLAlchemy and alembic: only once the args are valid

    return open_store(url)


def configured_monitor(settings: Config, name: str) -> MonitorConfig:
    """The config's monitor `name`; a usage error with a hint when there is none."""
    if name not in {m.name for m in settings.monitors}:
        raise UsageError(unknown_name("monitor", name, (m.name for m in settings.monitors)))
    return settings.monitor(name)


def stored_monitors(session: Session) -> list[str]:
    from sqlalchemy import select

    from monitor.store.schema import MonitorRow

    return list(session.scalars(select(MonitorRow.name).order_by(MonitorRow.name)))


def require_monitor(name: str | None, session: Session, settings: Config | None = None) -> None:
    """A usage error naming the known monitors when `name` is neither stored nor configured."""
    if name is None:
        return
    known = set(stored_monitors(session))
    if settings is not None:
        known |= {m.name for m in settings.monitors}
    if name not in known:
        raise UsageError(unknown_name("monitor", name, known))
