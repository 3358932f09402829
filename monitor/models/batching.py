"""Batched inference in input order: length-sorted dynamic padding, and mean pooling."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from contextlib import AbstractContextManager
from typing import Any

import numpy as np
import torch


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    # summed in float32 whatever the model's dtype: 256 float16 states can overflow
    hidden = hidden.float()
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _as_numpy(output: Any) -> np.ndarray:
    if isinstance(output, torch.Tensor):
        return output.detach().float().cpu().numpy()
    return np.asarray(output, dtype=np.float32)


def run_length_sorted(
    tokenizer: Any,
    texts: Sequence[str],
    batch_size: int,
    max_length: int,
    forward: Callable[[dict[str, Any]], Sequence[Any]],
    *,
    tensors: str = "pt",
    workers: Executor | None = None,
    tokenizing: AbstractContextManager[object] | None = None,
) -> list[np.ndarray]:
    """Tokenize once, batch texts of similar length, run `forward`, return rows in input order.

    Sorting by token count means each batch is padded only to its own longest text, which
    is where most of the CPU time of in-order batching goes. `tensors` is what `forward`
    takes: "pt" (torch, run under `inference_mode`) or "np" (ONNX Runtime). With `workers`,
    batches run concurrently, longest first so the last ones to finish are short.
    `tokenizing` (a lock) is held while the tokenizer runs: a fast tokenizer sets its
    truncation state on every call and refuses ("Already borrowed") a second thread meanwhile.
    """
    guard = tokenizing if tokenizing is not None else contextlib.nullcontext()
    with guard:
        encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    ids: list[list[int]] = encoded["input_ids"]
    order = np.argsort([len(row) for row in ids], kind="stable")
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if workers is not None:
        batches.reverse()

    def padded(rows: np.ndarray) -> dict[str, Any]:
        features = {key: [encoded[key][i] for i in rows] for key in encoded}
        with guard:
            return dict(tokenizer.pad(features, return_tensors=tensors))

    outputs: list[np.ndarray] = []
    no_autograd = torch.inference_mode() if tensors == "pt" else contextlib.nullcontext()
    with no_autograd:
        inputs = (padded(rows) for rows in batches)
        results = workers.map(forward, inputs) if workers is not None else map(forward, inputs)
        for rows, batch_outputs in zip(batches, results, strict=True):
            arrays = [_as_numpy(output) for output in batch_outputs]
            if not outputs:
                outputs = [np.empty((len(order), *a.shape[1:]), dtype=a.dtype) for a in arrays]
            for output, array in zip(outputs, arrays, strict=True):
                output[rows] = array
    return outputs
