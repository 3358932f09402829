"""Drift side by side: Evidently's `DataDriftPreset` report against driftwarden's column tests.

Reference and current windows of 100,000 rows each (seeded): 20 numerical columns (normal,
lognormal, integer-valued, gamma; 1% NaN in two) and 5 categorical ones (3 to 19 string
categories), with drift in numerical columns 0, 5 and 11 and categorical column 2. The
preset picks a method per column; driftwarden runs the same method and threshold per column
through `prepare_column` (once per reference, as the engine keeps it between cycles) and
`ColumnTest.calculate` (every cycle). Scores and drifted flags are compared column by column.

The speedup is the preset's report (build datasets, run, read the result) over one
driftwarden cycle with the reference prepared; the cold figure (prepare + one cycle) is
printed beside it. Each side's best of `--rounds` counts (the cores here are shared).
Then the same at 1,000,000 rows, where a pool of 2 processes over columns is tried too.

    python benchmarks/drift.py [--quick] [--rows 100000] [--no-million] [--rounds 2]

The last line is JSON (for --rows): {"speedup_vs_preset", "max_abs_score_diff",
"flags_equal", "peak_rss_mb"}. Targets: >= 8, <= 1e-9, true; >= 15 at 1M rows.
`peak_rss_mb` is this process's peak after driftwarden's path, before the preset runs.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

NUMERICAL_COLUMNS = 20
CATEGORICAL_COLUMNS = 5
DRIFTED_NUMERICAL = (0, 5, 11)
DRIFTED_CATEGORICAL = (2,)


def make_frame(rows: int, seed: int, drifted: bool) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i in range(NUMERICAL_COLUMNS):
        shift = 0.3 if drifted and i in DRIFTED_NUMERICAL else 0.0
        kind = i % 4
        if kind == 0:
            values = rng.normal(shift, 1.0, rows)
        elif kind == 1:
            values = rng.lognormal(shift, 0.5, rows)
        elif kind == 2:
            values = rng.integers(0, 50, rows).astype(float) + 10 * shift
        else:
            values = rng.gamma(2.0 + shift, 2.0, rows)
        if i in (3, 7):
            values[rng.random(rows) < 0.01] = np.nan
        columns[f"num_{i:02d}"] = values
    for j in range(CATEGORICAL_COLUMNS):
        count = 3 + 4 * j
        weights = np.linspace(1.0, 4.0, count) if drifted and j in DRIFTED_CATEGORICAL else None
        probabilities = None if weights is None else weights / weights.sum()
        names = np.array([f"c{k}" for k in range(count)], dtype=object)
        columns[f"cat_{j}"] = rng.choice(names, rows, p=probabilities)
    return pd.DataFrame(columns)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class PresetResult:
    seconds: float
    methods: dict[str, tuple[str, float]]
    scores: dict[str, float]
    flags: dict[str, bool]


def run_preset(reference: pd.DataFrame, current: pd.DataFrame) -> PresetResult:
    """What a user would run: the preset with tests on, its result read back."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.legacy.calculations.stattests.registry import _registered_stat_tests
    from evidently.presets import DataDriftPreset

    # the report names methods by display name; driftwarden pins them by registered name
    by_display = {
        test.display_name: name
        for name, by_type in _registered_stat_tests.items()
        for test in by_type.values()
    }
    numerical = [c for c in reference if c.startswith("num_")]
    categorical = [c for c in reference if c.startswith("cat_")]
    start = time.perf_counter()
    definition = DataDefinition(numerical_columns=numerical, categorical_columns=categorical)
    snapshot = Report([DataDriftPreset()], include_tests=True).run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    result = snapshot.dict()
    seconds = time.perf_counter() - start
    methods, scores, flags = {}, {}, {}
    for metric in result["metrics"]:
        config = metric["config"]
        if config["type"].endswith(":ValueDrift"):
            methods[config["column"]] = (by_display[config["method"]], config["threshold"])
            scores[config["column"]] = float(metric["value"])
    for test in result["tests"]:
        params = test["metric_config"]["params"]
        if params["type"].endswith(":ValueDrift"):
            flags[params["column"]] = test["status"] == "FAIL"
    return PresetResult(seconds, methods, scores, flags)


