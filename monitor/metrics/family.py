"""The drift family: every window-level drift test, one combination, one stated level.

`dataset_drift` is 1 when the family rejects at `drift.alpha`, so the chance that a window
without drift is flagged is at most `alpha`. Each test has a null distribution that holds
on small windows:

- text models: the embeddings twice (the distance of their means after whitening the
  pooled rows, which finds a new domain mixed into a window: `monitor.metrics.whitened`;
  and the Gaussian kernel's MMD², which also sees changes of spread and shape), the three
  text descriptors jointly (MMD² of the standardized vectors: one test, as three separate
  ones would spend the level on rows that are merely unusual in one descriptor), and the
  predicted class (chi-square). The four are computed on the *same* random splits of the
  pooled rows, and the family tests their smallest weighted p-value (`WEIGHTS`) against
  its own permutation distribution (Westfall and Young's min-p): the level is exact, and
  the tests' dependence, measured on the splits, is not paid for as Holm's worst case
  (`alpha / 4` for the best test). Beside that combination, the nearest-neighbour novelty
  test of the embeddings (`monitor.metrics.novelty`: are more of the window's rows unlike
  every reference row than chance allows?), exact by its own random subsets; the two are
  corrected by Holm's weighted step-down (`FAMILY_WEIGHTS`), so the family's level stays
  `alpha`.
- tabular models: each feature (two-sample KS for numbers; a chi-square statistic with a
  permutation null for categories) and the predicted class (Fisher's exact test for two
  classes; chi-square with a permutation null for more), Holm-corrected.

The top-class probability is not in the family: a reference is often the data the model
was fitted on, where it is more confident than on any new rows, so a test of confidence
flagged every window of such a monitor (`confidence_drift_score` still reports it).

Beside the family, the sequential test (`monitor.metrics.sequential`) tests the last few
windows' rows together, for drift too small for one window. The window's share of its pool
is part of the result (`DriftFamily.pooled`), which the store keeps for the next windows.

Permutations are drawn from the window's identity over its rows in canonical order
(`monitor.metrics.identity`), so flags do not depend on row order, process or cache.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from monitor.metrics.combination import MinP, holm
from monitor.metrics.drift import BLAS, CATEGORICAL, clean, column_kind
from monitor.metrics.identity import seed_of
from monitor.metrics.novelty import PERMUTATIONS, NearestNeighbourNovelty
from monitor.metrics.permutation import SplitPlan, window_side
from monitor.metrics.sequential import SequentialTest
from monitor.metrics.two_sample import (
    ClassShareMember,
    ContingencyMember,
    JointMember,
    KernelMember,
    KSMember,
    Measured,
    Member,
    Side,
    WhitenedMeanMember,
    sample_rows,
)
from monitor.records.pool import PooledWindow
from monitor.records.results import DriftFamily, DriftScore, FamilyTest

EMBEDDING = "embedding"
EMBEDDING_MEAN = "embedding_mean"
EMBEDDING_NOVELTY = "embedding_novelty"
DESCRIPTORS = "descriptors"
PREDICTED_CLASS = "predicted_class"
FEATURE_PREFIX = "feature:"
#: the record of the joint members' combination
COMBINED = "combined"
#: each joint member's weight in the combination (normalized over those present): the
#: whitened means carry most partial drift; label shift moves the predicted class so far
#: that a small weight still flags it (benchmarks/detection.py, windows with a fifth of
#: yelp / imdb rows, of 20: the Gaussian MMD at 0.7 and the others at 0.15 caught 6 / 11;
#: these weights 13 / 15)
WEIGHTS = {EMBEDDING_MEAN: 0.55, EMBEDDING: 0.15, DESCRIPTORS: 0.15, PREDICTED_CLASS: 0.15}
#: Holm's weights for the min-p combination and the novelty test (others: 1 each): the
#: novelty test at 0.3 lifted the f=0.2 windows from 13 / 15 to 20 / 20 of 20 while the
#: predicted class, at the combination's 0.7, still flagged every 80%-positive window
#: (benchmarks/detection.py)
FAMILY_WEIGHTS = {COMBINED: 0.7, EMBEDDING_NOVELTY: 0.3}

_MIN_PERMUTATIONS = 999
# The permutation tests' matrix products are small (a 100-row window: 100 x 500 x 999):
# threaded BLAS only adds synchronisation, and on shared cores it ran 3-5x slower, so they
# run under `BLAS.limit(limits=1, user_api="blas")`.


class DriftFamilyTests:
    """The family fitted on the reference; `calculate(window)` gives a `DriftFamily`.

    `sequential`: how many consecutive windows the sequential test pools and its level
    (None: no sequential test).
    """

    def __init__(
        self,
        reference: Side,
        alpha: float,
        *,
        text: bool,
        class_names: tuple[str, ...],
        embeddings: bool,
        limit: int,
        sequential: tuple[int, float] | None = None,
    ) -> None:
        self.alpha, self.limit = alpha, limit
        embedded = embeddings and reference.embeddings is not None
        rows = sample_rows(
            len(reference.keys), limit, np.random.default_rng(seed_of(reference.keys))
        )
        joint: list[JointMember] = []
        if embedded:
            joint.append(WhitenedMeanMember(EMBEDDING_MEAN, reference, rows, _embeddings))
            joint.append(KernelMember(EMBEDDING, reference, rows, _embeddings))
        if text:
            joint.append(KernelMember(DESCRIPTORS, reference, rows, _standardizer(reference)))
        others: list[Member] = []
        if not text:
            others += [_feature_member(reference, column, 0) for column in reference.features]
        count = len(others) + 1
        # the smallest p-value a permutation test can give must reach the smallest level
        self.permutations = max(_MIN_PERMUTATIONS, math.ceil(2 * count / alpha) - 1)
        others = [_refit_permutations(member, self.permutations) for member in others]
        classes = len(class_names)
        if joint:
            joint.append(ClassShareMember(PREDICTED_CLASS, reference.predicted_ids[rows], classes))
        else:
            reference_ids = pd.Series(reference.predicted_ids)
            others.append(
                ContingencyMember(
                    PREDICTED_CLASS, reference_ids, _predicted, self.permutations, classes=classes
                )
            )
        self.joint, self.others = joint, others
        self.plan = SplitPlan(len(rows), seed_of(reference.keys, 0), self.permutations)
        self.novelty: NearestNeighbourNovelty | None = None
        if embedded and len(rows) >= 4:
            # its first step's level, or the sequential test's, whichever is smaller, must be
            # reachable by a permutation p-value with room to spare
            total = sum(FAMILY_WEIGHTS.values()) + len(others)
            smallest = alpha * FAMILY_WEIGHTS[EMBEDDING_NOVELTY] / total
            if sequential is not None:
                smallest = min(smallest, sequential[1])
            self.novelty = NearestNeighbourNovelty(
                _embeddings(reference)[rows],
                seed_of(reference.keys, 3),
                permutations=max(PERMUTATIONS, math.ceil(2 / smallest) - 1),
            )
        self.sequential: SequentialTest | None = None
        if sequential is not None and self.novelty is not None:
            windows, level = sequential
            self.sequential = SequentialTest(self.novelty, windows, level, limit)

    def bandwidth(self, name: str) -> float | None:
        """The base RBF bandwidth of the kernel test `name` (its kernel sums `SCALES` times it;
        None: the family runs no such test)."""
        for member in self.joint:
            if member.name == name and isinstance(member, KernelMember):
                return member.kernel.bandwidth
        return None

    def calculate(
        self,
        window: Side,
        features: Mapping[str, DriftScore],
        history: Sequence[PooledWindow] | None = None,
    ) -> DriftFamily:
        """Test every member on `window` (its rows in canonical order).

        `history`: the windows before this one in the sequential pool, oldest first, as the
        store kept them (None: the pool this object kept in memory).

        A feature whose own test is `ks` (the `auto` method for numbers) gives its p-value
        to the family as it is: the same scipy test, which on a 1,000,000-row window costs
        a second or more per column to run twice.
        """
        measured: dict[str, Measured] = {}
        with BLAS.limit(limits=1, user_api="blas"):
            for index, member in enumerate(self.others):
                column = getattr(member, "column", None)
                own = features.get(column) if isinstance(member, KSMember) and column else None
                if own is not None and own.method == "ks":
                    measured[member.name] = Measured(None, own.score)
                    continue
                rng = np.random.default_rng(seed_of(window.keys, index + 2))
                measured[member.name] = member.test(window, rng)
            joint = self._joint(window) if self.joint else None
            novel = self._novelty_scores(window)
            if novel is not None and self.novelty is not None:
                measured[EMBEDDING_NOVELTY] = Measured(*self.novelty.test_scores(novel[1]))
        if joint is not None:
            measured[COMBINED] = Measured(joint.minimum, joint.p_value, self.permutations)
        verdicts = holm(measured, self.alpha, FAMILY_WEIGHTS)
        flagged = any(rejected for _, rejected in verdicts.values())
        sequential = pooled = None
        if self.sequential is not None and novel is not None:
            pooled = PooledWindow(self.sequential.key, seed_of(window.keys)[0], *novel)
            with BLAS.limit(limits=1, user_api="blas"):
                sequential = self.sequential.observe(pooled, not flagged, history)
        tests = {
            member.name: FamilyTest(
                member.name,
                member.method,
                measured[member.name].statistic,
                measured[member.name].p_value,
                verdicts[member.name][0],
                verdicts[member.name][1],
                measured[member.name].permutations,
            )
            for member in self.others
        }
        if self.novelty is not None:
            found = measured[EMBEDDING_NOVELTY]
            level, rejected = verdicts[EMBEDDING_NOVELTY]
            tests[EMBEDDING_NOVELTY] = FamilyTest(
                EMBEDDING_NOVELTY,
                self.novelty.method,
                found.statistic,
                found.p_value,
                level,
                rejected,
                self.novelty.permutations,
            )
        combined = None
        if joint is not None:
            level, rejected = verdicts[COMBINED]
            critical = joint.critical(level)
            for joint_member, statistic, p_value, weight in zip(
                self.joint, joint.statistics, joint.p_values, joint.weights, strict=True
            ):
                own_level = critical * weight
                tests[joint_member.name] = FamilyTest(
                    joint_member.name,
                    joint_member.method,
                    statistic,
                    p_value,
                    own_level,
                    rejected and p_value <= own_level * (1 + 1e-9),
                    self.permutations,
                )
            names = tuple(member.name for member in self.joint)
            combined = FamilyTest(
                COMBINED,
                "min-p",
                joint.minimum,
                joint.p_value,
                level,
                rejected,
                self.permutations,
                names,
            )
        weights = {name: FAMILY_WEIGHTS.get(name, 1.0) for name in measured}
        return DriftFamily(self.alpha, tests, combined, sequential, weights, pooled)

    def _novelty_scores(self, window: Side) -> tuple[np.ndarray, np.ndarray] | None:
        """The keys and novelty scores of the window's rows (at most `limit` of them), which
        both the window's novelty test and the sequential pool use (None: no novelty test)."""
        if self.novelty is None:
            return None
        rng = np.random.default_rng(seed_of(window.keys, 3))
        rows = sample_rows(len(window.keys), self.limit, rng)
        return window.keys[rows], self.novelty.scores(_embeddings(window)[rows])

    def _joint(self, window: Side) -> MinP:
        rng = np.random.default_rng(seed_of(window.keys, 1))
        rows = sample_rows(len(window.keys), self.limit, rng)
        z_w = window_side(rng, len(rows), self.plan.reference_side(len(rows)).window_places)
        matrix = np.vstack([m.statistics(window, rows, self.plan, z_w) for m in self.joint])
        return MinP(matrix, [WEIGHTS[m.name] for m in self.joint])


