"""Loaded models shared by identity across the monitors of one process.

A fleet monitors one model fifty ways (per tenant, language, segment): monitors whose
models have the same identity (the weights' directory, kind, backend, device and dtype)
share one `TextRunner` (the weights and their ONNX Runtime session) and, for encoders, one
embedding cache; each monitor keeps its own head, reference, metrics engine, batch size and
length. Memory and start-up then grow with the distinct models, not with the monitors.
A Dask worker process holds its own `LOADED_MODELS`, so it loads each model once too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.models.embedding_cache import EmbeddingCache

if TYPE_CHECKING:
    from monitor.models.encoder import SentenceEncoder
    from monitor.models.specs import EmbeddingHeadModelConfig, TextModelConfig
    from monitor.models.text_runner import TextRunner


@dataclass(frozen=True)
class ModelIdentity:
    """What makes two monitors' models one loaded model."""

    kind: str  # "encoder" or "classifier"
    path: str  # the weights' directory, resolved
    backend: str
    device: str
    dtype: str

    @classmethod
    def of(cls, kind: str, path: Path, config: TextModelConfig) -> ModelIdentity:
        return cls(kind, str(path.resolve()), config.backend, config.device, config.dtype)


class LoadedModels:
    """Runners and caches by identity; each is loaded once, however many threads ask."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runners: dict[ModelIdentity, TextRunner] = {}
        self._loading: dict[ModelIdentity, threading.Lock] = {}
        self._caches: dict[str, EmbeddingCache] = {}

    def runner(self, identity: ModelIdentity, load: Callable[[], TextRunner]) -> TextRunner:
        """The runner loaded for `identity`, loading it with `load` on first use.

        Monitors load in their own threads: a second one asking while the first loads
        waits for that load rather than loading a copy.
        """
        with self._lock:
            found = self._runners.get(identity)
            if found is not None:
                return found
            loading = self._loading.setdefault(identity, threading.Lock())
        with loading:
            with self._lock:
                found = self._runners.get(identity)
            if found is not None:
                return found
            runner = load()  # outside the registry's lock: other identities load meanwhile
            with self._lock:
                self._runners[identity] = runner
            return runner

    def cache(self, namespace: str, capacity: int) -> EmbeddingCache:
        """The one embedding cache of `namespace`, holding at least `capacity` entries."""
        with self._lock:
            cache = self._caches.get(namespace)
            if cache is None:
                cache = self._caches[namespace] = EmbeddingCache(capacity, namespace)
        cache.grow(capacity)
        return cache

    def __len__(self) -> int:
        """How many models are loaded."""
        with self._lock:
            return len(self._runners)

    def clear(self) -> None:
        """Forget every loaded model (monitors holding one keep it alive)."""
        with self._lock:
            self._runners.clear()
            self._loading.clear()
            self._caches.clear()


#: the process's loaded models
LOADED_MODELS = LoadedModels()


def shared_runner(
    kind: str,
    path: Path,
    identity: str,
    config: TextModelConfig,
    models: LoadedModels | None = None,
) -> TextRunner:
    """The process's runner for these weights under `config`'s backend, device and dtype."""
    from monitor.models.text_runner import TextRunner

    models = LOADED_MODELS if models is None else models

    def load() -> TextRunner:
        return TextRunner(
            path,
            identity,
            kind=kind,
            batch_size=config.batch_size,
            max_length=config.max_length,
            threads=config.threads,
            backend=config.backend,
            device=config.device,
            dtype=config.dtype,
        )

    return models.runner(ModelIdentity.of(kind, path, config), load)


def shared_encoder(
    config: EmbeddingHeadModelConfig, models: LoadedModels | None = None
) -> SentenceEncoder:
    """A monitor's encoder over the process's shared runner and cache for its weights."""
    models = LOADED_MODELS if models is None else models
    from monitor.models.encoder import SentenceEncoder, directory_identity, resolve_encoder_path

    path = resolve_encoder_path(config.encoder)
    name = config.encoder if config.encoder.startswith("package:") else path.name
    runner = shared_runner("encoder", path, f"{name}@{directory_identity(path)}", config, models)
    encoder = SentenceEncoder(
        config.encoder,
        batch_size=config.batch_size,
        max_length=config.max_length,
        runner=runner,
        cache=EmbeddingCache(0),  # replaced below by the shared one
    )
    encoder.cache = models.cache(encoder.cache_namespace, config.cache_size)
    return encoder
