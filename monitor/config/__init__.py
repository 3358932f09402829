"""The YAML config as pydantic models: validation only, every problem reported at start-up.

`monitor.py` holds the monitor's blocks and the document, `drift.py` the drift block,
`loading.py` reading a file; the plugin types' own blocks (`stream:`, `labels:`, `model:`,
`hooks:`) come from their plugins' spec modules through the registry.
"""

from monitor.config.drift import (
    DRIFT_METHODS,
    ColumnDrift,
    DriftConfig,
    EmbeddingDrift,
    SequentialDrift,
)
from monitor.config.loading import (
    alert_rule_problems,
    interpolate_env,
    load_config,
    load_yaml,
    parse_config,
    problems_of,
)
from monitor.config.monitor import (
    DEFAULT_METRICS_PORT,
    DEFAULT_STORAGE,
    ESTIMATION_METHODS,
    AlertRule,
    ColumnsConfig,
    Config,
    EstimationConfig,
    HookChoice,
    LabelsChoice,
    MetricsEndpoint,
    ModelChoice,
    MonitorConfig,
    ReferenceConfig,
    ScheduleConfig,
    SourceChoice,
    WindowConfig,
)
from monitor.hooks.specs import CommandHook, PythonHook, RetrainHeadHook, WebhookHook
from monitor.labels.specs import FilesLabelsConfig, SqlLabelsConfig
from monitor.metrics.catalog import FEATURE_METRIC_PREFIX
from monitor.models.specs import (
    PACKAGED_ENCODER,
    EmbeddingHeadModelConfig,
    SklearnModelConfig,
    TransformersModelConfig,
)
from monitor.plugins.fields import Duration, RelGlob, RelPath, Strict, parse_duration
from monitor.sources.specs import FilesStreamConfig, SqlStreamConfig

__all__ = [
    "DEFAULT_METRICS_PORT",
    "DEFAULT_STORAGE",
    "DRIFT_METHODS",
    "ESTIMATION_METHODS",
    "FEATURE_METRIC_PREFIX",
    "PACKAGED_ENCODER",
    "AlertRule",
    "ColumnDrift",
    "ColumnsConfig",
    "CommandHook",
    "Config",
    "DriftConfig",
    "Duration",
    "EmbeddingDrift",
    "EmbeddingHeadModelConfig",
    "EstimationConfig",
    "FilesLabelsConfig",
    "FilesStreamConfig",
    "HookChoice",
    "LabelsChoice",
    "MetricsEndpoint",
    "ModelChoice",
    "MonitorConfig",
    "PythonHook",
    "ReferenceConfig",
    "RelGlob",
    "RelPath",
    "RetrainHeadHook",
    "ScheduleConfig",
    "SequentialDrift",
    "SklearnModelConfig",
    "SourceChoice",
    "SqlLabelsConfig",
    "SqlStreamConfig",
    "Strict",
    "TransformersModelConfig",
    "WebhookHook",
    "WindowConfig",
    "alert_rule_problems",
    "interpolate_env",
    "load_config",
    "load_yaml",
    "parse_config",
    "parse_duration",
    "problems_of",
]
