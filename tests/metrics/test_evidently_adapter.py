"""Evidently is used in one module, and the private parts it uses are those of the pinned
version: another version installed fails here first, naming what to re-check."""

from __future__ import annotations

import ast
import re
from importlib.metadata import version
from pathlib import Path

from monitor.metrics import evidently_adapter

MONITOR = Path(__file__).resolve().parents[2] / "monitor"
ADAPTER = MONITOR / "metrics" / "evidently_adapter.py"


def test_the_installed_evidently_is_the_pinned_one() -> None:
    installed = version("evidently")
    assert installed == evidently_adapter.EVIDENTLY_VERSION == "0.7.23", (
        f"evidently {installed} is installed; monitor/metrics/evidently_adapter.py uses "
        f"private API of {evidently_adapter.EVIDENTLY_VERSION} (the legacy stat-test registry, "
        "the embedding drift methods, Snapshot._widgets/_tests_widgets): re-check each, "
        "then move the pin in the adapter and pyproject.toml together"
    )


def test_pyproject_pins_the_adapter_s_version() -> None:
    pyproject = (MONITOR.parent / "pyproject.toml").read_text()
    assert re.search(rf'"evidently=={re.escape(evidently_adapter.EVIDENTLY_VERSION)}"', pyproject)


def test_the_private_parts_exist() -> None:
    """What the adapter reaches for behind Evidently's public API is still there."""
    declared = evidently_adapter.Snapshot.__annotations__
    assert {"_widgets", "_tests_widgets"} <= set(declared)
    assert evidently_adapter.get_stattest is not None
    assert callable(evidently_adapter.model) and callable(evidently_adapter.ratio)


def test_only_the_adapter_imports_evidently() -> None:
    importers = []
    for path in MONITOR.rglob("*.py"):
        if path == ADAPTER:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            if any(name == "evidently" or name.startswith("evidently.") for name in names):
                importers.append(str(path.relative_to(MONITOR.parent)))
    assert importers == []
