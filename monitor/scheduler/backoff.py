"""How long a failing monitor sits out: after the n-th failure in a row, 2^(n-1) - 1
wake-ups, never more than `MAX_BACKOFF` worth."""

from __future__ import annotations

import math
from datetime import timedelta

MAX_BACKOFF = timedelta(minutes=15)


class Backoff:
    """Consecutive failures of one monitor and the wake-ups it still sits out."""

    def __init__(self, period: timedelta) -> None:
        self.period = period
        self.failures = 0
        self.skip = 0

    def sit_out(self) -> bool:
        """True when this wake-up is one to skip (and count it)."""
        if self.skip <= 0:
            return False
        self.skip -= 1
        return True

    def failed(self) -> int:
        """Count a failure; returns how many wake-ups the monitor now sits out."""
        self.failures += 1
        limit = max(0, math.ceil(MAX_BACKOFF / self.period) - 1) if self.period else 0
        self.skip = min(2 ** (self.failures - 1) - 1, limit)
        return self.skip

    def succeeded(self) -> None:
        self.failures = 0

    def reset(self) -> None:
        """Forget the failures: what caused them (the store was down) is gone."""
        self.failures = 0
        self.skip = 0
