"""A rule's episodes against the real quality drops: what it caught, how late, and the
pages it sent while the final accuracy was fine.

A drop is a run of windows whose final accuracy is under the floor; windows without final
quality (no labels yet, a failed run) neither end nor extend it, as they neither advance
nor reset a rule. An episode spans the windows from the one it fired on to the one before
it resolved (to the last window, if it never did).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.history.results import Detection, Episode, QualityDrop


def quality_drops(
    final_accuracy: Sequence[float | None],
    run_ids: Sequence[int],
    window_ends: Sequence[datetime],
    floor: float,
) -> list[QualityDrop]:
    """The drops in a history, given each window's final accuracy (None: none final)."""
    drops: list[QualityDrop] = []
    onset: int | None = None
    last_low = 0
    lowest = 1.0
    for index, value in enumerate(final_accuracy):
        if value is None:
            continue
        if value < floor:
            if onset is None:
                onset, lowest = index, value
            last_low, lowest = index, min(lowest, value)
            continue
        if onset is not None:
            drops.append(QualityDrop(onset, last_low, run_ids[onset], window_ends[onset], lowest))
            onset = None
    if onset is not None:
        drops.append(QualityDrop(onset, last_low, run_ids[onset], window_ends[onset], lowest))
    return drops


def _span(episode: Episode, last: int) -> tuple[int, int]:
    end = last if episode.resolved_index is None else episode.resolved_index - 1
    return episode.index, max(end, episode.index)


def score_episodes(
    episodes: Sequence[Episode],
    drops: Sequence[QualityDrop],
    final_accuracy: Sequence[float | None],
    window_ends: Sequence[datetime],
) -> tuple[list[Detection], list[int], list[int], list[int]]:
    """(detections, missed drops, false alarms, unscored episodes) of one rule.

    A drop is caught by the first episode whose span overlaps it; an episode that overlaps
    no drop is a false alarm when some window of its span has final quality (all of it at
    or above the floor, then), else unscored: nothing final says whether it was right.
    """
    last = len(final_accuracy) - 1
    spans = {episode.number: _span(episode, last) for episode in episodes}
    detections: list[Detection] = []
    missed: list[int] = []
    overlapping: set[int] = set()
    for number, drop in enumerate(drops):
        hits = [
            episode
            for episode in episodes
            if spans[episode.number][0] <= drop.end and spans[episode.number][1] >= drop.onset
        ]
        overlapping |= {episode.number for episode in hits}
        if not hits:
            missed.append(number)
            continue
        first = hits[0]
        detections.append(
            Detection(
                number,
                first.number,
                first.index - drop.onset,
                first.window_end - window_ends[drop.onset],
            )
        )
    false_alarms: list[int] = []
    unscored: list[int] = []
    for episode in episodes:
        if episode.number in overlapping:
            continue
        low, high = spans[episode.number]
        judged = any(value is not None for value in final_accuracy[low : high + 1])
        (false_alarms if judged else unscored).append(episode.number)
    return detections, missed, false_alarms, unscored
