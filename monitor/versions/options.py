"""What the retrains read of their hook's settings, as protocols: the settings themselves are
the hooks' config models (`monitor.hooks.specs`), which sit in a layer above this package."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol


class HeadRetrainOptions(Protocol):
    """`retrain-head`'s settings (`RetrainHeadHook`)."""

    @property
    def windows(self) -> int: ...

    @property
    def holdout(self) -> float: ...

    @property
    def margin(self) -> float: ...

    @property
    def evidence(self) -> float: ...


class FmRetrainOptions(Protocol):
    """`retrain-fm`'s settings (`RetrainFmHook`)."""

    @property
    def windows(self) -> int: ...

    @property
    def margin(self) -> float: ...

    @property
    def evidence(self) -> float: ...

    @property
    def min_labels(self) -> int: ...

    @property
    def shadow_rows(self) -> int: ...

    @property
    def steps(self) -> int: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def learning_rate(self) -> float: ...

    @property
    def max_length(self) -> int: ...

    @property
    def device(self) -> str | None: ...

    @property
    def threads(self) -> int: ...

    @property
    def deadline(self) -> timedelta: ...
