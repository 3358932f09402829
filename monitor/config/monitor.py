"""The monitor's blocks and the whole config document as pydantic models: validation only.

The `stream:`, `labels:`, `model:` and `hooks:` blocks are unions built at import from the plugin
registry, so a type that a third-party package registers validates like a built-in one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import Field, model_validator

from monitor.config.drift import DriftConfig
from monitor.config.executor import ExecutorChoice, InProcessExecutorConfig
from monitor.errors import ConfigError
from monitor.plugins.fields import DatabaseUrl, Duration, RelPath, Strict
from monitor.plugins.registry import HOOKS, LABELS, MODELS, REGISTRY, SOURCES
from monitor.plugins.spec import HookConfig, LabelsConfig, ModelConfig, SourceConfig
from monitor.records.catalog import rule_metric_problem

DEFAULT_STORAGE = "sqlite:///driftwarden.db"
DEFAULT_METRICS_PORT = 9108

if TYPE_CHECKING:  # the unions hold subclasses of these; mypy sees the bases
    SourceChoice = SourceConfig
    LabelsChoice = LabelsConfig
    ModelChoice = ModelConfig
    HookChoice = HookConfig
else:
    SourceChoice = REGISTRY.union(SOURCES)
    LabelsChoice = REGISTRY.union(LABELS)
    ModelChoice = REGISTRY.union(MODELS)
    HookChoice = REGISTRY.union(HOOKS)


class MetricsEndpoint(Strict):
    host: str = "127.0.0.1"
    port: int = Field(DEFAULT_METRICS_PORT, ge=0, le=65535)
    max_features: int = Field(50, ge=1, description="per-monitor cap on per-feature series")
    unready_after_failures: int = Field(
        1, ge=1, le=1000, description="cycles of one monitor failing in a row that fail /readyz"
    )


class ReferenceConfig(Strict):
    path: RelPath
    rows: int | None = Field(None, ge=1, description="use at most this many rows (seeded sample)")


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
            raise ValueError("a cron expression has 5 fields (minute hour day month dow)")
        return self


class WindowConfig(Strict):
    rows: int | None = Field(None, ge=2)
    duration: Duration | None = None

    @model_validator(mode="after")
    def _one_size(self) -> WindowConfig:
        if (self.rows is None) == (self.duration is None):
            raise ValueError("set exactly one of `rows` or `duration`")
        return self


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
        problem = rule_metric_problem(self.metric)
        if problem is not None:
            raise ValueError(problem)
        return self


ESTIMATION_METHODS = (
    "auto",
    "membership",
    "consensus",
    "agreement",
    "cbpe",
    "atc",
    "confidence",
)


class EstimationConfig(Strict):
    """How `estimated_accuracy` (and `estimated_f1`) are estimated from the scores alone."""

    method: Literal[ESTIMATION_METHODS] = "auto"  # type: ignore[valid-type]


class LabelRequestsConfig(Strict):
    """What `driftwarden label-requests` asks labellers for (`monitor.metrics.label_choice`)."""

    budget: int = Field(50, ge=1, description="rows asked for at most, over the recent windows")
    per_window: int | None = Field(None, ge=1, description="rows asked for at most per window")
    windows: int = Field(5, ge=1, description="newest windows the rows are chosen from")


class MonitorConfig(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)
    model: ModelChoice
    reference: ReferenceConfig
    stream: SourceChoice
    labels: LabelsChoice | None = None
    columns: ColumnsConfig
    schedule: ScheduleConfig = Field(
        default_factory=lambda: ScheduleConfig.model_validate({"every": "5m"})
    )
    window: WindowConfig = Field(default_factory=lambda: WindowConfig(rows=500))
    drift: DriftConfig = Field(default_factory=lambda: DriftConfig())
    estimation: EstimationConfig = Field(default_factory=lambda: EstimationConfig())
    alerts: list[AlertRule] = Field(default_factory=list)
    catch_up: int = Field(10, ge=0, description="missed complete windows processed per wake-up")
    snapshot: bool = Field(True, description="keep a tabular window's feature values for `report`")
    label_requests: LabelRequestsConfig = Field(default_factory=lambda: LabelRequestsConfig())

    @model_validator(mode="after")
    def _model_fits_columns(self) -> MonitorConfig:
        reads = self.model.reads
        if getattr(self.columns, "text" if reads == "text" else "features") is None:
            raise ValueError(f"the {self.model.type} model reads `columns.{reads}`; set it")
        if self.window.duration is not None:
            problem = self.stream.duration_problem()
            if problem is not None:
                raise ValueError(problem)
        if self.labels is not None:
            if self.columns.id is None:
                raise ValueError(
                    "a `labels` source joins labels to predictions by row id: set `columns.id`"
                )
            self.labels.id_column = self.labels.id_column or self.columns.id
            self.labels.label_column = self.labels.label_column or self.columns.target or "label"
        return self


class Config(Strict):
    storage: DatabaseUrl = DEFAULT_STORAGE
    metrics: MetricsEndpoint = Field(default_factory=lambda: MetricsEndpoint())
    # names are stored with every alert and attempt (100 characters, as monitor names)
    hooks: dict[Annotated[str, Field(max_length=100)], HookChoice] = Field(default_factory=dict)
    #: where cycles run and how many at once (`monitor.executors`)
    executor: ExecutorChoice = Field(default_factory=lambda: InProcessExecutorConfig())
    monitors: list[MonitorConfig] = Field(min_length=1)

    def monitor(self, name: str) -> MonitorConfig:
        for monitor in self.monitors:
            if monitor.name == name:
                return monitor
        known = ", ".join(m.name for m in self.monitors)
        raise ConfigError(f"no monitor named {name!r}; the config has: {known}")
