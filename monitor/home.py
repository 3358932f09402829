"""driftwarden's own directory on this machine: demo data, fitted heads, exported ONNX models.

One rule for everything that caches there (the demo, replay's heads, the ONNX backend):
`$DRIFTWARDEN_HOME`, else `$XDG_CACHE_HOME/driftwarden`, else `~/.cache/driftwarden`.
"""

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
