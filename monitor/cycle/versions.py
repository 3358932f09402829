"""The swap before a cycle: a runtime takes up the model version its store names live.

The only place a runtime changes: retrains and `driftwarden model promote` write versions
and mark one live in the store, and each cycle (of any process) switches to it first. The
store is also where the runtime finds (and keeps) its scored reference, so it is handed to
the runtime here, before the reference is scored.
"""

from __future__ import annotations

from pathlib import Path

from monitor.cycle.runtime import MonitorRuntime
from monitor.store import Store
from monitor.store.model_versions import live_version


def activate_live_version(store: Store, runtime: MonitorRuntime) -> str | None:
    """Switch `runtime` to its monitor's live version from the store, if that differs.

    One SELECT when nothing changed. Returns the live version, or None when the store names
    none or the model has no versions. Raises ModelError when the version is unusable, or
    its files no longer hash to what was recorded when it was registered. On return the
    runtime's reference is scored (or found in the store) for that version.
    """
    runtime.use_store(store)
    version = None
    if runtime.model.versioned:
        with store.reading() as session:
            row = live_version(session, runtime.name)
        if row is not None:
            version = row.version
            if row.version != runtime.model.version:
                runtime.swap(runtime.model.at_version(row.version, Path(row.path), row.sha256))
    runtime.prepare()
    return version
