"""Embeddings kept by text hash, so a text seen again is not encoded again."""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

import numpy as np


class EmbeddingCache:
    """A bounded LRU of embeddings by text hash (streams repeat texts more than one expects).

    Keys are keyed BLAKE2 hashes: the namespace (encoder weights and backend) is the hash
    key, so one text under two encoders or backends never shares an entry. Safe to use from
    several threads: monitors sharing an encoder share its cache (`monitor.models.shared`).
    """

    def __init__(self, capacity: int, namespace: str = "") -> None:
        self.capacity = capacity
        self.namespace = namespace
        self._salt = hashlib.blake2b(namespace.encode("utf-8"), digest_size=32).digest()
        self._items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def key(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16, key=self._salt).digest()

    def get(self, key: bytes) -> np.ndarray | None:
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: bytes, value: np.ndarray) -> None:
        if self.capacity <= 0:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                self._items.popitem(last=False)

    def grow(self, capacity: int) -> None:
        """Keep at least `capacity` entries (a monitor sharing the cache asked for more)."""
        with self._lock:
            self.capacity = max(self.capacity, capacity)

    def __len__(self) -> int:
        return len(self._items)
