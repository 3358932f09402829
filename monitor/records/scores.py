"""A window's model outputs, as the metrics and the store read them (`Model.score` makes them)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class Scores:
    """One window's model outputs, row-aligned with its inputs."""

    predicted_ids: np.ndarray
    class_names: tuple[str, ...]
    probabilities: np.ndarray | None = None
    embeddings: np.ndarray | None = None
    #: the model version that produced these scores (a head can be swapped between windows)
    version: str | None = None

    @property
    def predicted_names(self) -> list[str]:
        return [self.class_names[i] for i in self.predicted_ids]

    @property
    def confidence(self) -> np.ndarray | None:
        """The top-class probability of each row."""
        return None if self.probabilities is None else self.probabilities.max(axis=1)

    def __len__(self) -> int:
        return len(self.predicted_ids)
