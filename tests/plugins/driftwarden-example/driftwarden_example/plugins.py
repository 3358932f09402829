"""The example plugins themselves: imported only when a monitor or hook is built."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
import pandas as pd

from driftwarden_example.specs import AppendFileConfig, KeywordConfig, TextLinesConfig
from monitor.hooks.base import AttemptResult, Hook, HookContext
from monitor.models.base import Model, ModelInputs, Scores
from monitor.sources.base import SourceContext
from monitor.sources.tabular import FILE, LINE, TabularSource


class TextLines(TabularSource):
    """Windows cut as from files (the watermark is the line); the file is re-read each time."""

    def __init__(self, config: TextLinesConfig, context: SourceContext) -> None:
        super().__init__(context, config.timestamp_column)
        self.config = config

    def _frame(self) -> pd.DataFrame:
        lines = self.config.path.read_text().splitlines() if self.config.path.is_file() else []
        columns = self.context.columns
        texts, labels = [], []
        for line in lines:
            text, _, label = line.partition("\t")
            texts.append(text)
            labels.append(label or None)
        frame = pd.DataFrame({columns.text or "text": texts})
        if columns.target is not None:
            frame[columns.target] = labels
        return frame.assign(**{FILE: self.config.path.name, LINE: range(1, len(lines) + 1)})


class KeywordModel(Model):
    reads = "text"
    class_names = ("negative", "positive")
    name = "keyword"

    def __init__(self, config: KeywordConfig) -> None:
        self.words = [word.lower() for word in config.positive]
        self.version = "keyword-" + hashlib.sha256(" ".join(self.words).encode()).hexdigest()[:8]

    def _score(self, inputs: ModelInputs) -> Scores:
        hits = np.array([any(w in str(text).lower() for w in self.words) for text in inputs])
        positive = np.where(hits, 0.8, 0.3)
        probabilities = np.column_stack([1 - positive, positive])
        return Scores(probabilities.argmax(axis=1), self.class_names, probabilities)


class AppendFile(Hook):
    config: AppendFileConfig

    def __init__(self, name: str, config: AppendFileConfig, context: HookContext) -> None:
        super().__init__(name, config, context)

    def deliver(self, event: dict[str, Any]) -> AttemptResult:
        with self.config.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps(event, sort_keys=True) + "\n")
        return AttemptResult(True, detail=f"appended to {self.config.path.name}")
