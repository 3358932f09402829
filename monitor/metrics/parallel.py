"""Per-column drift spread over worker processes, for windows large enough to pay for it.

Each worker prepares its share of the reference columns once, when the pool starts; a
window then ships only that share of its own columns, and this process computes the rest
meanwhile. Scores are the serial ones exactly: the same `ColumnTest` code runs on the same
values, only elsewhere. Whether it pays depends on idle cores (`benchmarks/drift.py`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

import pandas as pd

from monitor.metrics.drift import CATEGORICAL, ColumnTest, prepare_column
from monitor.records.results import DriftScore

# Measured on 2 cores (25 columns): 1.45x over serial at 1M rows, 1.07-1.3x from 100k to
# 600k rows (under 0.4 s saved a cycle); with both cores busy with other processes, a first
# version that shipped every column lost (0.75-0.85x). Below this, keep one process.
MIN_ROWS = 500_000


def pays_off(rows: int) -> bool:
    """Whether a window this long, on this machine, is worth spreading over processes."""
    return rows >= MIN_ROWS and (os.cpu_count() or 1) >= 2


_worker_tests: dict[str, ColumnTest] = {}


def _prepare_share(specs: list[tuple[str, pd.Series, str, float | None, str]]) -> None:
    for column, reference, method, threshold, kind in specs:
        _worker_tests[column] = prepare_column(column, reference, method, threshold, kind)


def _calculate_share(current: pd.DataFrame) -> list[DriftScore]:
    return [_worker_tests[column].calculate(current[column]) for column in current.columns]


def _cost(test: ColumnTest) -> float:
    # Categorical columns stay in this process: object values cost more to pickle than to
    # count, and their Jensen-Shannon sum runs in this process's set order (see drift.py).
    return float("inf") if test.kind == CATEGORICAL else float(len(test.reference))


class ColumnPool:
    """`calculate(window)` over prepared column tests, with `processes - 1` helper processes."""

    def __init__(self, tests: Sequence[ColumnTest], processes: int = 2) -> None:
        self.tests = list(tests)
        shares: list[list[ColumnTest]] = [[] for _ in range(max(processes, 1))]
        loads = [0.0] * len(shares)
        remote_capable = sorted(
            (t for t in self.tests if _cost(t) != float("inf")), key=_cost, reverse=True
        )
        for test in remote_capable:  # greedy: the next-largest column to the lightest share
            lightest = loads.index(min(loads))
            shares[lightest].append(test)
            loads[lightest] += _cost(test)
        shares[0].extend(t for t in self.tests if _cost(t) == float("inf"))
        self._local = shares[0]
        # spawn, not fork: the daemon has threads (scheduler, exporter, torch), and a forked
        # child inherits their locks in whatever state they were
        context = multiprocessing.get_context("spawn")
        self._remote: list[tuple[ProcessPoolExecutor, list[str]]] = []
        for share in shares[1:]:
            if not share:
                continue
            specs = [(t.column, t.reference, t.method, t.threshold, t.kind) for t in share]
            executor = ProcessPoolExecutor(
                1, mp_context=context, initializer=_prepare_share, initargs=(specs,)
            )
            self._remote.append((executor, [t.column for t in share]))

    def calculate(self, current: pd.DataFrame) -> dict[str, DriftScore]:
        """Every test's score for `current`, in the order the tests were given."""
        pending: list[Future[list[DriftScore]]] = [
            executor.submit(_calculate_share, current[columns])
            for executor, columns in self._remote
        ]
        found = {t.column: t.calculate(current[t.column]) for t in self._local}
        for future in pending:
            found.update((score.column, score) for score in future.result())
        return {t.column: found[t.column] for t in self.tests}

    def close(self) -> None:
        for executor, _ in self._remote:
            executor.shutdown(cancel_futures=True)
        self._remote = []

    def __enter__(self) -> ColumnPool:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
