"""Where torch runs a model: the device and the weights' type, refused at load when torch
cannot run there."""

from __future__ import annotations

from typing import Any

import torch

from monitor.errors import ModelError

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
