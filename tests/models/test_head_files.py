"""Heads on disk cannot run code: arrays plus JSON, pickles only on an opt-in, hashes checked.

A real (tiny) encoder and real fitted heads; the attack is a real pickle that makes a folder
when it is loaded, named by a row written straight into the store.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import joblib
import numpy as np
import pytest

from monitor.cli import main
from monitor.errors import ModelError
from monitor.models.embedding_head import EmbeddingHeadModel, Head, fit_head
from monitor.models.encoder import SentenceEncoder
from monitor.models.head_files import folder_digest
from monitor.models.specs import EmbeddingHeadModelConfig
from monitor.store import open_store
from monitor.store.model_versions import add_version, set_live

NOW = datetime(2024, 3, 1, tzinfo=UTC)


class MakesAFolder:
    """Unpickling this runs `os.mkdir(marker)`: what a crafted head.joblib can do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.mkdir, (str(self.marker),)


@pytest.fixture(scope="module")
def encoder(tiny_bert: Path) -> SentenceEncoder:
    return SentenceEncoder(str(tiny_bert), backend="torch", max_length=64, cache_size=0)


@pytest.fixture(scope="module")
def head(encoder: SentenceEncoder, amazon_split) -> Head:
    reference = amazon_split[0].iloc[:120]
    return fit_head(encoder, reference["text"].tolist(), reference["label"].astype(str).tolist())


def pickled_head(folder: Path, head: Head, classifier: object) -> Path:
    """A head folder as `model fit-head` wrote it before arrays: head.json + head.joblib."""
    folder.mkdir(parents=True)
    meta = {"labels": list(head.labels), "encoder": head.encoder, "version": head.version}
    (folder / "head.json").write_text(json.dumps({**meta, "created_at": "2024", "metrics": {}}))
    joblib.dump(classifier, folder / "head.joblib")
    return folder


def test_a_saved_head_is_arrays_and_scores_exactly_as_fitted(
    head: Head, encoder: SentenceEncoder, amazon_split, tmp_path: Path
) -> None:
    head.save(tmp_path / "head")
    files = sorted(p.name for p in (tmp_path / "head").iterdir())
    assert files == ["head.json", "head.members.npy", "head.npz"]
    # the training texts' hashes, a plain array too
    members = np.load(tmp_path / "head" / "head.members.npy", allow_pickle=False)
    assert members.dtype == np.uint64 and len(members) > 0
    with np.load(tmp_path / "head" / "head.npz", allow_pickle=False) as arrays:
        assert {a: arrays[a].dtype.kind for a in arrays.files} == {
            "coef": "f",
            "intercept": "f",
            "classes": "i",
        }
    loaded = Head.load(tmp_path / "head")
    embeddings = encoder.encode(amazon_split[1]["text"].iloc[:50].tolist())
    assert np.array_equal(
        loaded.classifier.predict_proba(embeddings), head.classifier.predict_proba(embeddings)
    )
    assert (loaded.labels, loaded.version) == (head.labels, head.version)
    assert loaded.members is not None and np.array_equal(loaded.members, members)


def test_a_pickled_head_needs_the_opt_in_or_a_conversion(
    head: Head, encoder: SentenceEncoder, tmp_path: Path, capsys
) -> None:
    folder = pickled_head(tmp_path / "old", head, head.classifier)
    with pytest.raises(ModelError, match=r"driftwarden model convert-head .*allow_pickle: true"):
        Head.load(folder)
    config = EmbeddingHeadModelConfig(type="embedding-head", head=folder, allow_pickle=True)
    assert EmbeddingHeadModel(config, encoder=encoder).version == head.version

    assert main(["model", "convert-head", str(folder)]) == 0
    assert "head.joblib is no longer read" in capsys.readouterr().out
    converted = Head.load(folder)  # no opt-in needed now
    probe = np.random.default_rng(0).normal(size=(5, head.classifier.coef_.shape[1]))
    assert np.array_equal(
        converted.classifier.predict_proba(probe), head.classifier.predict_proba(probe)
    )


def test_a_store_row_cannot_make_the_daemon_load_a_pickle(
    head: Head, encoder: SentenceEncoder, tmp_path: Path
) -> None:
    """Whoever can write the database names a folder with a crafted head.joblib: nothing
    runs, even with `allow_pickle` (it covers the configured head only)."""
    configured = tmp_path / "head"
    head.save(configured)
    marker = tmp_path / "pwned"
    evil = pickled_head(tmp_path / "evil", head, MakesAFolder(marker))
    store = open_store(f"sqlite:///{tmp_path / 'dw.db'}")
    with store.transaction() as session:
        add_version(session, "m", head.version + "x", str(evil), "retrain", NOW)
        set_live(session, "m", head.version + "x", NOW)
    config = EmbeddingHeadModelConfig(type="embedding-head", head=configured, allow_pickle=True)
    model = EmbeddingHeadModel(config, encoder=encoder)
    with pytest.raises(ModelError, match="pickle"):
        model.at_version(head.version + "x", evil)
    assert not marker.exists()


def test_a_version_whose_files_changed_since_promotion_is_refused(
    head: Head, encoder: SentenceEncoder, tmp_path: Path
) -> None:
    folder = tmp_path / "v1"
    head.save(folder)
    digest = folder_digest(folder)
    config = EmbeddingHeadModelConfig(type="embedding-head", head=folder)
    model = EmbeddingHeadModel(config, encoder=encoder)
    assert model.at_version(head.version, folder, digest).version == head.version
    with np.load(folder / "head.npz") as arrays:
        tampered = {name: arrays[name] for name in arrays.files}
    tampered["coef"] = -tampered["coef"]  # a head that says the opposite
    np.savez(folder / "head.npz", **tampered)
    with pytest.raises(ModelError, match="no longer matches the hash recorded"):
        model.at_version(head.version, folder, digest)
