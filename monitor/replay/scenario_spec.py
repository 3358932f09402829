"""The scenario file's schema: sources, clock, phases, transforms, expectations (pydantic
models, validated like the config). `monitor.replay.scenario` loads and cross-checks it."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import AfterValidator, Field, field_validator, model_validator

from monitor.config import Duration, HookChoice, RelPath, Strict
from monitor.corpus import DOMAINS, LABELS

TEXT = "text"
LABEL = "label"
# Keys a config monitor has that a scenario fills in itself.
_SCENARIO_OWNED = ("reference", "stream", "labels", "columns", "window", "schedule", "catch_up")


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
