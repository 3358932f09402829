"""Head versions of embedding-head monitors: listing them, choosing the live one (rollback),
and switching a running monitor to it. Imports no torch until a switch needs it."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.config import EmbeddingHeadModelConfig, MonitorConfig
from monitor.errors import UsageError
from monitor.store import Store
from monitor.store.model_versions import add_version, live_version, set_live, versions

if TYPE_CHECKING:
    from monitor.cycle import MonitorRuntime

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
            add_version(session, monitor.name, version, str(head), "configured", now)
        set_live(session, monitor.name, version, now)
    return folder


def activate_live_version(store: Store, runtime: MonitorRuntime) -> str | None:
    """Switch `runtime` to its monitor's live version from the store, if that differs.

    Call it after building a runtime (the live version wins over the configured head) and
    before each cycle in a daemon (so `driftwarden model promote` takes effect; one SELECT
    when nothing changed). Returns the live version, or None when the store names none or
    the model is no embedding head. Raises ModelError when the version's folder is unusable.
    """
    if runtime.config.model.type != "embedding-head":
        return None
    with store.reading() as session:
        row = live_version(session, runtime.name)
    if row is None:
        return None
    if row.version != runtime.model.version:
        # torch only now: most commands that reach here never need it
        from monitor.hooks.retrain_head import switch_head
        from monitor.models.embedding_head import Head

        switch_head(runtime, Head.load(Path(row.path)))
    return row.version