def best_of(rounds: int, action: Callable[[], Any]) -> tuple[float, Any]:
    """The fastest of `rounds` runs (the others measure the neighbours) and its result."""
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - start)
    return min(times), result


def compare(rows: int, rounds: int, seed: int, processes: int) -> dict[str, Any]:
    from monitor.metrics.drift import CATEGORICAL, NUMERICAL, prepare_column

    reference = make_frame(rows, seed, drifted=False)
    current = make_frame(rows, seed + 1, drifted=True)
    # The preset decides the methods: a small run on a slice names them (they depend only on
    # column types and the reference passing 1,000 rows), so driftwarden's side runs first
    # and the peak RSS read after it is its own, not the preset's.
    methods = run_preset(reference.iloc[:2000], current.iloc[:2000]).methods

    def kind(column: str) -> str:
        return NUMERICAL if column.startswith("num_") else CATEGORICAL

    def prepare() -> dict[str, Any]:
        return {c: prepare_column(c, reference[c], *methods[c], kind(c)) for c in reference}

    fit_seconds, tests = best_of(1, prepare)
    cycle_seconds, ours = best_of(
        rounds, lambda: {c: t.calculate(current[c]) for c, t in tests.items()}
    )
    rss = peak_rss_mb()
    pooled_seconds = None
    if processes > 1:
        from monitor.metrics.parallel import ColumnPool

        with ColumnPool(list(tests.values()), processes) as pool:
            pooled = pool.calculate(current)  # starts the workers; not timed
            pooled_seconds, pooled = best_of(rounds, lambda: pool.calculate(current))
        assert all(pooled[c] == ours[c] for c in ours), "pooled scores differ from serial"
    preset_seconds, preset = best_of(
        max(1, rounds - 1) if rows >= 1_000_000 else rounds,
        lambda: run_preset(reference, current),
    )
    assert preset.methods == methods, "the preset picked other methods on the full data"
    diff = max(abs(ours[c].score - preset.scores[c]) for c in ours)
    flags_equal = all(ours[c].drifted == preset.flags[c] for c in ours)
    used = sorted({f"{m} ({t})" for m, t in methods.values()})
    print(
        f"\n{rows:,} rows x {len(tests)} columns; methods: {', '.join(used)}; "
        f"load {os.getloadavg()[0]:.1f}"
    )
    print(f"  preset report             {preset_seconds:8.2f} s")
    print(f"  driftwarden prepare       {fit_seconds:8.2f} s (once per reference)")
    print(
        f"  driftwarden cycle         {cycle_seconds:8.2f} s -> "
        f"{preset_seconds / cycle_seconds:.1f}x the preset; cold (prepare + cycle) "
        f"{preset_seconds / (fit_seconds + cycle_seconds):.1f}x"
    )
    if pooled_seconds is not None:
        print(
            f"  cycle on {processes} processes     {pooled_seconds:8.2f} s -> "
            f"{preset_seconds / pooled_seconds:.1f}x the preset, "
            f"{cycle_seconds / pooled_seconds:.2f}x serial (scores identical)"
        )
    drifted = sorted(c for c in ours if ours[c].drifted)
    print(f"  max |score diff| {diff:.2e}; flags equal: {flags_equal}; drifted: {drifted}")
    print(
        f"  peak RSS {rss:.0f} MB after driftwarden's path, {peak_rss_mb():.0f} MB after the preset"
    )
    return {
        "speedup_vs_preset": round(preset_seconds / cycle_seconds, 2),
        "max_abs_score_diff": diff,
        "flags_equal": flags_equal,
        "peak_rss_mb": round(rss, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 rows, no 1M run")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--no-million", action="store_true", help="skip the 1,000,000-row run")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2, help="pool size tried at 1M rows")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # Evidently's deprecation notices
    rows = 10_000 if args.quick else args.rows
    headline = compare(rows, args.rounds, args.seed, processes=1)
    if not (args.quick or args.no_million):
        million = compare(1_000_000, args.rounds, args.seed, processes=args.processes)
        print(f"1,000,000 rows: {json.dumps(million)}")
    print(json.dumps(headline))


if __name__ == "__main__":
    main()
