"""What a model is: `score(inputs) -> Scores`, with class names and a version."""

from __future__ import annotations

import functools
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeAlias

import numpy as np
import pandas as pd

from monitor.errors import DriftwardenError, ModelError
from monitor.records.scores import Scores

ModelInputs: TypeAlias = Sequence[str] | pd.DataFrame


class TextEncoder(Protocol):
    """A foundation model's embedding of texts, as a retrain needs it (one vector per text)."""

    identity: str

    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class Model(ABC):
    """A deployed classifier. Public `score` wraps `_score` and translates foreign errors.

    A model with `versioned = True` has versions stored beside its config (retrained heads);
    `at_version` loads one as a new model, leaving this one as it is.
    """

    #: what the model reads: "text" (a list of strings) or "features" (a DataFrame)
    reads: str = "text"
    versioned: ClassVar[bool] = False
    class_names: tuple[str, ...]
    #: identifies the exact weights that scored a run (stored with every run)
    version: str
    #: a short name for `model_info{model=...}`
    name: str

    def score(self, inputs: ModelInputs) -> Scores:
        version = self.version
        if len(inputs) == 0:
            return Scores(np.zeros(0, dtype=int), self.class_names, version=version)
        try:
            scores = self._score(inputs)
        except DriftwardenError:
            raise
        except Exception as exc:  # any library error becomes one clear ModelError
            raise ModelError(
                f"model {self.name} failed to score {len(inputs)} rows: {type(exc).__name__}: {exc}"
            ) from exc
        if len(scores) != len(inputs):
            raise ModelError(
                f"model {self.name} returned {len(scores)} predictions for {len(inputs)} rows"
            )
        if scores.version is None:
            scores.version = version
        return scores

    @abstractmethod
    def _score(self, inputs: ModelInputs) -> Scores: ...

    def at_version(self, version: str, folder: Path, digest: str | None = None) -> Model:
        """This model with the weights of a stored `version` (kept in `folder`, whose files
        must hash to `digest` when it is given)."""
        raise ModelError(f"model {self.name} has no stored versions (asked for {version})")

    def text_encoder(self) -> TextEncoder | None:
        """The encoder whose embeddings the model classifies, when it has one."""
        return None

    def training_members(self, inputs: ModelInputs) -> np.ndarray | None:
        """True for each input the model was trained on, where it knows (None: it does not).
        Quality estimation calibrates training rows apart: a model is surest on those."""
        return None

    def head_refitter(self) -> Callable[[np.ndarray, np.ndarray], Any] | None:
        """Fits a fresh classifier of this model's kind on (embeddings, class ids), where the
        model is an embedding head (quality estimation cross-fits such heads)."""
        return None

    def class_id(self, label: object) -> int | None:
        """A target value as a class id: strings are class names; numbers are class ids,
        unless every class name is an integer's text (labels 1 and 2 name classes "1" and
        "2"), where a number is the name it reads as."""
        if isinstance(label, bool):
            return None
        if isinstance(label, float | np.floating):
            if np.isnan(label) or not float(label).is_integer():
                return None
            return self.class_id(int(label))
        named = _integer_named(self.class_names)
        if isinstance(label, int | np.integer):
            if named is not None:
                return named.get(int(label))
            return int(label) if 0 <= int(label) < len(self.class_names) else None
        if isinstance(label, str):
            try:
                return self.class_names.index(label)
            except ValueError:
                stripped = label.strip()
                if _INTEGER.match(stripped):
                    return self.class_id(int(stripped))
                return None
        return None


_INTEGER = re.compile(r"^[+-]?\d+$")


@functools.lru_cache(maxsize=64)
def _integer_named(class_names: tuple[str, ...]) -> dict[int, int] | None:
    """{integer: class id} when every class name is an integer's own text ("1", "-1"),
    else None (then numbers are class ids)."""
    named: dict[int, int] = {}
    for class_id, name in enumerate(class_names):
        if not _INTEGER.match(name) or str(int(name)) != name:
            return None
        named[int(name)] = class_id
    return named
