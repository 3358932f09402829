"""Where a monitor's model versions sit on disk, and which version a folder holds."""

from __future__ import annotations

import json
from pathlib import Path

from monitor.models.head_files import META_FILE


def versions_folder(head: Path) -> Path:
    """`<head>/../<head-name>.versions`: retrained versions sit beside the configured head."""
    return head.parent / f"{head.name}.versions"


def head_version(folder: Path) -> str | None:
    """The version a version folder holds, or None when it holds none."""
    try:
        return str(json.loads((folder / META_FILE).read_text())["version"])
    except (OSError, ValueError, KeyError):
        return None
