"""Batched transformer inference: length-sorted dynamic padding, order restored, pooled states."""

from __future__ import annotations

import contextlib
import copy
import hashlib
import logging
import os
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.errors import ModelError
from monitor.models.onnx_backend import (
    EXACT_TOLERANCE,
    PROBE_TEXTS,
    OnnxEncoder,
    input_names,
    load_encoder,
)

if TYPE_CHECKING:
    from monitor.models.specs import EmbeddingHeadModelConfig

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever fetched from a hub at run time
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch
from transformers import AutoModel, AutoTokenizer
from transformers.utils import logging as hf_logging

hf_logging.disable_progress_bar()  # a daemon's log is no terminal

log = logging.getLogger("driftwarden.models")

BACKENDS = ("onnx", "torch", "int8")
# ONNX Runtime in fp32 reproduces torch to 1.6e-6 and scores 1.3x as fast as torch over the
# same length-sorted batches here (1.4x when the cores are shared): benchmarks/fm_scoring.py.
DEFAULT_BACKEND = "onnx"
# torch weight types; anything but float32 is an approximation of the deployed model
DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def torch_device(name: str) -> torch.device:
    """`cpu`, `cuda` or `cuda:N`, refused at load when torch cannot run there."""
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ModelError(f"device {name!r}: not a torch device (cpu, cuda or cuda:N)") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelError(
                f"device {name!r}: torch {torch.__version__} sees no CUDA GPU here; use device: cpu"
            )
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ModelError(f"device {name!r}: torch sees {torch.cuda.device_count()} CUDA GPU(s)")
    elif device.type != "cpu":
        raise ModelError(f"device {name!r}: only cpu and cuda are supported")
    return device


def torch_dtype(name: str) -> torch.dtype:
    try:
        return DTYPES[name]
    except KeyError:
        raise ModelError(f"dtype {name!r}: expected one of {', '.join(DTYPES)}") from None


def on_device(batch: dict[str, Any], device: torch.device) -> dict[str, Any]:
    """The tokenizer's tensors on the model's device (a no-op on the CPU)."""
    if device.type == "cpu":
        return batch
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def resolve_encoder_path(encoder: str) -> Path:
    """A directory, or `package:NAME` for a pip package exposing `get_model_path()`."""
    if encoder.startswith("package:"):
        module_name = encoder.removeprefix("package:")
        try:
            module = __import__(module_name)
        except ImportError:
            raise ModelError(
                f"encoder {encoder}: package {module_name!r} is not installed "
                f"(pip install {module_name.replace('_', '-')})"
            ) from None
        return Path(module.get_model_path())
    path = Path(encoder)
    if not (path / "config.json").is_file():
        raise ModelError(f"encoder {encoder}: no config.json there (not a transformers model)")
    return path


def directory_identity(path: Path) -> str:
    """A short fingerprint of a model directory: its config and the size of its weights."""
    digest = hashlib.sha256()
    for name in ("config.json", "tokenizer.json", "vocab.txt"):
        if (path / name).is_file():
            digest.update((path / name).read_bytes())
    for weights in sorted(path.glob("*.safetensors")) + sorted(path.glob("*.bin")):
        digest.update(f"{weights.name}:{weights.stat().st_size}".encode())
        with weights.open("rb") as handle:
            digest.update(handle.read(1 << 20))
    return digest.hexdigest()[:16]


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
) -> list[np.ndarray]:
    """Tokenize once, batch texts of similar length, run `forward`, return rows in input order.

    Sorting by token count means each batch is padded only to its own longest text, which
    is where most of the CPU time of in-order batching goes. `tensors` is what `forward`
    takes: "pt" (torch, run under `inference_mode`) or "np" (ONNX Runtime). With `workers`,
    batches run concurrently, longest first so the last ones to finish are short.
    """
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length)
    ids: list[list[int]] = encoded["input_ids"]
    order = np.argsort([len(row) for row in ids], kind="stable")
    batches = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
    if workers is not None:
        batches.reverse()

    def padded(rows: np.ndarray) -> dict[str, Any]:
        features = {key: [encoded[key][i] for i in rows] for key in encoded}
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


