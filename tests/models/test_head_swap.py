"""A head promoted while a window is scored: the window keeps one head and says which."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from monitor.config import EmbeddingHeadModelConfig
from monitor.cycle import _concat
from monitor.errors import ModelError
from monitor.models.base import Scores
from monitor.models.embedding_head import EmbeddingHeadModel, Head, fit_head
from monitor.models.encoder import SentenceEncoder


@pytest.fixture(scope="module")
def heads(
    tiny_bert: Path, amazon_split: tuple[pd.DataFrame, pd.DataFrame]
) -> tuple[SentenceEncoder, Head, Head]:
    encoder = SentenceEncoder(str(tiny_bert), backend="torch", max_length=128, cache_size=1000)
    reference = amazon_split[0].iloc[:200]
    texts = reference["text"].tolist()
    labels = reference["label"].astype(str).tolist()
    flipped = ["1" if label == "0" else "0" for label in labels]
    return encoder, fit_head(encoder, texts, labels), fit_head(encoder, texts, flipped)


def test_a_head_promoted_mid_window_neither_scores_nor_labels_it(
    heads: tuple[SentenceEncoder, Head, Head], amazon_split, tmp_path: Path
) -> None:
    encoder, live, candidate = heads
    assert live.version != candidate.version
    live.save(tmp_path / "live")
    model = EmbeddingHeadModel(
        EmbeddingHeadModelConfig(type="embedding-head", head=tmp_path / "live"), encoder=encoder
    )
    encode = encoder.encode

    def encode_then_promote(texts: list[str]) -> np.ndarray:
        vectors = encode(texts)
        model.use_head(candidate)  # what the retrain hook's thread does
        return vectors

    encoder.encode = encode_then_promote  # type: ignore[method-assign]
    try:
        texts = amazon_split[1]["text"].iloc[:60].tolist()
        scores = model.score(texts)
    finally:
        encoder.encode = encode  # type: ignore[method-assign]
    assert model.version == candidate.version  # the promotion happened
    assert scores.version == live.version  # ...after the window took its head
    assert scores.embeddings is not None and scores.probabilities is not None
    expected = live.classifier.predict_proba(scores.embeddings)
    np.testing.assert_array_equal(scores.probabilities, expected)
    assert not np.allclose(
        scores.probabilities, candidate.classifier.predict_proba(scores.embeddings)
    )
    assert model.score(texts).version == candidate.version


def test_rows_isolated_under_two_versions_are_not_joined() -> None:
    def part(version: str) -> Scores:
        return Scores(np.array([0, 1]), ("neg", "pos"), version=version)

    joined = _concat([part("head-a"), part("head-a")], [2, 0, 3, 1], 4)
    assert joined.version == "head-a" and joined.predicted_ids.tolist() == [1, 1, 0, 0]
    with pytest.raises(ModelError, match=r"model changed while this window was scored"):
        _concat([part("head-a"), part("head-b")], [0, 1, 2, 3], 4)
