"""Numeric features derived from text that need nothing downloaded (no nltk data)."""

from __future__ import annotations

import numpy as np
import pandas as pd

TEXT_DESCRIPTORS = ("text_length", "word_count", "non_letter_share")


def text_descriptors(texts: pd.Series) -> pd.DataFrame:
    """Length in characters, word count, and the share of characters that are not letters."""
    texts = texts.astype(str)
    lengths = texts.str.len().to_numpy(dtype=float)
    letters = texts.str.count(r"[^\W\d_]").to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        non_letter = np.where(lengths > 0, (lengths - letters) / lengths, 0.0)
    return pd.DataFrame(
        {
            "text_length": lengths,
            "word_count": texts.str.split().str.len().fillna(0).to_numpy(dtype=float),
            "non_letter_share": non_letter,
        },
        index=texts.index,
    )