class EmbeddingCache:
    """A bounded LRU of embeddings by text hash (streams repeat texts more than one expects).

    Keys are keyed BLAKE2 hashes: the namespace (encoder weights and backend) is the hash
    key, so one text under two encoders or backends never shares an entry.
    """

    def __init__(self, capacity: int, namespace: str = "") -> None:
        self.capacity = capacity
        self.namespace = namespace
        self._salt = hashlib.blake2b(namespace.encode("utf-8"), digest_size=32).digest()
        self._items: OrderedDict[bytes, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def key(self, text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8"), digest_size=16, key=self._salt).digest()

    def get(self, key: bytes) -> np.ndarray | None:
        value = self._items.get(key)
        if value is None:
            self.misses += 1
            return None
        self._items.move_to_end(key)
        self.hits += 1
        return value

    def put(self, key: bytes, value: np.ndarray) -> None:
        if self.capacity <= 0:
            return
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


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
        positions = getattr(model.config, "max_position_embeddings", max_length)
        self.max_length = min(max_length, positions)
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

    def run(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Every output for `texts`, one row per text, in input order (no cache)."""
        return run_length_sorted(
            self.tokenizer,
            texts,
            self.batch_size,
            self.max_length,
            self._forward,
            tensors=self._tensors,
            workers=self._workers,
        )


class SentenceEncoder:
    """A transformers encoder with mean pooling: texts in, one vector per text out.

    A `TextRunner` of kind "encoder" (backends, devices and dtypes are its), plus an
    identity for the weights and a cache of embeddings by text.
    """

    def __init__(
        self,
        encoder: str,
        *,
        batch_size: int = 32,
        max_length: int = 256,
        threads: int | None = None,
        cache_size: int = 0,
        backend: str | None = None,
        device: str = "cpu",
        dtype: str = "float32",
    ) -> None:
        self.path = resolve_encoder_path(encoder)
        self.fingerprint = directory_identity(self.path)
        name = encoder if encoder.startswith("package:") else self.path.name
        # the backend is not part of the identity: a head fitted under one scores under all
        self.identity = f"{name}@{self.fingerprint}"
        self.runner = TextRunner(
            self.path,
            self.identity,
            kind="encoder",
            batch_size=batch_size,
            max_length=max_length,
            threads=threads,
            backend=backend,
            device=device,
            dtype=dtype,
        )
        self.hidden_size = int(self.runner.config.hidden_size)
        self.cache = EmbeddingCache(
            cache_size,
            namespace=f"{self.identity}|{self.backend}|{self.runtime}|{self.runner.device}|{dtype}",
        )

    @classmethod
    def from_config(
        cls, config: EmbeddingHeadModelConfig, *, cache_size: int | None = None
    ) -> SentenceEncoder:
        """The encoder an `embedding-head` model config describes."""
        return cls(
            config.encoder,
            batch_size=config.batch_size,
            max_length=config.max_length,
            threads=config.threads,
            cache_size=config.cache_size if cache_size is None else cache_size,
            backend=config.backend,
            device=config.device,
            dtype=config.dtype,
        )

    @property
    def backend(self) -> str:
        return self.runner.backend

    @property
    def runtime(self) -> str:
        return self.runner.runtime

    @property
    def approximation(self) -> dict[str, float]:
        return self.runner.approximation

    @property
    def batch_size(self) -> int:
        return self.runner.batch_size

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.runner.run(texts)[0]

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One float32 row per text, in order; each distinct text is computed once.

        A text repeated within the call, or found in the cache, takes the vector computed
        for it before, so every copy of a text gets the same bits.
        """
        texts = list(texts)
        embeddings = np.empty((len(texts), self.hidden_size), dtype=np.float32)
        caching = self.cache.capacity > 0
        pending: dict[str, list[int]] = {}
        keys: dict[str, bytes] = {}
        for row, text in enumerate(texts):
            if text in pending:
                pending[text].append(row)
                continue
            if caching:
                key = self.cache.key(text)
                cached = self.cache.get(key)
                if cached is not None:
                    embeddings[row] = cached
                    continue
                keys[text] = key
            pending[text] = [row]
        if pending:
            unique = list(pending)
            for text, vector in zip(unique, self._embed(unique), strict=True):
                embeddings[pending[text]] = vector
                if caching:
                    self.cache.put(keys[text], vector.copy())  # a copy: not a view of the batch
        return embeddings
