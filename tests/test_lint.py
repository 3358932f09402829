"""The test command also runs the linters: ruff (lint and format, the docs' Python blocks
included) and mypy on the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PATHS = ["monitor", "tests", "benchmarks", "dashboards", "docsgen"]


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_check() -> None:
    result = run("ruff", "check", *[p for p in PATHS if (ROOT / p).exists()])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(shutil.which("ruff") is None, reason="ruff is not installed")
def test_ruff_format() -> None:
    # docs too: ruff formats the Python blocks of the Markdown pages
    paths = [p for p in [*PATHS, "docs"] if (ROOT / p).exists()]
    result = run("ruff", "format", "--check", *paths)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy() -> None:
    result = run(sys.executable, "-m", "mypy", "monitor")
    assert result.returncode == 0, result.stdout + result.stderr
