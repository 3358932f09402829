"""A window's identity: one key per row from its content, a canonical row order, a seed.

Randomised tests draw from a generator seeded with the window's identity, and see its
rows sorted by content, so a window gets the same answer whatever order its rows (or the
windows) came in, in any process and whatever the embedding cache held. The keys come
from the rows' inputs (the text, or the feature values as read), never from a model's
floats, which can differ in the last bits between batches.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def row_keys(inputs: pd.Series | pd.DataFrame) -> np.ndarray:
    """A 64-bit content hash per row (pandas' SipHash with a fixed key: stable everywhere)."""
    if isinstance(inputs, pd.Series):
        inputs = inputs.astype(str)
    keys: np.ndarray = pd.util.hash_pandas_object(inputs, index=False).to_numpy(np.uint64)
    return keys


def canonical_order(keys: np.ndarray) -> np.ndarray:
    """Row positions sorted by content key (identical rows keep their relative order)."""
    return np.argsort(keys, kind="stable")


def seed_of(keys: np.ndarray, *parts: int) -> list[int]:
    """A generator seed from the multiset of keys (row order does not matter) and `parts`."""
    digest = hashlib.blake2b(np.sort(keys).tobytes(), digest_size=8).digest()
    return [int.from_bytes(digest, "little"), *parts]
