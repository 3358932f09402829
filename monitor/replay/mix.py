"""Drawing a scenario's reference and windows: weighted mixes of sources, then the transforms.

Everything is seeded from the scenario's `seed`, so a scenario always yields the same rows.
A CSV source is a shuffled pool drawn without replacement (the reference first, then the
windows in order), so a window never repeats a reference row until the pool runs out.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from monitor.corpus import LABELS, generate_reviews, transforms
from monitor.replay.scenario import LABEL, TEXT, Phase, Scenario, SourceSpec

log = logging.getLogger("driftwarden.replay")

# Where a row came from: the mix component, and its row in a CSV source (-1: generated).
# Kept in the window for inspection; the cycle never scores them.
SOURCE = "source"
SOURCE_ROW = "source_row"


@dataclass
class PlannedWindow:
    """One window of the replay: its rows and where it sits in the scenario."""

    index: int
    phase: int
    phase_name: str
    drift: bool
    progress: float  # how far a `ramp_to` phase has moved (0 outside ramps)
    rows: pd.DataFrame


class _CorpusDrawer:
    def __init__(self, domain: str, spec: SourceSpec | None) -> None:
        self.domain = domain
        given = spec or SourceSpec(corpus=domain)
        self.positive_share = 0.5 if given.positive_share is None else given.positive_share
        self.hard_share = 0.1 if given.hard_share is None else given.hard_share

    def draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        frame = generate_reviews(
            n,
            seed=int(rng.integers(2**63 - 1)),
            domains={self.domain: 1.0},
            positive_share=self.positive_share,
            hard_share=self.hard_share,
        )
        return frame[[TEXT, LABEL]].assign(**{SOURCE_ROW: -1})


class _PoolDrawer:
    """A CSV table drawn without replacement in a seeded order; reshuffled when used up."""

    def __init__(self, name: str, table: pd.DataFrame, seed: int) -> None:
        self.name = name
        self.table = table
        self.rng = np.random.default_rng(seed)
        self.order = self.rng.permutation(len(table))
        self.cursor = 0
        self.rounds = 1

    def draw(self, n: int, rng: np.random.Generator) -> pd.DataFrame:
        taken: list[np.ndarray] = []
        while n > 0:
            if self.cursor >= len(self.order):
                self.rounds += 1
                if self.rounds == 2:
                    log.warning(
                        "source %s: all %d rows used; drawing them again in a new order",
                        self.name,
                        len(self.table),
                    )
                self.order, self.cursor = self.rng.permutation(len(self.table)), 0
            chunk = self.order[self.cursor : self.cursor + n]
            self.cursor += len(chunk)
            n -= len(chunk)
            taken.append(chunk)
        rows = np.concatenate(taken) if taken else np.array([], dtype=int)
        return self.table.iloc[rows][[TEXT, LABEL]].assign(**{SOURCE_ROW: rows})


class WindowPlanner:
    """Draws the reference, then every window, from the scenario's sources."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        spec = scenario.spec
        self.drawers: dict[str, _CorpusDrawer | _PoolDrawer] = {}
        for i, (name, source) in enumerate(sorted(spec.sources.items())):
            if source.csv is not None:
                seed = _seed(spec.seed, 1_000 + i)
                self.drawers[name] = _PoolDrawer(name, scenario.tables[name], seed)
            else:
                assert source.corpus is not None
                self.drawers[name] = _CorpusDrawer(source.corpus, source)

    def _drawer(self, name: str) -> _CorpusDrawer | _PoolDrawer:
        if name not in self.drawers:  # a bare corpus domain named in a mix
            self.drawers[name] = _CorpusDrawer(name, None)
        return self.drawers[name]

    def draw_mix(self, mix: Mapping[str, float], n: int, rng: np.random.Generator) -> pd.DataFrame:
        """`n` rows: how many from each source is a multinomial draw, then all are shuffled."""
        names = sorted(name for name, weight in mix.items() if weight > 0)
        weights = np.array([mix[name] for name in names], dtype=float)
        counts = rng.multinomial(n, weights / weights.sum())
        parts = [
            self._drawer(name).draw(int(count), rng).assign(**{SOURCE: name})
            for name, count in zip(names, counts, strict=True)
            if count
        ]
        frame = pd.concat(parts, ignore_index=True)
        return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)

    def reference(self) -> pd.DataFrame:
        spec = self.scenario.spec
        rng = np.random.default_rng(_seed(spec.seed, 0))
        return self.draw_mix(spec.reference.mix, spec.reference.rows, rng)

    def windows(self) -> list[PlannedWindow]:
        """Every window in order (draw the reference first: CSV pools serve it first)."""
        spec = self.scenario.spec
        planned: list[PlannedWindow] = []
        index = 0
        for number, phase in enumerate(spec.phases):
            name = phase.name or f"phase-{number}"
            for k in range(phase.windows):
                rng = np.random.default_rng(_seed(spec.seed, 1, index))
                progress = (k + 1) / phase.windows if phase.ramp_to is not None else 0.0
                rows = self._window_rows(phase, progress, spec.window.rows, rng)
                planned.append(PlannedWindow(index, number, name, phase.drift, progress, rows))
                index += 1
        return planned

    def _window_rows(
        self, phase: Phase, progress: float, n: int, rng: np.random.Generator
    ) -> pd.DataFrame:
        mix = _ramped(phase.mix, phase.ramp_to, progress)
        steps = phase.transforms
        if steps.positive_share is not None:
            frame = self._with_prior(mix, n, steps.positive_share, rng)
        else:
            frame = self.draw_mix(mix, n, rng)
        if steps.flip_labels:
            frame = transforms.flip_labels(frame, steps.flip_labels, rng)
        if steps.typos:
            frame = transforms.add_typos(frame, steps.typos, rng)
        if steps.truncate:
            frame = transforms.truncate(frame, steps.truncate, rng, steps.truncate_words)
        if steps.garbage:
            frame = transforms.inject_garbage(frame, steps.garbage, rng)
        if steps.empty:
            frame = _empty(frame, steps.empty, rng)
        return frame.reset_index(drop=True)

    def _with_prior(
        self, mix: Mapping[str, float], n: int, share: float, rng: np.random.Generator
    ) -> pd.DataFrame:
        """`n` rows of which exactly `round(share * n)` are positive, none drawn twice.

        Over-draws the mix until both classes have enough rows (the usual prior shift
        transform resamples one window with replacement, which repeats texts).
        """
        positives = round(share * n)
        wanted = {LABELS[1]: positives, LABELS[0]: n - positives}
        drawn = self.draw_mix(mix, 2 * n, rng)
        for _ in range(4):
            counts = drawn[LABEL].value_counts()
            if all(counts.get(label, 0) >= count for label, count in wanted.items()):
                break
            drawn = pd.concat([drawn, self.draw_mix(mix, 2 * n, rng)], ignore_index=True)
        else:
            return transforms.shift_class_prior(drawn, share, rng).iloc[:n]
        parts = [drawn[drawn[LABEL] == label].iloc[:count] for label, count in wanted.items()]
        frame = pd.concat(parts, ignore_index=True)
        return frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)


def _ramped(
    start: Mapping[str, float], end: Mapping[str, float] | None, progress: float
) -> dict[str, float]:
    """The mix `progress` of the way from `start` to `end`: a row comes from `end` with
    probability `progress`, as `transforms.ramp_mix` does, without drawing both mixes."""
    if end is None:
        return dict(start)
    total_start, total_end = sum(start.values()), sum(end.values())
    mix: dict[str, float] = {}
    for name, weight in start.items():
        mix[name] = mix.get(name, 0.0) + (1 - progress) * weight / total_start
    for name, weight in end.items():
        mix[name] = mix.get(name, 0.0) + progress * weight / total_end
    return mix


def _empty(frame: pd.DataFrame, rate: float, rng: np.random.Generator) -> pd.DataFrame:
    """Empty the text of exactly `round(rate * n)` random rows (the cycle quarantines them)."""
    positions = np.sort(rng.choice(len(frame), size=round(rate * len(frame)), replace=False))
    out = frame.copy()
    out[TEXT] = out[TEXT].astype(object)
    out.iloc[positions, out.columns.get_loc(TEXT)] = ""
    return out


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence(list(parts)).generate_state(1)[0])
