"""A local transformers sequence-classification directory as a driftwarden model."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from monitor.config import TransformersModelConfig
from monitor.errors import ModelError
from monitor.models.base import Model, ModelInputs, Scores
from monitor.models.encoder import (
    directory_identity,
    mean_pool,
    on_device,
    run_length_sorted,
    torch_device,
    torch_dtype,
)


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
    """Class ids and names (`id2label`), softmax probabilities, mean-pooled last hidden state."""

    def __init__(self, config: TransformersModelConfig) -> None:
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        _check_classifier(config.path)
        self.device = torch_device(config.device)
        if config.threads:
            torch.set_num_threads(config.threads)
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(config.path)
            self.model = AutoModelForSequenceClassification.from_pretrained(config.path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load {config.path}: {exc}") from None
        self.model.eval()
        self.model.to(device=self.device, dtype=torch_dtype(config.dtype))
        id2label = self.model.config.id2label
        self.class_names = tuple(str(id2label[i]) for i in range(len(id2label)))
        self.version = f"{config.path.name}@{directory_identity(config.path)}"
        self.name = config.path.name
        self.batch_size = config.batch_size
        # never longer than the position table: longer inputs would crash, not truncate
        positions = getattr(self.model.config, "max_position_embeddings", config.max_length)
        self.max_length = min(config.max_length, positions)
        self.score(["warm-up"])

    def _forward(self, batch: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        batch = on_device(batch, self.device)
        output = self.model(**batch, output_hidden_states=True)
        probabilities = torch.softmax(output.logits.float(), dim=-1)
        pooled = mean_pool(output.hidden_states[-1], batch["attention_mask"])
        return [output.logits, probabilities, pooled]

    def logits(self, texts: Sequence[str]) -> np.ndarray:
        return run_length_sorted(
            self.tokenizer, texts, self.batch_size, self.max_length, self._forward
        )[0]

    def _score(self, inputs: ModelInputs) -> Scores:
        texts = list(inputs)
        logits, probabilities, embeddings = run_length_sorted(
            self.tokenizer, texts, self.batch_size, self.max_length, self._forward
        )
        return Scores(
            predicted_ids=logits.argmax(axis=1),
            class_names=self.class_names,
            probabilities=probabilities,
            embeddings=embeddings,
        )