def _refit_permutations(member: Member, permutations: int) -> Member:
    """The member with the family's number of splits (known once the family is counted)."""
    if isinstance(member, ContingencyMember):
        member.permutations = permutations
    return member


def _standardizer(reference: Side) -> Callable[[Side], np.ndarray]:
    """The descriptors, standardized by the reference's mean and spread."""
    columns = list(reference.features.columns)
    matrix = reference.features[columns].to_numpy(dtype=float)
    center, scale = matrix.mean(axis=0), matrix.std(axis=0)
    scale[scale == 0] = 1.0

    def standardized(side: Side) -> np.ndarray:
        return np.asarray((side.features[columns].to_numpy(dtype=float) - center) / scale)

    return standardized


def _feature_member(reference: Side, column: str, permutations: int) -> Member:
    name = f"{FEATURE_PREFIX}{column}"
    values = clean(reference.features[column])
    if column_kind(values) == CATEGORICAL:
        return ContingencyMember(
            name, values, lambda side: clean(side.features[column]), permutations
        )
    return KSMember(
        name,
        values.to_numpy(dtype=float),
        lambda side: clean(side.features[column]).to_numpy(dtype=float),
        column,
    )


def _embeddings(side: Side) -> np.ndarray:
    assert side.embeddings is not None
    return side.embeddings


def _predicted(side: Side) -> pd.Series:
    return pd.Series(side.predicted_ids)
