"""A transformers model's weights and what runs them: ONNX Runtime (checked against torch at
load), torch on a CPU or GPU in any dtype, or dynamically quantised int8."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import threading
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from monitor.errors import ModelError
from monitor.models.onnx_backend import (
    EXACT_TOLERANCE,
    PROBE_TEXTS,
    OnnxEncoder,
    input_names,
    load_encoder,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever fetched from a hub at run time
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

from monitor.models.batching import mean_pool, run_length_sorted
from monitor.models.devices import on_device, torch_device, torch_dtype

hf_logging.disable_progress_bar()  # a daemon's log is no terminal

log = logging.getLogger("driftwarden.models")

BACKENDS = ("onnx", "torch", "int8")
# ONNX Runtime in fp32 reproduces torch to 1.6e-6 and scores 1.3x as fast as torch over the
# same length-sorted batches here (1.4x when the cores are shared): benchmarks/fm_scoring.py.
DEFAULT_BACKEND = "onnx"


class TextRunner:
    """A transformers text model's weights and what runs them: texts in, arrays out, in order.

    `kind` "encoder" loads `AutoModel` and returns [mean-pooled last hidden state];
    "classifier" loads `AutoModelForSequenceClassification` and returns [logits, pooled].
    `backend` picks what runs the weights: "onnx" (the default on the CPU; ONNX Runtime in
    fp32, checked against torch to 1e-4 at load, torch with a logged reason when that
    fails), "torch", or "int8" (dynamically quantised weights; approximate, for deployments
    that are quantised themselves). `device` and `dtype` place torch's weights: a CUDA GPU,
    and float16 or bfloat16 (approximate, like int8: how far they sit from float32 on the
    CPU is measured at load and kept in `approximation`).

    Safe to call from several threads, so monitors can share one (`monitor.models.shared`):
    the tokenizer runs under a lock, ONNX Runtime sessions run concurrently (their `run` is
    documented thread-safe), and torch runs one call at a time (its intra-op threads already
    use the cores, and two calls would fight over them).
    """

    def __init__(
        self,
        path: Path,
        identity: str,
        *,
        kind: str = "encoder",
        batch_size: int = 32,
        max_length: int = 256,
        threads: int | None = None,
        backend: str | None = None,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        self.device = torch_device(device)
        self.dtype = dtype
        weights = torch_dtype(dtype)
        plain_cpu = self.device.type == "cpu" and weights == torch.float32
        requested = backend or (DEFAULT_BACKEND if plain_cpu else "torch")
        if requested not in BACKENDS:
            raise ModelError(
                f"unknown encoder backend {requested!r} (known: {', '.join(BACKENDS)})"
            )
        if requested != "torch" and not plain_cpu:
            raise ModelError(
                f"backend {requested!r} runs on the CPU in float32; device {device!r} with "
                f"dtype {dtype!r} needs backend 'torch'"
            )
        if threads:
            torch.set_num_threads(threads)
        # ONNX Runtime runs this many batches at once; unset, torch's count (tests pin it to 1)
        self.threads = threads or torch.get_num_threads()
        self.path = path
        self.identity = identity
        self.kind = kind
        loader: Any = AutoModel
        if kind == "classifier":
            from transformers import AutoModelForSequenceClassification

            loader = AutoModelForSequenceClassification
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            model = loader.from_pretrained(path)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load {kind} from {path}: {exc}") from None
        model.eval()
        self.model: torch.nn.Module | None = model
        self.config = model.config
        self.batch_size = batch_size
        # never longer than the position table: longer inputs would crash, not truncate
        self.positions = int(getattr(model.config, "max_position_embeddings", max_length))
        self.max_length = min(max_length, self.positions)
        #: what was asked for, and what runs it ("onnxruntime" or "torch")
        self.backend = requested
        self.runtime = "torch"
        #: for int8, float16, bfloat16 and GPUs: how far the pooled states of fixed probe
        #: sentences sit from float32 torch on the CPU
        self.approximation: dict[str, float] = {}
        self._forward: Callable[[dict[str, Any]], Sequence[Any]] = self._torch_forward
        self._weights_on = torch.device("cpu")  # until `_place` moves them
        self._tensors = "pt"
        self._workers: ThreadPoolExecutor | None = None
        self._tokenizing = threading.Lock()
        self._torch_calls = threading.Lock()
        if requested != "torch":
            self._use_fast_runtime(requested)
        elif not plain_cpu:
            self._place(weights)
        # the first calls allocate (and ONNX Runtime plans per shape): keep that out of cycle 1
        self.run(["warm-up", PROBE_TEXTS[1]])

    def _outputs(self, model: torch.nn.Module, batch: dict[str, Any]) -> list[torch.Tensor]:
        if self.kind == "classifier":
            output = model(**batch, output_hidden_states=True)
            return [
                output.logits.float(),
                mean_pool(output.hidden_states[-1], batch["attention_mask"]),
            ]
        return [mean_pool(model(**batch).last_hidden_state, batch["attention_mask"])]

    def _torch_forward(self, batch: dict[str, Any]) -> list[torch.Tensor]:
        assert self.model is not None
        return self._outputs(self.model, on_device(batch, self._weights_on))

    def _place(self, weights: torch.dtype) -> None:
        """Move the weights to the device and dtype asked for, and measure what that moved."""
        assert self.model is not None
        plain = self._probe(self._torch_forward, "pt")  # still float32 on the CPU
        self.model.to(device=self.device, dtype=weights)
        self._weights_on = self.device
        self._measure_approximation(self._torch_forward, "pt", plain=plain)

    def _probe(
        self, forward: Callable[[dict[str, Any]], Sequence[Any]], tensors: str
    ) -> list[np.ndarray]:
        # all probes in one padded batch, so the comparison covers the attention mask
        texts = list(PROBE_TEXTS)
        return run_length_sorted(
            self.tokenizer, texts, len(texts), self.max_length, forward, tensors=tensors
        )

    def _check_exact(self, onnx: OnnxEncoder) -> None:
        plain = self._probe(self._torch_forward, "pt")
        found = self._probe(onnx, "np")
        difference = max(float(np.abs(a - b).max()) for a, b in zip(found, plain, strict=True))
        if not difference <= EXACT_TOLERANCE:
            raise ModelError(
                f"ONNX outputs differ from torch by {difference:.2g} (> {EXACT_TOLERANCE})"
            )

    def _measure_approximation(
        self,
        forward: Callable[[dict[str, Any]], Sequence[Any]],
        tensors: str,
        *,
        plain: list[np.ndarray] | None = None,
    ) -> None:
        # on the pooled states (the last output), which every kind returns
        reference = (plain or self._probe(self._torch_forward, "pt"))[-1]
        approximate = self._probe(forward, tensors)[-1]
        cosine = (approximate * reference).sum(axis=1) / (
            np.linalg.norm(approximate, axis=1) * np.linalg.norm(reference, axis=1)
        )
        self.approximation = {
            "max_abs_diff": float(np.abs(approximate - reference).max()),
            "min_cosine": float(cosine.min()),
        }
        log.info(
            "%s %s (%s, %s on %s) on probe sentences vs float32 on the CPU: %s",
            self.kind,
            self.identity,
            self.backend,
            self.dtype,
            self.device,
            self.approximation,
        )

    def _use_fast_runtime(self, backend: str) -> None:
        quantized = backend == "int8"
        try:
            assert self.model is not None
            onnx = load_encoder(
                self.path,
                self.identity,
                input_names(self.model, self.tokenizer),
                quantized=quantized,
                check=None if quantized else self._check_exact,
                kind=self.kind,
            )
        except Exception as exc:  # no onnxruntime, an export the tracer cannot do, a mismatch
            log.warning(
                "%s %s: ONNX Runtime backend unavailable (%s: %s); scoring with torch%s",
                self.kind,
                self.identity,
                type(exc).__name__,
                exc,
                " dynamic int8" if quantized else "",
            )
            if quantized:
                self._quantize_torch()
            return
        if quantized:
            self._measure_approximation(onnx, "np")
        self.runtime = "onnxruntime"
        self._forward = onnx
        self._tensors = "np"
        self.model = None  # ONNX Runtime holds its own copy of the weights
        if self.threads > 1:
            # One single-threaded session run from `threads` threads, a batch each: a
            # MiniLM layer on a 32-sentence batch is too small to split between cores
            # without them waiting on each other, and a thread that a neighbour's process
            # delays holds up only its own batch (1.15x to 1.4x over 2 intra-op threads).
            self._workers = ThreadPoolExecutor(self.threads, thread_name_prefix="encoder")

    def _quantize_torch(self) -> None:
        assert self.model is not None
        plain = self.model
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.ao's notice that torchao supersedes it
            quantized = torch.ao.quantization.quantize_dynamic(
                copy.deepcopy(plain),
                {torch.nn.Linear: torch.ao.quantization.per_channel_dynamic_qconfig},
                dtype=torch.qint8,
            )

        def forward(batch: dict[str, Any]) -> list[torch.Tensor]:
            return self._outputs(quantized, batch)

        self._measure_approximation(forward, "pt")
        self._forward = forward
        self.model = None

    def run(
        self,
        texts: Sequence[str],
        *,
        batch_size: int | None = None,
        max_length: int | None = None,
    ) -> list[np.ndarray]:
        """Every output for `texts`, one row per text, in input order (no cache).

        `batch_size` and `max_length` override the runner's own for this call (monitors
        sharing the weights keep their own settings; `max_length` never exceeds the model's
        position table).
        """
        length = self.max_length if max_length is None else min(max_length, self.positions)
        exclusive = self._torch_calls if self.runtime == "torch" else contextlib.nullcontext()
        with exclusive:
            return run_length_sorted(
                self.tokenizer,
                texts,
                batch_size or self.batch_size,
                length,
                self._forward,
                tensors=self._tensors,
                workers=self._workers,
                tokenizing=self._tokenizing,
            )
