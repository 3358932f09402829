"""Head versions of embedding-head monitors in the store: listing them and choosing the live
one (forward or back). A running monitor takes the live one up before its next cycle
(`monitor.cycle.versions`); nothing here touches a monitor. Imports no torch."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor.config import MonitorConfig
from monitor.errors import UsageError
from monitor.models.head_files import folder_digest
from monitor.models.specs import EmbeddingHeadModelConfig
from monitor.store import Store
from monitor.store.model_versions import add_version, live_version, set_live, versions

META_FILE = "head.json"  # as monitor.models.embedding_head writes it


def versions_folder(head: Path) -> Path:
    """`<head>/../<head-name>.versions`: retrained heads sit beside the configured one."""
    return head.parent / f"{head.name}.versions"


def head_version(folder: Path) -> str | None:
    """The version a head folder holds, or None when it holds no head."""
    try:
        return str(json.loads((folder / META_FILE).read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None


def _head_config(monitor: MonitorConfig) -> EmbeddingHeadModelConfig:
    if not isinstance(monitor.model, EmbeddingHeadModelConfig):
        raise UsageError(
            f"monitor {monitor.name} runs a {monitor.model.type} model; "
            "only embedding-head models have head versions"
        )
    return monitor.model


def live_head_folder(store: Store, monitor: MonitorConfig) -> Path:
    """Where the head the monitor scores with lives: the store's live version, else the
    configured head."""
    head = _head_config(monitor).head
    with store.reading() as session:
        row = live_version(session, monitor.name)
    return head if row is None else Path(row.path)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def list_versions(store: Store, monitor: MonitorConfig) -> list[dict[str, Any]]:
    """Every version of the monitor's head, oldest first; the configured head is always one.

    Before any retrain the store names no live version, and the configured head is live.
    """
    head = _head_config(monitor).head
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
                "source": "configured",
                "path": str(head),
                "created_at": None,
                "promoted_at": None,
                "metrics": {},
            },
        )
    return listed


def promote_version(store: Store, monitor: MonitorConfig, version: str, now: datetime) -> Path:
    """Make `version` live for `monitor` (forward or back); returns its folder."""
    head = _head_config(monitor).head
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
        if known[version]["source"] == "configured":
            digest = folder_digest(head)
            add_version(session, monitor.name, version, str(head), "configured", now, sha256=digest)
        set_live(session, monitor.name, version, now)
    return folder
