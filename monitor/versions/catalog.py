"""The versions of an embedding-head monitor's model in the store: listing them,
registering new ones and choosing the live one (forward or back, `model promote`).

Nothing here touches a running monitor: it takes the live version up before its next
cycle (`monitor.versions.switch`). Imports no torch.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from monitor.config import MonitorConfig
from monitor.errors import UsageError
from monitor.models.head_files import folder_digest
from monitor.models.specs import EmbeddingHeadModelConfig
from monitor.store import Store
from monitor.store.model_versions import add_version, live_version, set_live, versions
from monitor.versions.folders import head_version

#: the `source` of the version the config names (registered once another version exists)
CONFIGURED = "configured"


def head_config(monitor: MonitorConfig) -> EmbeddingHeadModelConfig:
    if not isinstance(monitor.model, EmbeddingHeadModelConfig):
        raise UsageError(
            f"monitor {monitor.name} runs a {monitor.model.type} model; "
            "only embedding-head models have head versions"
        )
    return monitor.model


def live_head_folder(store: Store, monitor: MonitorConfig) -> Path:
    """Where the version the monitor scores with lives: the store's live version, else the
    configured head."""
    head = head_config(monitor).head
    with store.reading() as session:
        row = live_version(session, monitor.name)
    return head if row is None else Path(row.path)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def list_versions(store: Store, monitor: MonitorConfig) -> list[dict[str, Any]]:
    """Every version of the monitor's model, oldest first; the configured head is always one.

    Before any retrain the store names no live version, and the configured head is live.
    """
    head = head_config(monitor).head
    with store.reading() as session:
        rows = versions(session, monitor.name)
    listed: list[dict[str, Any]] = [
        {
            "version": row.version,
            "live": row.live,
            "source": row.source,
            "path": row.path,
            "created_at": _iso(row.created_at),
            "promoted_at": _iso(row.promoted_at),
            "metrics": row.metrics,
        }
        for row in rows
    ]
    configured = head_version(head)
    if configured is not None and configured not in {row["version"] for row in listed}:
        live = not any(row["live"] for row in listed)
        listed.insert(
            0,
            {
                "version": configured,
                "live": live,
                "source": CONFIGURED,
                "path": str(head),
                "created_at": None,
                "promoted_at": None,
                "metrics": {},
            },
        )
    return listed


def register_configured(session: Session, monitor: str, head: Path, now: datetime) -> None:
    """Register the configured head as a version (with its files' hash), so that another
    version can be made live and this one stays reachable for a rollback."""
    version = head_version(head)
    if version is not None:
        add_version(
            session, monitor, version, str(head), CONFIGURED, now, sha256=folder_digest(head)
        )


def register_version(
    session: Session,
    config: MonitorConfig,
    live: str | None,
    version: str,
    folder: Path,
    source: str,
    now: datetime,
    metrics: dict[str, Any] | None = None,
) -> None:
    """Register a version written to `folder` (its files hashed now), not live. `live`, the
    version the monitor scores with, is registered first when it is the configured head, so
    that it stays listed (and reachable for a rollback) once another version is live."""
    head = head_config(config).head
    if live is not None and live == head_version(head):
        register_configured(session, config.name, head, now)
    digest = folder_digest(folder)
    add_version(session, config.name, version, str(folder), source, now, metrics, sha256=digest)


def make_live(session: Session, monitor: str, version: str, now: datetime) -> None:
    """Make the registered `version` the monitor's only live one."""
    if not set_live(session, monitor, version, now):
        raise UsageError(f"monitor {monitor} has no registered version {version!r}")


def promote_version(store: Store, monitor: MonitorConfig, version: str, now: datetime) -> Path:
    """Make `version` live for `monitor` (forward or back); returns its folder."""
    head = head_config(monitor).head
    known = {row["version"]: row for row in list_versions(store, monitor)}
    if version not in known:
        names = ", ".join(known) or "none"
        raise UsageError(
            f"monitor {monitor.name} has no head version {version!r} (versions: {names})"
        )
    folder = Path(known[version]["path"])
    if head_version(folder) != version:
        raise UsageError(f"head version {version} is missing from {folder}")
    with store.transaction() as session:
        if known[version]["source"] == CONFIGURED:
            register_configured(session, monitor.name, head, now)
        set_live(session, monitor.name, version, now)
    return folder
