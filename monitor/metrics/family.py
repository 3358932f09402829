"""The drift family: every window-level drift test, one correction, one stated level.

`dataset_drift` is 1 when Holm's step-down procedure at `drift.alpha` rejects any test of
the family, so the chance that a window without drift is flagged is at most `alpha`
whatever the tests' dependence. Each test has a null distribution that holds on small
windows:

- text models: the embeddings (MMD², permutation), the three text descriptors jointly
  (MMD² of the standardized vectors, permutation: one test, as three separate ones would
  spend the level on rows that are merely unusual in one descriptor);
- tabular models: each feature (two-sample KS for numbers; a chi-square statistic with a
  permutation null for categories);
- both: the predicted class (Fisher's exact test for two classes; chi-square with a
  permutation null for more).

The top-class probability is not in the family: a reference is often the data the model
was fitted on, where it is more confident than on any new rows, so a test of confidence
flagged every window of such a monitor (`confidence_drift_score` still reports it).

Permutations are drawn from the window's identity over its rows in canonical order
(`monitor.metrics.identity`), so flags do not depend on row order, process or cache.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from monitor.metrics.drift import CATEGORICAL, clean, column_kind
from monitor.metrics.identity import seed_of
from monitor.metrics.two_sample import (
    ContingencyMember,
    KernelMember,
    KSMember,
    Measured,
    Member,
    Side,
)
from monitor.records.results import DriftFamily, DriftScore, FamilyTest

EMBEDDING = "embedding"
DESCRIPTORS = "descriptors"
PREDICTED_CLASS = "predicted_class"
FEATURE_PREFIX = "feature:"

_MIN_PERMUTATIONS = 999
# The permutation tests' matrix products are small (a 100-row window: 100 x 500 x 999):
# threaded BLAS only adds synchronisation, and on shared cores it ran 3-5x slower.
_BLAS = ThreadpoolController()


def holm(measured: dict[str, Measured], alpha: float) -> dict[str, tuple[float, bool]]:
    """Holm's step-down: each test's level (`alpha / (m - rank)`) and whether it rejects."""
    ranked = sorted(measured, key=lambda name: (measured[name].p_value, name))
    count = len(ranked)
    verdicts: dict[str, tuple[float, bool]] = {}
    rejecting = True
    for rank, name in enumerate(ranked):
        level = alpha / (count - rank)
        rejecting = rejecting and measured[name].p_value <= level
        verdicts[name] = (level, rejecting)
    return verdicts


class DriftFamilyTests:
    """The family fitted on the reference; `calculate(window)` gives a `DriftFamily`."""

    def __init__(
        self,
        reference: Side,
        alpha: float,
        *,
        text: bool,
        class_names: tuple[str, ...],
        embeddings: bool,
        limit: int,
    ) -> None:
        self.alpha = alpha
        members: list[Member] = []
        kernel_tests = int(embeddings and reference.embeddings is not None) + int(text)
        count = kernel_tests + (0 if text else len(reference.features.columns))
        count += 1
        # the smallest p-value a permutation test can give must reach the smallest level
        self.permutations = max(_MIN_PERMUTATIONS, math.ceil(2 * count / alpha) - 1)
        if embeddings and reference.embeddings is not None:
            members.append(
                KernelMember(
                    EMBEDDING,
                    reference,
                    _embeddings,
                    limit,
                    self.permutations,
                    alpha,
                    seed_of(reference.keys, len(members)),
                )
            )
        if text:
            columns = list(reference.features.columns)
            matrix = reference.features[columns].to_numpy(dtype=float)
            center, scale = matrix.mean(axis=0), matrix.std(axis=0)
            scale[scale == 0] = 1.0

            def standardized(side: Side) -> np.ndarray:
                return (side.features[columns].to_numpy(dtype=float) - center) / scale

            members.append(
                KernelMember(
                    DESCRIPTORS,
                    reference,
                    standardized,
                    limit,
                    self.permutations,
                    alpha,
                    seed_of(reference.keys, len(members)),
                )
            )
        else:
            for column in reference.features.columns:
                members.append(_feature_member(reference, column, self.permutations))
        members.append(
            ContingencyMember(
                PREDICTED_CLASS,
                pd.Series(reference.predicted_ids),
                _predicted,
                self.permutations,
                classes=len(class_names),
            )
        )
        self.members = members

    def bandwidth(self, name: str) -> float | None:
        """The RBF bandwidth of the kernel test `name` (None: the family runs no such test)."""
        for member in self.members:
            if member.name == name and isinstance(member, KernelMember):
                return member.kernel.bandwidth
        return None

    def calculate(self, window: Side, features: Mapping[str, DriftScore]) -> DriftFamily:
        """Test every member on `window` (its rows in canonical order).

        A feature whose own test is `ks` (the `auto` method for numbers) gives its p-value
        to the family as it is: the same scipy test, which on a 1,000,000-row window costs
        a second or more per column to run twice.
        """
        measured: dict[str, Measured] = {}
        with _BLAS.limit(limits=1, user_api="blas"):
            for index, member in enumerate(self.members):
                column = getattr(member, "column", None)
                own = features.get(column) if isinstance(member, KSMember) and column else None
                if own is not None and own.method == "ks":
                    measured[member.name] = Measured(None, own.score)
                    continue
                rng = np.random.default_rng(seed_of(window.keys, index + 1))
                measured[member.name] = member.test(window, rng)
        verdicts = holm(measured, self.alpha)
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
            for member in self.members
        }
        return DriftFamily(self.alpha, tests)


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
