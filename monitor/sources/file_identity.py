"""Which file is which, and how far each was read: the per-file part of a stream's position.

A stream file is known by its identity (device and inode), not its name, and its content by
a fingerprint of the bytes read so far (the first KiB and the last 256 bytes before the read
position). So a renamed file reads on where it stood, a file rotated away and replaced under
its name is a new file read from its start, and a file truncated or rewritten in place is
noticed and read anew. Files get an arrival number (`seq`) the first time a scan sees them:
rows are ordered by it, never by name, so a file whose name sorts before the ones already
read is still read.

The positions travel in the watermark JSON, stored in the same transaction as the window
whose rows they account for: a cycle that fails moves none of them. What each scan read
past them (its extents: per file the fingerprint and rows read, and the rows of a replaced
file's old content still waiting) is kept apart, in a record rewritten at each scan that
read something new, so that a restarted process can tell rows it never got to re-read
(their file was rewritten meanwhile) and quarantine them as gone, not lose them silently.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEAD_BYTES = 1024
TAIL_BYTES = 256
NEVER = 2**62  # `read_lines` of a file whose read extent predates this format: all of it


@dataclass
class FileState:
    """One stream file: its arrival number, identity, and how far it was read.

    `offset`/`lines` say where the next read starts (a byte offset and the rows before it;
    a row count for Parquet). `consumed_*` is the point before which every row is in a
    recorded window (the position stored), `read_lines` how many rows had been read when
    that position was issued (rows past it that sort before the watermark arrived late).
    """

    seq: int
    name: str
    identity: tuple[int, int] | None = None
    fingerprint: str | None = None
    offset: int = 0
    lines: int = 0
    header: list[str] | None = None
    stamp: tuple[int, int] | None = None
    unreadable: str | None = None
    #: set aside for an OS error (permissions): tried again at every scan, as a `chmod`
    #: changes neither size nor mtime
    retry: bool = False
    #: rows up to this line were consumed under an older position format: dropped on read
    skip_lines: int = 0
    read_lines: int = 0
    #: (fingerprint, rows) a process read before it stopped, past any stored position, as
    #: its last scan kept them (`scan extents`): checked once, at this process's first read
    seen: tuple[str, int] | None = None


def fingerprint(path: Path, offset: int) -> str:
    """A digest of the bytes before `offset` that a rewrite would change: the head and the
    bytes just before the read position."""
    digest = hashlib.blake2b(digest_size=8)
    with path.open("rb") as handle:
        digest.update(handle.read(min(offset, HEAD_BYTES)))
        tail_start = max(min(offset, HEAD_BYTES), offset - TAIL_BYTES)
        handle.seek(tail_start)
        digest.update(handle.read(offset - tail_start))
    return f"{offset}:{digest.hexdigest()}"


def encode_states(states: list[tuple[FileState, int, int, int]]) -> list[list[Any]]:
    """(state, consumed offset, consumed lines, rows read) as compact JSON lists."""
    encoded = []
    for state, offset, lines, read_lines in states:
        identity = list(state.identity) if state.identity else None
        encoded.append(
            [state.seq, state.name, identity, state.fingerprint, offset, lines, read_lines]
        )
    return encoded


def decode_states(stored: Any, skip_before: str | None) -> list[FileState]:
    """File states from a stored position: the current list form, or the older form
    `{name: [offset, lines]}` (ordered by name, identities unknown, files named before
    `skip_before` consumed whole)."""
    if isinstance(stored, dict):
        states = [
            FileState(seq, str(name), offset=int(value[0]), lines=int(value[1]))
            for seq, (name, value) in enumerate(sorted(stored.items()))
        ]
        return states
    states = []
    for entry in stored or []:
        seq, name, identity, mark, offset, lines, read_lines = entry
        states.append(
            FileState(
                int(seq),
                str(name),
                (int(identity[0]), int(identity[1])) if identity else None,
                None if mark is None else str(mark),
                int(offset),
                int(lines),
                read_lines=int(read_lines),
            )
        )
    return states


@dataclass(frozen=True)
class Extent:
    """What a scan read of one file: its rows up to `lines` (bytes up to the fingerprint's
    length). `replaced`: the file's content was replaced since; its rows `waiting` (if the
    window then handed out is stored) or `unstored` (if not), as runs of lines, were in no
    stored window."""

    seq: int
    name: str
    identity: tuple[int, int] | None
    fingerprint: str | None
    lines: int
    replaced: bool = False
    waiting: tuple[tuple[int, int], ...] = ()
    unstored: tuple[tuple[int, int], ...] = ()


def encode_extents(issued: str | None, extents: list[Extent], gone: dict[str, Any]) -> str:
    """A scan's extents, the position of the window it handed out (None: none), and the
    entries naming rows gone so far (kept until a process records them, and after)."""
    return json.dumps(
        {
            "issued": issued,
            "gone": gone,
            "files": [
                [e.seq, e.name, list(e.identity) if e.identity else None, e.fingerprint,
                 e.lines, int(e.replaced), e.waiting, e.unstored]
                for e in extents
            ],
        },
        sort_keys=True,
    )  # fmt: skip


def decode_extents(text: str) -> tuple[str | None, list[Extent], dict[str, Any]]:
    """The extents `encode_extents` wrote; an unreadable record counts as none."""
    try:
        stored = json.loads(text)
        extents = [_extent(*entry) for entry in stored["files"]]
        issued = stored.get("issued")
        gone = {
            str(key): (str(reason), dict(raw))
            for key, (reason, raw) in stored.get("gone", {}).items()
        }
        return (None if issued is None else str(issued)), extents, gone
    except (ValueError, TypeError, KeyError, IndexError):
        return None, [], {}


def _extent(
    seq: Any, name: Any, ident: Any, mark: Any, lines: Any, replaced: Any, waiting: Any, rest: Any
) -> Extent:
    identity = (int(ident[0]), int(ident[1])) if ident else None
    mark = None if mark is None else str(mark)
    return Extent(
        int(seq), str(name), identity, mark, int(lines), bool(replaced), _runs_of(waiting),
        _runs_of(rest),
    )  # fmt: skip


def _runs_of(stored: Any) -> tuple[tuple[int, int], ...]:
    return tuple((int(first), int(last)) for first, last in stored)


def runs(lines: Iterable[int]) -> tuple[tuple[int, int], ...]:
    """Line numbers as runs (first, last) of consecutive lines."""
    found: list[tuple[int, int]] = []
    for line in sorted(set(lines)):
        if found and found[-1][1] == line - 1:
            found[-1] = (found[-1][0], line)
        else:
            found.append((line, line))
    return tuple(found)
