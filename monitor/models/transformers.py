"""A local transformers sequence-classification directory as a driftwarden model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from monitor.errors import ModelError
from monitor.models.base import Model, ModelInputs
from monitor.models.encoder import directory_identity
from monitor.models.shared import shared_runner
from monitor.models.specs import TransformersModelConfig
from monitor.records.scores import Scores


def _check_classifier(path: Path) -> None:
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelError(f"{path} is not a transformers model directory (no config.json)")
    config = json.loads(config_file.read_text())
    architectures = config.get("architectures") or []
    if not any(a.endswith("ForSequenceClassification") for a in architectures):
        raise ModelError(
            f"{path} is not a sequence classifier (architectures: "
            f"{', '.join(architectures) or 'none'}); use an embedding-head model for an encoder"
        )


class TransformersModel(Model):
    """Class ids and names (`id2label`), softmax probabilities, mean-pooled last hidden state.

    Runs like the FM: length-sorted batches, ONNX Runtime in fp32 by default (checked
    against torch at load), `torch` or `int8` on request, a GPU or half precision with
    `device` and `dtype`. Monitors naming the same directory (under the same backend,
    device and dtype) share one loaded runner (`monitor.models.shared`).
    """

    def __init__(self, config: TransformersModelConfig) -> None:
        _check_classifier(config.path)
        self.version = f"{config.path.name}@{directory_identity(config.path)}"
        self.name = config.path.name
        self.runner = shared_runner("classifier", config.path, self.version, config)
        self.batch_size = config.batch_size
        self.max_length = config.max_length
        id2label = self.runner.config.id2label
        self.class_names = tuple(str(id2label[i]) for i in range(len(id2label)))

    def _run(self, texts: Sequence[str]) -> list[np.ndarray]:
        return self.runner.run(texts, batch_size=self.batch_size, max_length=self.max_length)

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        return self._run(texts)[0]

    def _score(self, inputs: ModelInputs) -> Scores:
        logits, embeddings = self._run(list(inputs))
        # the softmax the plain model's logits would get, in float32
        probabilities = torch.softmax(torch.from_numpy(logits), dim=-1).numpy()
        return Scores(
            predicted_ids=logits.argmax(axis=1),
            class_names=self.class_names,
            probabilities=probabilities,
            embeddings=embeddings,
        )
