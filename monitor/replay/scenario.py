"""The scenario file: what drifts, when and how much, validated like the config at load time.

A scenario's `monitor:` block is a config monitor (model, drift, alerts); the scenario itself
supplies its reference, stream and columns, so those keys are refused there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator

from monitor.config import (
    Duration,
    HookChoice,
    MonitorConfig,
    RelPath,
    Strict,
    alert_rule_problems,
    interpolate_env,
    load_yaml,
    problems_of,
)
from monitor.config.loading import validate_document
from monitor.corpus import DOMAINS, LABELS
from monitor.errors import ConfigError, SourceError
from monitor.models.specs import PACKAGED_ENCODER
from monitor.sources.files import read_table

TEXT = "text"
LABEL = "label"
ROW_ID_COLUMN = "id"  # the replay's rows are told apart by window and position
# `label` values of a CSV mapped to the scenario's labels when the source names no mapping.
DEFAULT_LABELS = {"0": LABELS[0], "1": LABELS[1], LABELS[0]: LABELS[0], LABELS[1]: LABELS[1]}
# Keys a config monitor has that a scenario fills in itself.
_SCENARIO_OWNED = ("reference", "stream", "labels", "columns", "window", "schedule", "catch_up")
_HEAD_PLACEHOLDER = ".head-fitted-on-the-scenario-reference"


def _weight(value: float) -> float:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"a weight must be a finite number >= 0, got {value!r}")
    return value


def _mix_total(mix: dict[str, float]) -> dict[str, float]:
    if not mix:
        raise ValueError("a mix names at least one source with a weight")
    if sum(mix.values()) <= 0:
        raise ValueError("the weights of a mix must sum to more than 0")
    return mix


Weight = Annotated[float, AfterValidator(_weight)]
Mix = Annotated[dict[str, Weight], AfterValidator(_mix_total)]
Share = Annotated[float, Field(ge=0, le=1)]


class SourceSpec(Strict):
    """One named source of rows: a generated corpus domain, or a CSV file."""

    corpus: str | None = Field(None, description="a generated corpus domain")
    positive_share: Share | None = None
    hard_share: Share | None = None
    csv: RelPath | None = Field(None, description="a CSV file (relative to the scenario file)")
    text_column: str = TEXT
    label_column: str = LABEL
    labels: dict[str, str] | None = Field(None, description="CSV label value -> scenario label")

    @model_validator(mode="after")
    def _one_kind(self) -> SourceSpec:
        if (self.corpus is None) == (self.csv is None):
            raise ValueError("set exactly one of `corpus` (a generated domain) or `csv` (a file)")
        if self.corpus is not None:
            if self.corpus not in DOMAINS:
                raise ValueError(
                    f"unknown corpus domain {self.corpus!r}; use one of {', '.join(DOMAINS)}"
                )
            custom = {"text_column", "label_column", "labels"} & self.model_fields_set
            if custom:
                raise ValueError(f"{', '.join(sorted(custom))} only apply to `csv` sources")
        elif {"positive_share", "hard_share"} & self.model_fields_set:
            raise ValueError("positive_share and hard_share only apply to `corpus` sources")
        if self.labels is not None:
            wrong = sorted({v for v in self.labels.values() if v not in LABELS})
            if wrong:
                raise ValueError(f"labels map to {', '.join(LABELS)}, not {', '.join(wrong)}")
        return self


class ClockSpec(Strict):
    start: datetime = datetime(2024, 1, 1, tzinfo=UTC)
    step: Duration = timedelta(minutes=5)

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class WindowSpec(Strict):
    rows: int = Field(100, ge=10, le=100_000)


class ReferenceSpec(Strict):
    mix: Mix
    rows: int = Field(300, ge=20, le=100_000)


class Transforms(Strict):
    """Applied to every window of a phase, in this order (see scenarios/README.md)."""

    positive_share: Share | None = Field(None, description="class prior: share of positives")
    flip_labels: Share | None = Field(None, description="concept drift: share of labels swapped")
    typos: Share | None = Field(None, description="share of words given one typo")
    truncate: Share | None = Field(None, description="share of rows cut to truncate_words")
    truncate_words: int = Field(3, ge=1)
    garbage: Share | None = Field(None, description="share of rows replaced by symbol garbage")
    empty: Share | None = Field(None, description="share of rows whose text is emptied")


class Phase(Strict):
    name: str | None = None
    windows: int = Field(ge=1, le=10_000)
    mix: Mix
    ramp_to: Mix | None = Field(None, description="move the mix to this one across the phase")
    transforms: Transforms = Field(default_factory=lambda: Transforms())
    drift: bool = False


class LabelDelay(Strict):
    """Labels that arrive late: each window's labels come `delay` windows after it, for a
    seeded `coverage` share of its rows (the rest never come)."""

    delay: int = Field(ge=0, le=1000, description="windows between a window and its labels")
    coverage: Annotated[float, Field(gt=0, le=1)] = 1.0


class Expectation(Strict):
    detected: bool | None = None
    max_delay: int | None = Field(None, ge=0)
    max_false_alarms: int | None = Field(None, ge=0)


class MonitorBlock(Strict):
    """A config monitor's model, drift and alert settings; `model` defaults to MiniLM + head."""

    name: str | None = Field(None, pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)
    model: dict[str, Any] | None = None
    drift: dict[str, Any] | None = None
    estimation: dict[str, Any] | None = None
    alerts: list[Any] = Field(default_factory=list)
    snapshot: bool = False


class ScenarioSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=100)
    description: str = ""
    seed: int = Field(0, ge=0)
    clock: ClockSpec = Field(default_factory=lambda: ClockSpec())
    window: WindowSpec = Field(default_factory=lambda: WindowSpec())
    sources: dict[str, SourceSpec] = Field(default_factory=dict)
    reference: ReferenceSpec
    monitor: MonitorBlock = Field(default_factory=lambda: MonitorBlock())
    hooks: dict[str, HookChoice] = Field(default_factory=dict)
    labels: LabelDelay | None = Field(None, description="deliver labels late, not in the rows")
    phases: list[Phase] = Field(min_length=1)
    expect: dict[str, Expectation] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _refuse_scenario_owned(cls, raw: Any) -> Any:
        monitor = raw.get("monitor") if isinstance(raw, dict) else None
        if isinstance(monitor, dict):
            owned = [key for key in _SCENARIO_OWNED if key in monitor]
            if owned:
                raise ValueError(
                    f"monitor.{owned[0]}: set by the scenario (reference, phases, window), "
                    "not in its monitor block"
                )
        return raw


@dataclass
class Scenario:
    """A validated scenario: its spec, the monitor it replays and the CSV tables it reads."""

    spec: ScenarioSpec
    monitor: MonitorConfig
    path: Path | None
    #: the monitor's head is fitted on the scenario's reference (cached), not read from a file
    fit_head: bool
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def windows(self) -> int:
        return sum(phase.windows for phase in self.spec.phases)

    def onsets(self) -> list[int]:
        """Window indexes where a drift begins: the first window of a run of drift phases."""
        found, index, drifting = [], 0, False
        for phase in self.spec.phases:
            if phase.drift and not drifting:
                found.append(index)
            drifting = phase.drift
            index += phase.windows
        return found


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; relative paths are relative to the file's folder."""
    path = Path(path)
    return parse_scenario(load_yaml(path), path.resolve().parent, source=str(path), path=path)


def parse_scenario(
    raw: Any, base_dir: Path | None = None, *, source: str = "scenario", path: Path | None = None
) -> Scenario:
    """Validate a parsed scenario document; raise ConfigError listing every problem."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping")
    raw, problems = interpolate_env(raw)
    spec = validate_document(ScenarioSpec, raw, base_dir, source, problems, _unwrap_owned)
    monitor, fit_head, monitor_problems = _monitor_config(spec, base_dir)
    problems += monitor_problems
    tables, table_problems = _read_tables(spec)
    problems += table_problems
    problems += _cross_check(spec, monitor)
    if problems or monitor is None:
        raise ConfigError(f"{source} is invalid", problems)
    return Scenario(spec, monitor, path, fit_head, tables)


def _unwrap_owned(line: str) -> str:
    # the before-validator reports at the top level; its message already names the key
    prefix = "(top level): monitor."
    return line.removeprefix("(top level): ") if line.startswith(prefix) else line


def _monitor_config(
    spec: ScenarioSpec, base_dir: Path | None
) -> tuple[MonitorConfig | None, bool, list[str]]:
    """The scenario's monitor as a config monitor (same schema, same validation)."""
    block = spec.monitor
    model = dict(block.model or {"type": "embedding-head", "encoder": PACKAGED_ENCODER})
    fit_head = model.get("type") == "embedding-head" and "head" not in model
    if fit_head:
        model["head"] = _HEAD_PLACEHOLDER
    raw: dict[str, Any] = {
        "name": block.name or spec.name,
        "model": model,
        # never read: the scenario hands the runtime its reference and windows directly
        "reference": {"path": f"scenario-{spec.name}-reference.csv"},
        "stream": {"path": f"scenario-{spec.name}-windows/*.csv"},
        "columns": {"text": TEXT, "target": LABEL, "id": ROW_ID_COLUMN},
        "window": {"rows": spec.window.rows},
        "schedule": {"every": spec.clock.step},
        "catch_up": 0,
        "alerts": block.alerts,
        "snapshot": block.snapshot,
    }
    if block.drift is not None:
        raw["drift"] = block.drift
    if block.estimation is not None:
        raw["estimation"] = block.estimation
    if spec.labels is not None:  # never read either: the runner hands it the late labels
        raw["labels"] = {
            "path": f"scenario-{spec.name}-labels/*.csv",
            "final_coverage": spec.labels.coverage,
            # a window whose labels all came is final at once; one that lost rows to the
            # quarantine is final when the next window's labels have come too
            "horizon": spec.clock.step * (spec.labels.delay + 1),
        }
    try:
        config = MonitorConfig.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as exc:
        return None, fit_head, [f"monitor.{line}" for line in problems_of(exc)]
    except (ArithmeticError, TypeError, RecursionError) as exc:  # as in validate_document
        return None, fit_head, [f"monitor: a value cannot be read ({type(exc).__name__})"]
    return config, fit_head, []


