"""The scenario file: what drifts, when and how much, validated like the config at load time.

A scenario's `monitor:` block is a config monitor (model, drift, alerts); the scenario itself
supplies its reference, stream and columns, so those keys are refused there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from monitor.config import (
    MonitorConfig,
    alert_rule_problems,
    interpolate_env,
    load_yaml,
    problems_of,
)
from monitor.config.loading import validate_document
from monitor.corpus import DOMAINS, LABELS
from monitor.errors import ConfigError, SourceError
from monitor.models.specs import PACKAGED_ENCODER
from monitor.replay.scenario_spec import (
    LABEL,
    TEXT,
    ClockSpec,
    Expectation,
    LabelDelay,
    MonitorBlock,
    Phase,
    ReferenceSpec,
    ScenarioSpec,
    SourceSpec,
    Transforms,
    WindowSpec,
)
from monitor.sources.files import read_table

__all__ = [
    "LABEL",
    "TEXT",
    "ClockSpec",
    "Expectation",
    "LabelDelay",
    "MonitorBlock",
    "Phase",
    "ReferenceSpec",
    "Scenario",
    "ScenarioSpec",
    "SourceSpec",
    "Transforms",
    "WindowSpec",
    "load_scenario",
    "parse_scenario",
]

ROW_ID_COLUMN = "id"  # the replay's rows are told apart by window and position
# `label` values of a CSV mapped to the scenario's labels when the source names no mapping.
DEFAULT_LABELS = {"0": LABELS[0], "1": LABELS[1], LABELS[0]: LABELS[0], LABELS[1]: LABELS[1]}
_HEAD_PLACEHOLDER = ".head-fitted-on-the-scenario-reference"


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


def load_scenario(
    path: str | Path, *, allow_hooks: bool = False, allow_pickle: bool = False
) -> Scenario:
    """Read and validate a scenario file; relative paths are relative to the file's folder.

    A scenario file is untrusted: its command and python hooks, and a pickled head, are
    refused unless the caller (the command line) allows them; the file cannot allow them.
    """
    path = Path(path)
    raw = load_yaml(path)
    trust = Trust(allow_hooks, allow_pickle)
    return parse_scenario(raw, path.resolve().parent, source=str(path), path=path, trust=trust)


@dataclass(frozen=True)
class Trust:
    """What the person running a scenario allows it, beyond data: hooks that run code
    (command, python) and heads loaded from a pickle."""

    allow_hooks: bool = False
    allow_pickle: bool = False


CODE_HOOKS = ("command", "python")


def parse_scenario(
    raw: Any,
    base_dir: Path | None = None,
    *,
    source: str = "scenario",
    path: Path | None = None,
    trust: Trust = Trust(),
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
    problems += _untrusted(spec, monitor, trust)
    if problems or monitor is None:
        raise ConfigError(f"{source} is invalid", problems)
    return Scenario(spec, monitor, path, fit_head, tables)


def _untrusted(spec: ScenarioSpec, monitor: MonitorConfig | None, trust: Trust) -> list[str]:
    """What the scenario asks that would run code from it, and the caller did not allow."""
    problems = []
    if not trust.allow_hooks:
        for name, hook in spec.hooks.items():
            if hook.type in CODE_HOOKS:
                problems.append(
                    f"hooks.{name}: a scenario's {hook.type} hook runs code; replay runs it "
                    "only with --allow-hooks (a scenario file cannot allow it itself)"
                )
    pickled = monitor is not None and bool(getattr(monitor.model, "allow_pickle", False))
    if pickled and not trust.allow_pickle:
        problems.append(
            "monitor.model.allow_pickle: a pickled head runs code when loaded; replay loads "
            "one only with --allow-pickle (a scenario file cannot allow it itself)"
        )
    return problems


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
