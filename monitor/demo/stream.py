"""The demo's endless review stream: row k is always the same text, and the mix drifts in cycles.

Rows are generated in fixed blocks seeded by their block number, so any row can be rebuilt
from its index alone and a restart resumes exactly after the stored watermark.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from monitor.config import ColumnsConfig
from monitor.corpus import generate_reviews, transforms
from monitor.errors import SourceError
from monitor.records.rows import ROW_ID
from monitor.sources.base import Source, Window
from monitor.sources.rows import RowCheck, split_usable

log = logging.getLogger("driftwarden.demo")

#: what the log says as the stream enters each phase (what the metrics will show next)
PHASE_NEWS = {
    "healthy": "healthy: reviews like the reference; drift scores low, accuracy high",
    "drifting": "drifting: other domains and noisy text mix in; dataset_drift and alerts follow",
    "recovering": "recovering: the mix returns to the reference's; alerts resolve",
}

DEMO_SEED = 20_240_601
BLOCK_ROWS = 16  # rows generated together; small, so phase changes are not blurred
HEALTHY_DOMAINS = {"electronics": 0.4, "restaurants": 0.3, "hotels": 0.3}
DRIFTED_DOMAINS = {"movies": 0.6, "books": 0.4}
_BLOCK_CACHE = 32  # a window spans a few blocks; keep a handful, never the whole stream


@dataclass(frozen=True)
class DriftCycle:
    """Where in its repeating cycle the stream drifts, as shares of `period_rows`.

    Healthy until `ramp_in`, ramps to full drift by `drifting`, stays drifted until
    `recovering`, ramps back to healthy by `healthy_again`, then repeats.
    """

    period_rows: int = 36 * 64
    ramp_in: float = 0.30
    drifting: float = 0.40
    recovering: float = 0.70
    healthy_again: float = 0.80

    def progress(self, row: int) -> float:
        """0 (healthy) to 1 (fully drifted) for the row at index `row`."""
        at = (row % self.period_rows) / self.period_rows
        if at < self.ramp_in or at >= self.healthy_again:
            return 0.0
        if at < self.drifting:
            return (at - self.ramp_in) / (self.drifting - self.ramp_in)
        if at < self.recovering:
            return 1.0
        return 1.0 - (at - self.recovering) / (self.healthy_again - self.recovering)

    def phase(self, row: int) -> str:
        """`healthy`, `drifting` (ramping in or drifted) or `recovering`, for logs and docs."""
        at = (row % self.period_rows) / self.period_rows
        if at < self.ramp_in or at >= self.healthy_again:
            return "healthy"
        return "drifting" if at < self.recovering else "recovering"


def _seed(*parts: int) -> int:
    return int(np.random.SeedSequence([DEMO_SEED, *parts]).generate_state(1)[0])


def healthy_reviews(n: int, seed: int) -> pd.DataFrame:
    """Reviews from the distribution the demo head is fitted on (and its reference)."""
    return generate_reviews(n, seed=seed, domains=HEALTHY_DOMAINS, positive_share=0.5)


def drifted_reviews(n: int, seed: int) -> pd.DataFrame:
    """Long film and book reviews, fewer positives, more hard cases, typos, some flipped
    labels (concept drift) and a share of garbage rows that the cycle quarantines."""
    rng = np.random.default_rng(seed)
    frame = generate_reviews(
        n, seed=seed, domains=DRIFTED_DOMAINS, positive_share=0.3, hard_share=0.3
    )
    frame = transforms.add_typos(frame, 0.08, rng)
    frame = transforms.flip_labels(frame, 0.15, rng)
    return transforms.inject_garbage(frame, 0.06, rng)


def generate_block(block: int, cycle: DriftCycle) -> pd.DataFrame:
    """Rows `block * BLOCK_ROWS` onwards: the same text for the same block, always."""
    first = block * BLOCK_ROWS
    healthy = healthy_reviews(BLOCK_ROWS, _seed(block, 0))
    progress = cycle.progress(first)
    if progress > 0:
        drifted = drifted_reviews(BLOCK_ROWS, _seed(block, 1))
        healthy = transforms.ramp_mix(healthy, drifted, progress, _seed(block, 2))
    rows = healthy.reset_index(drop=True)
    rows[ROW_ID] = [f"demo-{first + i}" for i in range(len(rows))]
    return rows


class DemoStream(Source):
    """An endless source: every read returns the next `window_rows` usable rows.

    The watermark is the index of the last row read (`{"row": k}`); rows the cycle cannot
    use (garbage, empty) are set aside exactly as a file source would.
    """

    def __init__(
        self,
        columns: ColumnsConfig,
        window_rows: int,
        cycle: DriftCycle | None = None,
        check: RowCheck | None = None,
    ) -> None:
        self.columns = columns
        self.check = check or RowCheck(columns)
        self.window_rows = window_rows
        self.cycle = cycle or DriftCycle()
        self._blocks: OrderedDict[int, pd.DataFrame] = OrderedDict()
        self._phase: str | None = None

    def read(self, after: str | None, now: datetime) -> Window:
        first = self._first_row(after)
        # generous slice: garbage rows are set aside, so more than one window may be needed
        candidates = self.rows(first, first + 2 * self.window_rows)
        usable, rejected, consumed = split_usable(candidates, self.check, self.window_rows)
        while len(usable) < self.window_rows:  # only with an absurd garbage share
            candidates = self.rows(first, first + consumed + 2 * self.window_rows)
            usable, rejected, consumed = split_usable(candidates, self.check, self.window_rows)
        last = first + consumed - 1
        self._announce(self.cycle.phase(first), first)
        return Window(
            rows=usable,
            rejected=rejected,
            position=json.dumps({"row": last}),
            start=None,
            end=None,
            extra={"phase": self.cycle.phase(first), "drift_progress": self.cycle.progress(first)},
        )

    def _announce(self, phase: str, row: int) -> None:
        """Log the phase the stream is in when it changes (and at the first read)."""
        if phase != self._phase:
            self._phase = phase
            log.info(
                "demo stream: %s (from row %d)", PHASE_NEWS[phase], row, extra={"phase": phase}
            )

    def rows(self, start: int, stop: int) -> pd.DataFrame:
        """Rows `start` to `stop - 1` of the stream."""
        blocks = range(start // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1)
        frame = pd.concat([self._block(b) for b in blocks], ignore_index=True)
        offset = start - blocks[0] * BLOCK_ROWS
        return frame.iloc[offset : offset + stop - start].reset_index(drop=True)

    def _block(self, block: int) -> pd.DataFrame:
        found = self._blocks.get(block)
        if found is None:
            found = generate_block(block, self.cycle)
            self._blocks[block] = found
            while len(self._blocks) > _BLOCK_CACHE:
                self._blocks.popitem(last=False)
        return found

    @staticmethod
    def _first_row(after: str | None) -> int:
        if after is None:
            return 0
        try:
            return int(json.loads(after)["row"]) + 1
        except (ValueError, KeyError, TypeError):
            raise SourceError(
                f"the stored watermark {after!r} is not the demo stream's; "
                "use a fresh --db for the demo"
            ) from None
