"""Folding stored runs into what the counters and the duration histogram show.

Each run is folded once (the whole table at the first scrape, then only new runs), so the
counters count everything ever recorded, across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from monitor.store.latest import RunFacts

STAGES = ("read", "score", "metrics", "store", "total")
# Cycle durations run from well under a second (small windows) to minutes (big ones).
# Buckets go past an hourly schedule (and a daily one): a cycle that takes longer than its
# period is exactly the case a p95 capped at the top bucket would hide.
DURATION_BUCKETS = (
    *(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
    *(600.0, 1800.0, 3600.0, 7200.0, 21600.0, 86400.0),
)


@dataclass
class StageHistogram:
    buckets: list[int] = field(default_factory=lambda: [0] * len(DURATION_BUCKETS))
    count: int = 0
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        for i, bound in enumerate(DURATION_BUCKETS):
            if seconds <= bound:
                self.buckets[i] += 1
        self.count += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, float]]:
        pairs = [
            (_le(bound), float(n)) for bound, n in zip(DURATION_BUCKETS, self.buckets, strict=True)
        ]
        return [*pairs, ("+Inf", float(self.count))]


@dataclass
class MonitorTally:
    """Everything folded so far from one monitor's runs."""

    runs: dict[str, int] = field(default_factory=lambda: {"ok": 0, "error": 0})
    rows: int = 0
    quarantined: int = 0
    stages: dict[str, StageHistogram] = field(default_factory=dict)
    latest_ok: RunFacts | None = None
    latest_error: RunFacts | None = None
    latest: RunFacts | None = None
    model_version: str | None = None

    def fold(self, run: RunFacts) -> None:
        outcome = "ok" if run.status == "ok" else "error"
        self.runs[outcome] = self.runs.get(outcome, 0) + 1
        self.rows += run.rows
        self.quarantined += run.quarantined
        stages = dict(run.stage_seconds)
        if stages and "total" not in stages:  # older cycles stored the stages without a total
            stages["total"] = sum(stages.values())
        for stage, seconds in stages.items():
            self.stages.setdefault(stage, StageHistogram()).observe(float(seconds))
        if run.status == "ok" and (self.latest_ok is None or run.run_id > self.latest_ok.run_id):
            self.latest_ok = run
        if run.status != "ok" and (
            self.latest_error is None or run.run_id > self.latest_error.run_id
        ):
            self.latest_error = run
        if self.latest is None or run.run_id > self.latest.run_id:
            self.latest = run
        if run.model_version:
            self.model_version = run.model_version


def _le(bound: float) -> str:
    return repr(float(bound))


def stage_order(stage: str) -> tuple[int, str]:
    return (STAGES.index(stage) if stage in STAGES else len(STAGES), stage)
