"""Leaving the console script without the interpreter's slow teardown.

Once torch, ONNX Runtime and Evidently are loaded, Python's own finalisation (module
teardown and its garbage collections, seen in gdb as `finalize_modules`) takes 4-11 s after
the work is done, so a stopped daemon lingered that long. The console script therefore
ends the process right after the exit handlers: `leave(code)` exits normally, the
interpreter runs every `atexit` handler (last registered first), and the handler
registered here, when `monitor.cli` is first imported and so before those of the libraries
a command loads, runs last and ends the process before module teardown.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import sys
from typing import NoReturn

_code: int | None = None


def _end_process() -> None:
    if _code is None:  # not the console script (tests, a program that imports monitor.cli)
        return
    logging.shutdown()  # registered before this handler, so it would otherwise not run
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to say
            stream.flush()
    os._exit(_code)


atexit.register(_end_process)


def leave(code: int) -> NoReturn:
    """Exit with `code`: the exit handlers run, then the process ends at once."""
    global _code
    _code = code
    sys.exit(code)
