"""The switch: a running monitor takes up the model version its store names live.

The only place a runtime's model changes. Retrains and `driftwarden model promote` write
versions and mark one live in the store; before each cycle the in-process cycle
(`activate_live_version`) and a Dask worker (given the version the daemon read at the
cycle's start) both call `switch_to`. The store is also where the runtime finds (and
keeps) its scored reference, so the in-process path hands it the store first; a new
version's reference scores are found or made under that version's key, so embedding caches
and reference scores follow the version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy.orm import Session

from monitor.models.base import Model
from monitor.store import Store
from monitor.store.model_versions import live_version


@dataclass(frozen=True)
class LiveVersion:
    """The model version the store names live for a monitor, and where it is saved."""

    version: str
    path: str
    #: the hash its files had when it was registered (checked before it scores)
    sha256: str | None = None


class SwitchableRuntime(Protocol):
    """What the switch needs of a monitor's runtime (`monitor.cycle.runtime.MonitorRuntime`)."""

    @property
    def name(self) -> str: ...

    @property
    def model(self) -> Model: ...

    def swap(self, model: Model) -> None: ...

    def use_store(self, store: Store) -> None: ...

    def prepare(self) -> Any: ...


def live_in(session: Session, monitor: str) -> LiveVersion | None:
    """The version the store names live for `monitor` (None: the configured one is)."""
    row = live_version(session, monitor)
    return None if row is None else LiveVersion(row.version, row.path, row.sha256)


def read_live_version(store: Store, monitor: str) -> LiveVersion | None:
    """`live_in`, in a read of its own."""
    with store.reading() as session:
        return live_in(session, monitor)


def switch_to(runtime: SwitchableRuntime, live: LiveVersion | None) -> bool:
    """Score with `live` from now on, if the runtime scores with another version; whether it
    switched. Raises ModelError when the version is unusable, or its files no longer hash to
    what was recorded when it was registered (the runtime then keeps its model). Call it only
    where no cycle of this monitor runs."""
    if live is None or not runtime.model.versioned or live.version == runtime.model.version:
        return False
    runtime.swap(runtime.model.at_version(live.version, Path(live.path), live.sha256))
    return True


def activate_live_version(store: Store, runtime: SwitchableRuntime) -> str | None:
    """Before an in-process cycle: switch `runtime` to its monitor's live version.

    One SELECT when nothing changed. Returns the live version, or None when the store names
    none or the model has no versions. On return the runtime's reference is scored (or found
    in the store) for that version.
    """
    runtime.use_store(store)
    live = read_live_version(store, runtime.name) if runtime.model.versioned else None
    switch_to(runtime, live)
    runtime.prepare()
    return None if live is None else live.version
