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
from monitor.plugins.fields import Duration, RelGlob, RelPath, Strict, parse_duration

__all__ = [
    "DEFAULT_METRICS_PORT",
    "DEFAULT_STORAGE",
    "DRIFT_METHODS",
    "ESTIMATION_METHODS",
    "AlertRule",
    "ColumnDrift",
    "ColumnsConfig",
    "Config",
    "DriftConfig",
    "Duration",
    "EmbeddingDrift",
    "EstimationConfig",
    "HookChoice",
    "LabelsChoice",
    "MetricsEndpoint",
    "ModelChoice",
    "MonitorConfig",
    "ReferenceConfig",
    "RelGlob",
    "RelPath",
    "ScheduleConfig",
    "SequentialDrift",
    "SourceChoice",
    "Strict",
    "WindowConfig",
    "alert_rule_problems",
    "interpolate_env",
    "load_config",
    "load_yaml",
    "parse_config",
    "parse_duration",
    "problems_of",
]
