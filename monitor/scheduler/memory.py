"""Handing the memory a cycle freed back to the operating system."""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
from functools import cache


@cache
def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's `malloc_trim`, where the process has one (not on macOS or musl)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        return getattr(ctypes.CDLL(None), "malloc_trim", None)
    except OSError:
        return None


def return_free_memory() -> None:
    """Hand the memory a cycle freed back to the OS.

    Scoring allocates tensors of new shapes every window (each batch is padded to its own
    longest text), and glibc keeps what they free in its heaps: measured here, a demo
    daemon's RSS crept up by about 1 MB a cycle without this and stayed flat with it. The
    trim itself takes well under a millisecond.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
