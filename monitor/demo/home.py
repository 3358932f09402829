"""Where the demo keeps its files and its store, known without loading the demo (bare
`status` and `runs` read the demo's store)."""

from __future__ import annotations

import os
from pathlib import Path

HOME_ENV = "DRIFTWARDEN_HOME"


def data_dir() -> Path:
    """`$DRIFTWARDEN_HOME`, else `$XDG_CACHE_HOME/driftwarden` (`~/.cache/driftwarden`)."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "driftwarden"


def demo_store_file(home: Path | None = None) -> Path:
    """The SQLite file the demo records its runs in."""
    return (home or data_dir()) / "demo.db"


def default_storage(home: Path) -> str:
    return f"sqlite:///{demo_store_file(home)}"
