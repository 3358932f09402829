"""Monitors with one model identity share one loaded model, safely from many threads."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from monitor.models.embedding_head import EmbeddingHeadModel, Head, fit_head
from monitor.models.encoder import SentenceEncoder
from monitor.models.shared import LoadedModels, ModelIdentity, shared_encoder
from monitor.models.specs import EmbeddingHeadModelConfig, TransformersModelConfig
from monitor.models.transformers import TransformersModel


@pytest.fixture
def models(monkeypatch: pytest.MonkeyPatch) -> LoadedModels:
    """A fresh registry, so each test sees its own loads."""
    fresh = LoadedModels()
    monkeypatch.setattr("monitor.models.shared.LOADED_MODELS", fresh)
    return fresh


def _texts(amazon_split, start: int, count: int) -> list[str]:
    return amazon_split[1]["text"].iloc[start : start + count].astype(str).tolist()


@pytest.fixture(scope="module")
def two_heads(tiny_bert: Path, amazon_split, tmp_path_factory) -> list[Path]:
    """Two heads fitted on the tiny BERT's embeddings of different rows."""
    encoder = SentenceEncoder(str(tiny_bert), max_length=128)
    reference = amazon_split[0]
    folders = []
    for i, rows in enumerate((slice(0, 200), slice(200, 400))):
        texts = reference["text"].iloc[rows].astype(str).tolist()
        labels = reference["label"].iloc[rows].astype(str).tolist()
        head = fit_head(encoder, texts, labels, c=0.5 + i)
        folder = tmp_path_factory.mktemp(f"head{i}")
        head.save(folder)
        folders.append(folder)
    return folders


def _head_config(tiny_bert: Path, head: Path, **extra: object) -> EmbeddingHeadModelConfig:
    return EmbeddingHeadModelConfig.model_validate(
        {"type": "embedding-head", "encoder": str(tiny_bert), "head": head, "max_length": 128}
        | extra
    )


def test_monitors_of_one_encoder_share_its_weights_and_cache_but_keep_their_heads(
    models: LoadedModels, tiny_bert: Path, two_heads: list[Path], amazon_split
) -> None:
    first = EmbeddingHeadModel(_head_config(tiny_bert, two_heads[0]))
    second = EmbeddingHeadModel(_head_config(tiny_bert, two_heads[1], batch_size=4))
    assert len(models) == 1
    assert first.encoder.runner is second.encoder.runner
    assert first.encoder.cache is second.encoder.cache
    assert first.encoder.batch_size == 32 and second.encoder.batch_size == 4
    assert first.version != second.version  # each its own head
    texts = _texts(amazon_split, 0, 30)
    alone = SentenceEncoder(str(tiny_bert), max_length=128).encode(texts)
    assert np.abs(first.score(texts).embeddings - alone).max() <= 1e-5
    # the second monitor finds every text in the shared cache, with the same bits
    assert np.array_equal(second.score(texts).embeddings, first.score(texts).embeddings)
    assert Head.load(two_heads[1]).version == second.version


def test_another_backend_or_length_is_another_model_or_cache(
    models: LoadedModels, tiny_bert: Path, two_heads: list[Path]
) -> None:
    onnx = EmbeddingHeadModel(_head_config(tiny_bert, two_heads[0]))
    torch = EmbeddingHeadModel(_head_config(tiny_bert, two_heads[0], backend="torch"))
    shorter = EmbeddingHeadModel(_head_config(tiny_bert, two_heads[0], max_length=64))
    assert len(models) == 2 and onnx.encoder.runner is not torch.encoder.runner
    assert shorter.encoder.runner is onnx.encoder.runner
    assert shorter.encoder.cache is not onnx.encoder.cache  # truncation changes the vectors


def test_the_shared_cache_holds_what_the_largest_monitor_asked_for(
    models: LoadedModels, tiny_bert: Path, two_heads: list[Path]
) -> None:
    small = shared_encoder(_head_config(tiny_bert, two_heads[0], cache_size=10), models)
    large = shared_encoder(_head_config(tiny_bert, two_heads[0], cache_size=500), models)
    assert small.cache is large.cache and small.cache.capacity == 500


def test_concurrent_loads_of_one_identity_load_it_once(tmp_path: Path) -> None:
    models = LoadedModels()
    identity = ModelIdentity("encoder", str(tmp_path), "onnx", "cpu", "float32")
    loads: list[int] = []
    gate = threading.Barrier(8)

    def load() -> object:
        loads.append(1)
        return object()

    found: list[object] = []

    def ask() -> None:
        gate.wait()
        found.append(models.runner(identity, load))  # type: ignore[arg-type]

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len({id(runner) for runner in found}) == 1


@pytest.mark.parametrize("backend", ["onnx", "torch"])
def test_a_shared_model_scores_from_many_threads_as_it_does_alone(
    models: LoadedModels, tiny_bert: Path, amazon_split, backend: str
) -> None:
    """Eight threads score different windows through one runner at once, at two lengths:
    each gets what scoring its window alone gives (a fast tokenizer shared unguarded
    raises "Already borrowed" when another thread changes its truncation)."""
    shared = [
        TransformersModel(
            TransformersModelConfig(
                type="transformers",
                path=tiny_bert,
                backend=backend,
                batch_size=4,
                max_length=16 if i % 2 else 128,
            )
        )
        for i in range(8)
    ]
    assert len(models) == 1
    windows = [_texts(amazon_split, 40 * i, 40) for i in range(8)]
    expected = [model.logits(texts) for model, texts in zip(shared, windows, strict=True)]
    found: dict[int, np.ndarray] = {}
    errors: list[BaseException] = []
    gate = threading.Barrier(len(windows))

    def score(i: int) -> None:
        gate.wait()
        try:
            for _ in range(3):
                found[i] = shared[i].logits(windows[i])
        except BaseException as exc:  # reported below with the thread's window
            errors.append(exc)

    threads = [threading.Thread(target=score, args=(i,)) for i in range(len(windows))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    for i in range(len(windows)):
        assert np.array_equal(found[i], expected[i])
