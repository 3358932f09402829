"""Whether a candidate model's gain over the live one, on the same labelled rows, is
evidence or noise: the rule both retrains promote by.

A gain by the margin is not enough on a few dozen rows: `benchmarks/improvement.py`
promoted a head that won by one row of 14 (0.714 against 0.643) and a fine-tuned encoder
that won by two rows of 50 (0.90 against 0.86); both then scored worse than the versions
they replaced on the windows after. The two versions are compared on the same rows, so
only the rows where they disagree about being right carry evidence: the candidate right
and the live version wrong (`wins`), or the reverse (`losses`). Without a difference
between them, each such row is either with probability one half, so the one-sided p-value
of the candidate's wins is a binomial tail (McNemar's exact test, one-sided). The
candidate is promoted when its accuracy gain reaches the margin **and** that p-value is
at most `evidence`.

The default level is 0.2, not 0.05: a promotion is reversible (`model promote`, and the
next decision compares against it), while a good candidate rejected is a retrain lost. At
0.05 on 50 shadow rows, the benchmark (`--evidence 0.05`, its first 7 retrain arms of
each of 3 seeds) promoted 3 of 21 candidates and rejected fine-tuned ones that went on to
score 3-9 points above the live version; at 0.2, 12 promotions over 3 seeds, none bad. The two
bad promotions above had p-values of 0.5 and, at best for them, 0.25.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Comparison:
    """Two versions' predictions on the same labelled rows, and the promotion verdict."""

    rows: int
    live_accuracy: float
    candidate_accuracy: float
    wins: int
    losses: int
    p_value: float
    promoted: bool
    reason: str

    @property
    def gain(self) -> float:
        return self.candidate_accuracy - self.live_accuracy


def compare(
    truth: np.ndarray,
    live: np.ndarray,
    candidate: np.ndarray,
    margin: float,
    evidence: float,
) -> Comparison:
    """Promote `candidate` over `live` on rows with labels `truth` (any comparable values)?"""
    truth, live, candidate = np.asarray(truth), np.asarray(live), np.asarray(candidate)
    live_right, candidate_right = live == truth, candidate == truth
    rows = len(truth)
    live_accuracy = float(live_right.mean()) if rows else 0.0
    candidate_accuracy = float(candidate_right.mean()) if rows else 0.0
    wins = int((candidate_right & ~live_right).sum())
    losses = int((live_right & ~candidate_right).sum())
    # P(at least `wins` of the wins + losses disagreeing rows, each a fair coin)
    p_value = float(stats.binom.sf(wins - 1, wins + losses, 0.5)) if wins + losses else 1.0
    gain = candidate_accuracy - live_accuracy
    record = f"{wins} rows won, {losses} lost of {rows}"
    if not (gain > 0 and gain >= margin):
        promoted = False
        reason = f"not better by the margin: {gain:+.3f} < {margin:g} ({record})"
    elif p_value > evidence:
        promoted = False
        reason = f"better by {gain:+.3f}, not evidence: p {p_value:.3g} > {evidence:g} ({record})"
    else:
        promoted = True
        reason = f"better by {gain:+.3f} (margin {margin:g}; {record}, p {p_value:.3g})"
    return Comparison(
        rows, live_accuracy, candidate_accuracy, wins, losses, p_value, promoted, reason
    )
