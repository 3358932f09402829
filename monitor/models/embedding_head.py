"""A foundation-model encoder plus a scikit-learn classifier head fitted on its embeddings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression

from monitor.errors import ModelError
from monitor.models.base import Model, ModelInputs, TextEncoder
from monitor.models.encoder import SentenceEncoder
from monitor.models.head_files import (
    ARRAYS_FILE,
    META_FILE,
    check_digest,
    load_classifier,
    save_classifier,
)
from monitor.models.shared import shared_encoder
from monitor.models.specs import EmbeddingHeadModelConfig
from monitor.records.scores import Scores

#: hashes of the texts the head was fitted on (quality estimation tells those rows apart)
MEMBERS_FILE = "head.members.npy"


def text_hashes(texts: Sequence[str]) -> np.ndarray:
    """A 64-bit hash of each text (the first 8 bytes of its SHA-256)."""
    return np.array(
        [int.from_bytes(hashlib.sha256(t.encode()).digest()[:8], "little") for t in texts],
        dtype=np.uint64,
    )


@dataclass
class Head:
    """A fitted classifier, its label names and the encoder it was fitted on."""

    classifier: Any
    labels: tuple[str, ...]
    encoder: str
    version: str
    created_at: str
    metrics: dict[str, float]
    #: sorted hashes of the training texts (None: a head saved before they were kept)
    members: np.ndarray | None = None

    def is_member(self, texts: Sequence[str]) -> np.ndarray | None:
        """True for each text the head was fitted on (None: the head does not know)."""
        if self.members is None:
            return None
        return np.isin(text_hashes(texts), self.members)

    def save(self, folder: Path) -> None:
        """Arrays plus JSON (`monitor.models.head_files`): nothing that runs when loaded; the
        training texts' hashes beside them (a plain array)."""
        folder.mkdir(parents=True, exist_ok=True)
        if self.members is not None:
            np.save(folder / MEMBERS_FILE, self.members)
        meta = {
            "labels": list(self.labels),
            "encoder": self.encoder,
            "version": self.version,
            "created_at": self.created_at,
            "metrics": self.metrics,
        }
        save_classifier(folder, self.classifier, meta)

    @classmethod
    def load(cls, folder: Path, *, allow_pickle: bool = False) -> Head:
        """The head in `folder`; a pickled one only with `allow_pickle` (see head_files)."""
        try:
            meta = json.loads((folder / META_FILE).read_text())
        except FileNotFoundError:
            raise ModelError(
                f"{folder} holds no head (expected {ARRAYS_FILE} and {META_FILE}; "
                "make one with `driftwarden model fit-head`)"
            ) from None
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot read {folder / META_FILE}: {exc}") from None
        classifier = load_classifier(folder, allow_pickle=allow_pickle)
        members_file = folder / MEMBERS_FILE
        try:
            members = np.load(members_file) if members_file.is_file() else None
        except (OSError, ValueError) as exc:  # never a pickle: np.load refuses object arrays
            raise ModelError(f"cannot read {members_file}: {exc}") from None
        try:
            return cls(
                classifier,
                tuple(str(label) for label in meta["labels"]),
                str(meta["encoder"]),
                str(meta["version"]),
                str(meta["created_at"]),
                dict(meta.get("metrics", {})),
                members,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"{folder / META_FILE} is not a head's description: {exc}") from None


def fit_head(
    encoder: TextEncoder,
    texts: list[str],
    labels: list[str],
    *,
    seed: int = 0,
    c: float = 1.0,
    metrics: dict[str, float] | None = None,
) -> Head:
    """Fit a logistic-regression head on the encoder's embeddings of `texts`."""
    names = tuple(sorted({str(label) for label in labels}))
    if len(names) < 2:
        raise ModelError(f"a head needs at least two classes; the data has {list(names)}")
    embeddings = encoder.encode(texts)
    targets = np.array([names.index(str(label)) for label in labels])
    classifier = LogisticRegression(C=c, max_iter=2000, random_state=seed)
    classifier.fit(embeddings, targets)
    digest = hashlib.sha256(classifier.coef_.tobytes() + classifier.intercept_.tobytes())
    return Head(
        classifier,
        names,
        encoder.identity,
        f"head-{digest.hexdigest()[:12]}",
        datetime.now(UTC).isoformat(timespec="seconds"),
        metrics or {},
        np.unique(text_hashes(texts)),
    )


