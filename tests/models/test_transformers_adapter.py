"""The transformers adapter on a tiny real BERT: ids, names, probabilities, pooled embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer, BertConfig, BertModel

from monitor.errors import ModelError
from monitor.models.specs import TransformersModelConfig
from monitor.models.transformers import TransformersModel


@pytest.fixture(scope="module")
def adapter(tiny_bert: Path) -> TransformersModel:
    return TransformersModel(
        TransformersModelConfig(type="transformers", path=tiny_bert, batch_size=8)
    )


def test_matches_the_model_run_plainly(
    adapter: TransformersModel, tiny_bert: Path, amazon_split
) -> None:
    texts = amazon_split[1]["text"].iloc[:40].tolist()
    scores = adapter.score(texts)
    tokenizer = AutoTokenizer.from_pretrained(tiny_bert)
    model = AutoModelForSequenceClassification.from_pretrained(tiny_bert).eval()
    with torch.inference_mode():
        for i, text in enumerate(texts):  # one at a time, no padding at all
            encoded = tokenizer(text, truncation=True, max_length=128, return_tensors="pt")
            output = model(**encoded, output_hidden_states=True)
            probabilities = torch.softmax(output.logits, -1)[0].numpy()
            pooled = output.hidden_states[-1][0].mean(0).numpy()
            assert scores.predicted_ids[i] == int(output.logits.argmax())
            np.testing.assert_allclose(scores.probabilities[i], probabilities, atol=1e-5)
            np.testing.assert_allclose(scores.embeddings[i], pooled, atol=1e-4)


def test_names_from_id2label_and_probabilities(adapter: TransformersModel) -> None:
    scores = adapter.score(["great phone", "broke after a day", "meh"])
    assert adapter.class_names == ("negative", "positive")
    assert scores.embeddings is not None and scores.embeddings.shape == (3, 64)
    assert scores.probabilities is not None
    np.testing.assert_allclose(scores.probabilities.sum(axis=1), 1.0, rtol=1e-6)
    assert scores.predicted_names == [adapter.class_names[i] for i in scores.predicted_ids]
    assert adapter.class_id("positive") == 1 and adapter.class_id(0) == 0
    assert adapter.class_id("neutral") is None and adapter.class_id(7) is None


def test_a_plain_encoder_directory_is_refused(tmp_path: Path) -> None:
    config = BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=1,
        intermediate_size=16,
    )
    BertModel(config).save_pretrained(tmp_path)
    with pytest.raises(ModelError, match=r"not a sequence classifier"):
        TransformersModel(TransformersModelConfig(type="transformers", path=tmp_path))
    assert json.loads((tmp_path / "config.json").read_text())["architectures"] == ["BertModel"]


def test_a_folder_without_a_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match=r"no config\.json"):
        TransformersModel(TransformersModelConfig(type="transformers", path=tmp_path))


def test_bfloat16_weights_stay_close_and_return_float32(
    adapter: TransformersModel, tiny_bert: Path, amazon_split
) -> None:
    texts = amazon_split[1]["text"].iloc[:40].tolist()
    half = TransformersModel(
        TransformersModelConfig(type="transformers", path=tiny_bert, dtype="bfloat16")
    )
    found, plain = half.score(texts), adapter.score(texts)
    assert found.probabilities is not None and plain.probabilities is not None
    assert found.probabilities.dtype == np.float32
    np.testing.assert_allclose(found.probabilities.sum(axis=1), 1.0, rtol=1e-6)
    difference = np.abs(found.probabilities - plain.probabilities).max()
    assert 0 < difference < 0.05


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_cuda_float32_scores_as_the_cpu(adapter: TransformersModel, tiny_bert: Path) -> None:
    texts = ["great phone", "broke after a day", "meh", "the screen is sharp and bright"]
    gpu = TransformersModel(
        TransformersModelConfig(type="transformers", path=tiny_bert, device="cuda")
    )
    found, plain = gpu.score(texts), adapter.score(texts)
    assert found.probabilities is not None and plain.probabilities is not None
    np.testing.assert_allclose(found.probabilities, plain.probabilities, atol=1e-5)
    assert np.array_equal(found.predicted_ids, plain.predicted_ids)


def test_onnx_is_the_default_and_scores_as_torch(
    adapter: TransformersModel, tiny_bert: Path, amazon_split
) -> None:
    texts = amazon_split[1]["text"].iloc[:40].tolist()
    plain = TransformersModel(
        TransformersModelConfig(type="transformers", path=tiny_bert, backend="torch")
    )
    assert adapter.runner.runtime == "onnxruntime" and plain.runner.runtime == "torch"
    found, expected = adapter.score(texts), plain.score(texts)
    assert found.probabilities is not None and expected.probabilities is not None
    assert found.embeddings is not None and expected.embeddings is not None
    assert np.array_equal(found.predicted_ids, expected.predicted_ids)
    assert np.abs(adapter.logits(texts) - plain.logits(texts)).max() <= 1e-4
    assert np.abs(found.embeddings - expected.embeddings).max() <= 1e-4


def test_int8_classifier_is_approximate_and_says_how_far(tiny_bert: Path, amazon_split) -> None:
    texts = amazon_split[1]["text"].iloc[:40].tolist()
    quantized = TransformersModel(
        TransformersModelConfig(type="transformers", path=tiny_bert, backend="int8")
    )
    assert quantized.runner.runtime == "onnxruntime"
    assert 0.9 < quantized.runner.approximation["min_cosine"] <= 1.0 + 1e-6
    scores = quantized.score(texts)
    assert scores.probabilities is not None
    np.testing.assert_allclose(scores.probabilities.sum(axis=1), 1.0, rtol=1e-6)
