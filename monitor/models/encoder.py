"""A foundation-model encoder: texts in, one mean-pooled vector per text out, each distinct
text computed once (and kept by hash in a bounded cache)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from monitor.errors import ModelError
from monitor.models.batching import mean_pool, run_length_sorted
from monitor.models.embedding_cache import EmbeddingCache
from monitor.models.text_runner import TextRunner

if TYPE_CHECKING:
    from monitor.models.specs import EmbeddingHeadModelConfig

__all__ = [
    "EmbeddingCache",
    "SentenceEncoder",
    "TextRunner",
    "directory_identity",
    "mean_pool",
    "resolve_encoder_path",
    "run_length_sorted",
]


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


class SentenceEncoder:
    """A transformers encoder with mean pooling: texts in, one vector per text out.

    A `TextRunner` of kind "encoder" (backends, devices and dtypes are its), plus an
    identity for the weights and a cache of embeddings by text.
    """

    def __init__(
        self,
        encoder: str,
        *,
        batch_size: int = 32,
        max_length: int = 256,
        threads: int | None = None,
        cache_size: int = 0,
        backend: str | None = None,
        device: str = "cpu",
        dtype: str = "float32",
        runner: TextRunner | None = None,
        cache: EmbeddingCache | None = None,
    ) -> None:
        """Load the encoder, or with `runner` (and `cache`) use one already loaded: monitors
        sharing an encoder each get their own `SentenceEncoder` over one runner and one
        cache (`monitor.models.shared`), keeping their own batch size and length."""
        self.path = resolve_encoder_path(encoder) if runner is None else runner.path
        self.fingerprint = directory_identity(self.path)
        name = encoder if encoder.startswith("package:") else self.path.name
        # the backend is not part of the identity: a head fitted under one scores under all
        self.identity = f"{name}@{self.fingerprint}"
        self.runner = runner or TextRunner(
            self.path,
            self.identity,
            kind="encoder",
            batch_size=batch_size,
            max_length=max_length,
            threads=threads,
            backend=backend,
            device=device,
            dtype=dtype,
        )
        self.hidden_size = int(self.runner.config.hidden_size)
        self.max_length = min(max_length, self.runner.positions)
        self._batch_size = batch_size
        self.cache = cache or EmbeddingCache(cache_size, namespace=self.cache_namespace)

    @property
    def cache_namespace(self) -> str:
        """What makes two encoders' embeddings of one text the same bits."""
        runner = self.runner
        return (
            f"{self.identity}|{self.backend}|{self.runtime}|{runner.device}|{runner.dtype}"
            f"|{self.max_length}"
        )

    @classmethod
    def from_config(
        cls, config: EmbeddingHeadModelConfig, *, cache_size: int | None = None
    ) -> SentenceEncoder:
        """The encoder an `embedding-head` model config describes, loaded privately
        (`monitor.models.shared.shared_encoder` shares it between monitors instead)."""
        return cls(
            config.encoder,
            batch_size=config.batch_size,
            max_length=config.max_length,
            threads=config.threads,
            cache_size=config.cache_size if cache_size is None else cache_size,
            backend=config.backend,
            device=config.device,
            dtype=config.dtype,
        )

    @property
    def backend(self) -> str:
        return self.runner.backend

    @property
    def runtime(self) -> str:
        return self.runner.runtime

    @property
    def approximation(self) -> dict[str, float]:
        return self.runner.approximation

    @property
    def batch_size(self) -> int:
        return self._batch_size

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.runner.run(texts, batch_size=self._batch_size, max_length=self.max_length)[0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text, in order; each distinct text is computed once.

        A text repeated within the call, or found in the cache, takes the vector computed
        for it before, so every copy of a text gets the same bits.
        """
        texts = list(texts)
        embeddings = np.empty((len(texts), self.hidden_size), dtype=np.float32)
        caching = self.cache.capacity > 0
        pending: dict[str, list[int]] = {}
        keys: dict[str, bytes] = {}
        for row, text in enumerate(texts):
            if text in pending:
                pending[text].append(row)
                continue
            if caching:
                key = self.cache.key(text)
                cached = self.cache.get(key)
                if cached is not None:
                    embeddings[row] = cached
                    continue
                keys[text] = key
            pending[text] = [row]
        if pending:
            unique = list(pending)
            for text, vector in zip(unique, self._embed(unique), strict=True):
                embeddings[pending[text]] = vector
                if caching:
                    self.cache.put(keys[text], vector.copy())  # a copy: not a view of the batch
        return embeddings
