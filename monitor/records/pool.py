"""One window's share of the sequential test's pool, as the cycle gets it from the metrics,
stores it with the run, and hands it back to the next windows' cycles.

The sequential test (`monitor.metrics.sequential`) pools the rows of a monitor's last few
windows. Each window's share is what the test needs of it again: the keys of the rows it
tested and their novelty scores (a score depends on the row and the reference alone). The
store keeps the shares beside the runs (`sequential_pool`), so the pool is the same in a
restarted daemon, on another fleet worker, or after a worker died mid-window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

_KEYS = np.dtype("<u8")
_SCORES = np.dtype("<f8")


@dataclass(frozen=True, eq=False)
class PooledWindow:
    """A window's rows in the sequential pool: what its scores are comparable with (the
    fingerprint of the novelty test that scored them: the reference rows, the model's
    embeddings, the settings), its identity (`seed_of` its keys), and the keys and novelty
    scores of the rows it tested, in the same order."""

    key: str
    identity: int
    keys: np.ndarray
    scores: np.ndarray

    def __post_init__(self) -> None:
        if len(self.keys) != len(self.scores):
            raise ValueError(
                f"a pooled window needs one score per key ({len(self.keys)} keys, "
                f"{len(self.scores)} scores)"
            )

    def key_bytes(self) -> bytes:
        """The keys as little-endian unsigned 64-bit integers (what the store keeps)."""
        return np.asarray(self.keys, dtype=_KEYS).tobytes()

    def score_bytes(self) -> bytes:
        """The scores as little-endian 64-bit floats (what the store keeps)."""
        return np.asarray(self.scores, dtype=_SCORES).tobytes()

    @classmethod
    def from_bytes(cls, key: str, identity: str, keys: bytes, scores: bytes) -> PooledWindow:
        """The window as the store kept it (`identity` in decimal; the arrays as
        `key_bytes` and `score_bytes` wrote them). Raises ValueError on bytes that are not
        such arrays of one length."""
        return cls(
            key,
            int(identity),
            np.frombuffer(keys, dtype=_KEYS).astype(np.uint64),
            np.frombuffer(scores, dtype=_SCORES).astype(np.float64),
        )
