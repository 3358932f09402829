"""Where the demo keeps its store, known without loading the demo (bare `status` and `runs`
read the demo's store)."""

from __future__ import annotations

from pathlib import Path

from monitor.home import data_dir


def demo_store_file(home: Path | None = None) -> Path:
    """The SQLite file the demo records its runs in."""
    return (home or data_dir()) / "demo.db"


def default_storage(home: Path) -> str:
    return f"sqlite:///{demo_store_file(home)}"