def _read_tables(spec: ScenarioSpec) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Each CSV source as `text`/`label` rows with the scenario's labels; problems by key."""
    tables: dict[str, pd.DataFrame] = {}
    problems: list[str] = []
    for name, source in spec.sources.items():
        if source.csv is None:
            continue
        where = f"sources.{name}"
        try:
            frame = read_table(source.csv, "csv")
        except SourceError as exc:
            problems.append(f"{where}.csv: {exc}")
            continue
        columns = ", ".join(map(str, frame.columns)) or "none"
        missing = False
        wanted = (("text_column", source.text_column), ("label_column", source.label_column))
        for key, column in wanted:
            if column not in frame.columns:
                problems.append(f"{where}.{key}: {source.csv} has no column {column!r} ({columns})")
                missing = True
        if missing:
            continue
        mapping = source.labels or DEFAULT_LABELS
        raw_labels = frame[source.label_column].map(_label_key)
        unknown = sorted(set(raw_labels.dropna()) - set(mapping))
        if unknown:
            problems.append(
                f"{where}.labels: {source.csv} has label(s) {', '.join(map(repr, unknown[:5]))} "
                f"that map to no scenario label; map each to {' or '.join(LABELS)}"
            )
            continue
        table = pd.DataFrame({TEXT: frame[source.text_column], LABEL: raw_labels.map(mapping)})
        table = table.dropna(subset=[LABEL]).reset_index(drop=True)
        if table.empty:
            problems.append(f"{where}.csv: {source.csv} holds no labelled rows")
            continue
        tables[name] = table
    return tables, problems


def _label_key(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _cross_check(spec: ScenarioSpec, monitor: MonitorConfig | None) -> list[str]:
    problems: list[str] = []
    known = set(spec.sources) | set(DOMAINS)
    mixes: list[tuple[str, dict[str, float]]] = [("reference.mix", spec.reference.mix)]
    for i, phase in enumerate(spec.phases):
        mixes.append((f"phases[{i}].mix", phase.mix))
        if phase.ramp_to is not None:
            mixes.append((f"phases[{i}].ramp_to", phase.ramp_to))
    for where, mix in mixes:
        for name in mix:
            if name not in known:
                defined = ", ".join(spec.sources) or "none"
                problems.append(
                    f"{where}.{name}: unknown source {name!r} (sources: {defined}; "
                    f"corpus domains: {', '.join(DOMAINS)})"
                )
    if monitor is None:
        return problems
    rules = [rule.name for rule in monitor.alerts]
    problems += alert_rule_problems(monitor.alerts, spec.hooks, "monitor", monitor.model)
    has_onset = any(phase.drift for phase in spec.phases)
    for name, expectation in spec.expect.items():
        if name not in rules:
            problems.append(
                f"expect.{name}: no alert rule named {name!r} (rules: {', '.join(rules) or 'none'})"
            )
        if not has_onset:
            for key in ("detected", "max_delay"):
                if getattr(expectation, key) is not None:
                    problems.append(
                        f"expect.{name}.{key}: no phase has `drift: true`, so there is no "
                        "onset to detect"
                    )
    return problems
