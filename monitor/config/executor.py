"""The `executor:` block: where cycles' pure part runs (light: pydantic only, no Dask).

`in-process` (the default) runs read, scoring and metrics in the daemon's own threads;
`dask` submits them to a Dask distributed cluster (`address: tcp://HOST:8786`, or `local`
for a LocalCluster the daemon starts). Either way the daemon keeps the schedule, writes
the store and evaluates the rules, and `concurrency` bounds the cycles in flight at once.
"""

from __future__ import annotations

import importlib.util
import re
from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from monitor.plugins.fields import Duration, Strict

DASK_EXTRA = "pip install 'driftwarden[dask]'"
EXECUTOR_TYPES = ("in-process", "dask")
_ADDRESS = re.compile(r"^(local|(tcp|tls|ws|wss|inproc|ucx)://\S+)$")
IN_PROCESS_CONCURRENCY = 4
DASK_CONCURRENCY = 16


def dask_installed() -> bool:
    """Whether Dask distributed can be imported (looked up, not imported: that takes a
    second, and `check-config` answers in less)."""
    return importlib.util.find_spec("distributed") is not None


class InProcessExecutorConfig(Strict):
    """Cycles run on a bounded pool of the daemon's threads."""

    type: Literal["in-process"] = "in-process"
    concurrency: int = Field(
        IN_PROCESS_CONCURRENCY, ge=1, le=1024, description="cycles running at once"
    )


class DaskExecutorConfig(Strict):
    """Cycles' read, scoring and metrics run as tasks on a Dask distributed cluster."""

    type: Literal["dask"]
    address: str = Field(description="the scheduler's address, or `local` to start a LocalCluster")
    concurrency: int = Field(DASK_CONCURRENCY, ge=1, le=4096, description="cycles in flight")
    workers: int | None = Field(None, ge=1, description="LocalCluster worker processes")
    threads_per_worker: int | None = Field(None, ge=1, description="LocalCluster threads")
    timeout: Duration = Field(
        default_factory=lambda: timedelta(minutes=10),
        description="how long the daemon waits for a cycle's result before recording an error",
    )

    @field_validator("address")
    @classmethod
    def _an_address(cls, value: str) -> str:
        if not _ADDRESS.match(value):
            raise ValueError(
                f"{value!r} is no scheduler address: give `local` or e.g. tcp://HOST:8786"
            )
        return value

    @model_validator(mode="after")
    def _dask_installed(self) -> Self:
        if not dask_installed():
            raise ValueError(f"the dask executor needs Dask distributed: {DASK_EXTRA}")
        if self.address != "local" and (self.workers or self.threads_per_worker):
            raise ValueError("`workers` and `threads_per_worker` apply to `address: local` only")
        return self


def _executor_type(value: Any) -> str:
    # `executor: {concurrency: 8}` means the default type
    if isinstance(value, dict):
        return str(value.get("type", "in-process"))
    return str(getattr(value, "type", "in-process"))


ExecutorChoice = Annotated[
    Annotated[InProcessExecutorConfig, Tag("in-process")]
    | Annotated[DaskExecutorConfig, Tag("dask")],
    Discriminator(
        _executor_type,
        custom_error_type="executor_type",
        custom_error_message=f"unknown executor type (known: {', '.join(EXECUTOR_TYPES)})",
    ),
]
