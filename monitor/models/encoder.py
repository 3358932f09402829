"""Batched transformer inference: length-sorted dynamic padding, order restored, pooled states."""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from monitor.errors import ModelError

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever fetched from a hub at run time
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()  # a daemon's log is no terminal


def resolve_encoder_path(encoder: str) -> Path:
    """A directory, or `package:NAME` for a pip package exposing `get_model_path()`."""
    if encoder.startswith("package:"):
        module_name = encoder.removeprefix("package:")
        try:
            module = __import__(module_name)
        except ImportError:
            raise ModelError(
                f"encoder {encoder}: package {module_name!r} is not installed "
                f"(pip install {module_name.replace('_', '-')})"
            ) from None
        return Path(module.get_model_path())
    path = Path(encoder)
    if not (path / "config.json").is_file():
        raise ModelError(f"encoder {encoder}: no config.json there (not a transformers model)")
    return path


def directory_identity(path: Path) -> str:
    """A short fingerprint of a model directory: its config and the size of its weights."""
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "vocab.txt"):
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
        with weights.open("rb") as handle:
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def run_length_sorted(
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int,
    max_length: int,
    forward: Callable[[dict[str, torch.Tensor]], list[torch.Tensor]],
) -> list[np.ndarray]:
    """Tokenize once, batch texts of similar length, run `forward`, return rows in input order.

    Sorting by token count means each batch is padded only to its own longest text, which
    is where most of the CPU time of in-order batching goes.
    """
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    ids: list[list[int]] = encoded["input_ids"]
    order = np.argsort([len(row) for row in ids], kind="stable")
    chunks: list[list[np.ndarray]] = []
    with torch.inference_mode():
        for start in range(0, len(order), batch_size):
            batch_rows = order[start : start + batch_size]
            features = {key: [encoded[key][i] for i in batch_rows] for key in encoded}
            padded = tokenizer.pad(features, return_tensors="pt")
            results = forward(dict(padded))
            if not chunks:
                chunks = [[] for _ in results]
            for slot, tensor in zip(chunks, results, strict=True):
                slot.append(tensor.float().numpy())
    outputs = [np.concatenate(slot) for slot in chunks]
    restored = np.empty_like(order)
    restored[order] = np.arange(len(order))
    return [array[restored] for array in outputs]


class EmbeddingCache:
    """A bounded LRU of embeddings by text hash (streams repeat texts more than one expects)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()

    def get(self, key: bytes) -> np.ndarray | None:
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
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


class SentenceEncoder:
    """A transformers encoder with mean pooling: texts in, one vector per text out."""

    def __init__(
        self,
        encoder: str,
        *,
        batch_size: int = 32,
        max_length: int = 256,
        threads: int | None = None,
        cache_size: int = 0,
        quantize: bool = False,
    ) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.path = resolve_encoder_path(encoder)
        self.identity = (
            f"{encoder}@{directory_identity(self.path)}"
            if encoder.startswith("package:")
            else f"{self.path.name}@{directory_identity(self.path)}"
        )
        self.fingerprint = directory_identity(self.path)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.path)
            model = AutoModel.from_pretrained(self.path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load encoder from {self.path}: {exc}") from None
        model.eval()
        if quantize:
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, torch.qint8)
        self.model = model
        self.batch_size = batch_size
        positions = getattr(model.config, "max_position_embeddings", max_length)
        self.max_length = min(max_length, positions)
        self.cache = EmbeddingCache(cache_size)
        self.encode(["warm-up"])  # first call allocates; keep that out of the first cycle

    def _forward(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        hidden = self.model(**batch).last_hidden_state
        return [mean_pool(hidden, batch["attention_mask"])]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        keys = [EmbeddingCache.key(t) for t in texts]
        found = [self.cache.get(k) for k in keys]
        missing = [i for i, vector in enumerate(found) if vector is None]
        if missing:
            fresh = run_length_sorted(
                self.tokenizer,
                [texts[i] for i in missing],
                self.batch_size,
                self.max_length,
                self._forward,
            )[0]
            for row, i in enumerate(missing):
                found[i] = fresh[row]
                self.cache.put(keys[i], fresh[row])
        if not texts:
            return np.zeros((0, self.model.config.hidden_size), dtype=np.float32)
        return np.stack([v for v in found if v is not None]).astype(np.float32, copy=False)
