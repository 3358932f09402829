"""Writing files and folders so that no reader, and no process killed midway, sees half of one.

Each is written under a private name beside its target and renamed into place; a rename
within one folder is atomic. Two processes writing the same target at once each write their
own copy: for a file the last rename wins, for a folder the first one does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path


def write_file(target: Path, write: Callable[[Path], object], mode: int = 0o644) -> None:
    """Call `write(scratch)` on a private file beside `target`, then rename it to `target`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, scratch = tempfile.mkstemp(
        prefix=f".{target.name}-", suffix=".partial", dir=target.parent
    )
    os.close(handle)
    try:
        write(Path(scratch))
        os.chmod(scratch, mode)  # mkstemp's 0600 would hide a shared cache from other users
        os.replace(scratch, target)
    finally:
        if os.path.exists(scratch):
            os.remove(scratch)


def write_text(target: Path, text: str) -> None:
    """`target` holds `text` (UTF-8), whole or not at all."""
    write_file(target, lambda path: path.write_text(text, encoding="utf-8"))


def publish_folder(target: Path, fill: Callable[[Path], None], *, done: str) -> bool:
    """Fill a private folder beside `target` and rename it to `target`.

    `done` names a file that only a complete folder holds: a `target` that has it is left
    alone (another process published first). Returns True when this call published it.
    """
    if (target / done).is_file():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        fill(staging)
        staging.chmod(0o755)  # mkdtemp makes it private; these folders are shared like files
        staging.rename(target)
    except OSError:
        if not (target / done).is_file():  # not a lost race: a real failure
            raise
        return False
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when the rename landed
    return True
