"""ONNX Runtime execution of a text model (an encoder or a classifier), exported at first use.

ONNX Runtime runs the encoder as one graph with fused attention, GELU and layer-norm kernels
and no Python between layers: the same fp32 arithmetic up to rounding (1.6e-6 on MiniLM),
1.3x torch's rate on the same batches here (`benchmarks/fm_scoring.py`). The file is written
under `$DRIFTWARDEN_HOME/onnx` (else `~/.cache/driftwarden/onnx`), keyed by the weights'
fingerprint, never shipped; every load checks it against torch before it scores anything.
"""

from __future__ import annotations

import inspect
import logging
import re
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from monitor.atomic import write_file
from monitor.errors import ModelError
from monitor.home import data_dir

log = logging.getLogger("driftwarden.models")

# Bump when the export below changes, so files written the old way are not reused.
EXPORT_RECIPE = "onnx1"
OPSET = 17  # the first with a LayerNormalization op, which ONNX Runtime fuses further
# The exact backend must reproduce the model run plainly: logits within 1e-4 (the bar).
EXACT_TOLERANCE = 1e-4
# Mixed lengths in one padded batch, so the check covers the attention mask as well.
PROBE_TEXTS = (
    "Great value.",
    "The battery died after two days and support never answered my emails.",
    "ok",
    "I have used this phone for a year now, and while the screen is sharp and the "
    "speaker is loud, the charging port wore out and the case cracked near the hinge.",
)

Batch = dict[str, np.ndarray]


def cache_root() -> Path:
    """`$DRIFTWARDEN_HOME/onnx`, else `$XDG_CACHE_HOME/driftwarden/onnx` (`~/.cache/...`)."""
    return data_dir() / "onnx"


def model_folder(identity: str, kind: str = "encoder") -> Path:
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", identity.removeprefix("package:"))
    suffix = "" if kind == "encoder" else f"-{kind}"
    return cache_root() / f"{slug}-{EXPORT_RECIPE}{suffix}"


def input_names(model: torch.nn.Module, tokenizer: Any) -> list[str]:
    """The tokenizer's outputs that the model's forward takes (BERT: ids, types and mask)."""
    accepted = inspect.signature(model.forward).parameters
    names = [name for name in tokenizer.model_input_names if name in accepted]
    if "input_ids" not in names or "attention_mask" not in names:
        raise ModelError(f"encoder inputs {names} lack input_ids or attention_mask")
    return names


class _Exported(torch.nn.Module):
    """The model and its mean pooling as one graph: ONNX Runtime returns what torch would.

    An encoder returns the pooled last hidden state; a classifier its logits and that.
    """

    def __init__(self, model: torch.nn.Module, names: Sequence[str], kind: str) -> None:
        super().__init__()
        self.model = model
        self.names = list(names)
        self.kind = kind

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        from monitor.models.batching import mean_pool

        batch = dict(zip(self.names, inputs, strict=True))
        if self.kind == "classifier":
            output = self.model(**batch, output_hidden_states=True)
            return output.logits, mean_pool(output.hidden_states[-1], batch["attention_mask"])
        return mean_pool(self.model(**batch).last_hidden_state, batch["attention_mask"])


OUTPUTS = {"encoder": ["embedding"], "classifier": ["logits", "embedding"]}


def export_encoder(
    model_path: Path, names: Sequence[str], target: Path, kind: str = "encoder"
) -> None:
    """Trace the model with mean pooling into `target` (dynamic batch and sequence axes)."""
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

    loader: Any = AutoModelForSequenceClassification if kind == "classifier" else AutoModel
    # Eager attention: the SDPA path chooses branches from the mask's values while tracing,
    # and a trace taken on an unpadded batch would drop the mask from the graph.
    model = loader.from_pretrained(model_path, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    # a short and a long probe: the short row is padded, so the graph keeps the masking
    dummy = tokenizer(list(PROBE_TEXTS[:2]), padding=True, return_tensors="pt")
    axes = {name: {0: "batch", 1: "sequence"} for name in names}
    for output in OUTPUTS[kind]:
        axes[output] = {0: "batch"}

    def write(path: Path) -> None:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer notes on Python branches: loads check it
            torch.onnx.export(
                _Exported(model, names, kind),
                tuple(dummy[name] for name in names),
                str(path),
                input_names=list(names),
                output_names=OUTPUTS[kind],
                dynamic_axes=axes,
                opset_version=OPSET,
                dynamo=False,  # the TorchScript exporter needs no onnxscript and takes 2 s
            )

    write_file(target, write)


def quantize_encoder(source: Path, target: Path) -> None:
    """int8 weights for the matrix products, one scale per output channel.

    Per-tensor scales and a quantised embedding table (the defaults) cost 1.4 points of
    head accuracy on the real sentences; per-channel MatMul-only stayed within 0.3.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    def write(path: Path) -> None:
        # the quantiser logs every tensor it skips, and advice on pre-processing (which
        # only re-infers shapes), on the root logger: once per export, noise in a daemon log
        previous = logging.root.manager.disable
        logging.disable(logging.WARNING)
        try:
            quantize_dynamic(
                source,
                path,
                weight_type=QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
            )
        finally:
            logging.disable(previous)

    write_file(target, write)


class OnnxEncoder:
    """An ONNX Runtime session: a padded numpy batch in, the exported outputs out."""

    def __init__(self, model_file: Path, names: Sequence[str]) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # Single-threaded: the caller runs batches concurrently (`run` is thread-safe and
        # releases the GIL), which beat splitting each small batch between cores.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(
            str(model_file), options, providers=["CPUExecutionProvider"]
        )
        self.names = list(names)
        self.file = model_file

    def __call__(self, batch: Batch) -> list[np.ndarray]:
        feed = {name: np.asarray(batch[name], dtype=np.int64) for name in self.names}
        return list(self.session.run(None, feed))


def load_encoder(
    model_path: Path,
    identity: str,
    names: Sequence[str],
    *,
    quantized: bool,
    check: Callable[[OnnxEncoder], None] | None = None,
    kind: str = "encoder",
) -> OnnxEncoder:
    """The cached ONNX file for these weights (exported, and quantised, when missing).

    `check` raises when the session disagrees with torch; a cached file that fails it (or
    fails to load) is exported afresh once, a fresh one that fails it is an error.
    """
    folder = model_folder(identity, kind)
    fp32 = folder / "encoder.onnx"
    target = folder / "encoder-int8.onnx" if quantized else fp32
    for attempt in range(2):
        exported = attempt > 0 or not fp32.is_file()
        if exported:
            export_encoder(model_path, names, fp32, kind)
            log.info("exported %s to ONNX at %s", identity, fp32)
        if quantized and (exported or not target.is_file()):
            quantize_encoder(fp32, target)
        try:
            encoder = OnnxEncoder(target, names)
            if check is not None:
                check(encoder)
            return encoder
        except Exception as exc:  # a truncated or stale cached file: export afresh, once
            if exported:
                raise
            log.warning("cached ONNX file %s is unusable (%s); exporting again", target, exc)
    raise AssertionError("unreachable")