def holds_encoder(folder: Path) -> bool:
    """Whether a version folder carries its own (fine-tuned) encoder beside the head."""
    return (folder / "config.json").is_file()


def version_encoder(config: EmbeddingHeadModelConfig, folder: Path) -> SentenceEncoder:
    """A fine-tuned version's own encoder (`retrain-fm`): safetensors only, run by torch
    (the weights it was tuned in); its embeddings are cached under its own identity."""
    if any(folder.glob("*.bin")) or any(folder.glob("*.pt")):
        raise ModelError(f"{folder} holds pickled weights; a version loads safetensors only")
    return SentenceEncoder(
        str(folder),
        batch_size=config.batch_size,
        max_length=config.max_length,
        threads=config.threads,
        cache_size=config.cache_size,
        backend="torch",
        device=config.device,
    )


class EmbeddingHeadModel(Model):
    """Scores texts with the head; the FM's embedding of each text goes to embedding drift.

    Its versions are heads fitted on the same encoder: `at_version` gives a model that
    shares this one's encoder (and its cache) with another head; or, from `retrain-fm`,
    a fine-tuned encoder with its head, loaded from the version's folder. Monitors naming the same
    encoder share its loaded weights and cache (`monitor.models.shared`).
    """

    versioned = True

    def __init__(
        self,
        config: EmbeddingHeadModelConfig,
        encoder: SentenceEncoder | None = None,
        head: Head | None = None,
        base: SentenceEncoder | None = None,
    ) -> None:
        self.config = config
        self.encoder = encoder or shared_encoder(config)
        #: the configured encoder, which head-only versions share (a fine-tuned one has its own)
        self._base_encoder = base or self.encoder
        head = head or Head.load(config.head, allow_pickle=config.allow_pickle)
        if head.encoder != self.encoder.identity:
            raise ModelError(
                f"head {head.version} was fitted on encoder {head.encoder}, "
                f"not on {self.encoder.identity}; refit it with `model fit-head`"
            )
        self.head = head
        self.class_names = head.labels
        self.version = head.version
        self.name = self.encoder.identity.split("@")[0]

    def at_version(
        self, version: str, folder: Path, digest: str | None = None
    ) -> EmbeddingHeadModel:
        """The head `version` kept in `folder` (a folder named by the store), its files
        checked against `digest`, the hash recorded when it was promoted. A pickle loads
        only from the configured head folder, and only with `allow_pickle`."""
        check_digest(folder, digest, version)
        configured = folder.resolve() == Path(self.config.head).resolve()
        head = Head.load(folder, allow_pickle=self.config.allow_pickle and configured)
        if head.version != version:
            raise ModelError(f"{folder} holds head {head.version}, not version {version}")
        encoder = self._base_encoder
        if holds_encoder(folder):
            encoder = version_encoder(self.config, folder)
        return EmbeddingHeadModel(self.config, encoder=encoder, head=head, base=self._base_encoder)

    def text_encoder(self) -> SentenceEncoder:
        return self.encoder

    def training_members(self, inputs: ModelInputs) -> np.ndarray | None:
        return self.head.is_member([str(text) for text in inputs])

    def head_refitter(self) -> Callable[[np.ndarray, np.ndarray], Any]:
        classifier = self.head.classifier
        return lambda embeddings, ids: clone(classifier).fit(embeddings, ids)

    def _score(self, inputs: ModelInputs) -> Scores:
        embeddings = self.encoder.encode(list(inputs))
        probabilities = self.head.classifier.predict_proba(embeddings)
        return Scores(
            probabilities.argmax(axis=1),
            self.head.labels,
            probabilities,
            embeddings,
            self.head.version,
        )


def fine_tuned_model(
    config: EmbeddingHeadModelConfig, version: str, folder: Path, digest: str | None
) -> EmbeddingHeadModel:
    """A `retrain-fm` version on its own (its files checked against `digest`), to score a
    shadow candidate without touching the monitor's live model."""
    if not holds_encoder(folder):
        raise ModelError(f"{folder} holds no fine-tuned encoder")
    check_digest(folder, digest, version)
    head = Head.load(folder)
    if head.version != version:
        raise ModelError(f"{folder} holds head {head.version}, not version {version}")
    return EmbeddingHeadModel(config, encoder=version_encoder(config, folder), head=head)
