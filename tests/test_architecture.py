"""The layers of docs/architecture.md hold: import-linter's contracts (pyproject.toml) pass.

A package that imports from a layer above its own, the store importing a reader, the metrics
importing a model class, or replay importing the demo fails here with import-linter's report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports() -> list[str]:
    script = shutil.which("lint-imports")
    if script is not None:
        return [script]
    return [sys.executable, "-m", "importlinter.cli"]


def test_import_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="import-linter is in the `test` extra")
    done = subprocess.run(
        [*_lint_imports(), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "BROKEN" not in done.stdout


def test_a_broken_contract_fails(tmp_path: Path) -> None:
    """The check above can fail: a contract the code breaks (the CLI reads the config) is
    reported as broken with a non-zero exit."""
    pytest.importorskip("importlinter", reason="import-linter is in the `test` extra")
    config = tmp_path / "broken.ini"
    config.write_text(
        "[importlinter]\nroot_package = monitor\n\n"
        "[importlinter:contract:cli-without-config]\n"
        "name = The CLI without the config\ntype = forbidden\n"
        "source_modules = monitor.cli\nforbidden_modules = monitor.config\n"
    )
    done = subprocess.run(
        [*_lint_imports(), "--config", str(config), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "BROKEN" in done.stdout


def test_every_package_is_in_a_layer() -> None:
    """`exhaustive` makes import-linter itself fail on an undeclared package; this names the
    layers the architecture page documents, so the two cannot drift apart silently."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (layers,) = [c for c in config["contracts"] if c["type"] == "layers"]
    assert layers["exhaustive"] is True
    declared = {
        name.strip() for layer in layers["layers"] for name in layer.replace(":", "|").split("|")
    }
    page = (ROOT / "docs" / "architecture.md").read_text()
    missing = sorted(name for name in declared if f"`{name}`" not in page)
    assert not missing, f"docs/architecture.md does not name the layer member(s) {missing}"
