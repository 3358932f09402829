"""The `executor:` block: where cycles' pure part runs (light: pydantic only, no Dask).

`in-process` (the default) runs read, scoring and metrics in the daemon's own threads;
`dask` submits them to a Dask distributed cluster (`address: tcp://HOST:8786`, or `local`
for a LocalCluster the daemon starts). Either way the daemon keeps the schedule, writes
the store and evaluates the rules, and `concurrency` bounds the cycles in flight at once.
"""

from __future__ import annotations

import importlib.util
from datetime import timedelta
from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, Tag, model_validator

from monitor.plugins.fields import Duration, Strict

DASK_EXTRA = "pip install 'driftwarden[dask]'"
IN_PROCESS_CONCURRENCY = 4
DASK_CONCURRENCY = 16


class InProcessExecutorConfig(Strict):
    """Cycles run on a bounded pool of the daemon's threads."""

    type: Literal["in-process"] = "in-process"
    concurrency: int = Field(
        IN_PROCESS_CONCURRENCY, ge=1, le=1024, description="cycles running at once"
    )


class DaskExecutorConfig(Strict):
    """Cycles' read, scoring and metrics run as tasks on a Dask distributed cluster."""

    type: Literal["dask"]
    address: str = Field(
        pattern=r"^(local|(tcp|tls|ws|wss|inproc|ucx)://\S+)$",
        description="the scheduler's address, or `local` to start a LocalCluster",
    )
    concurrency: int = Field(DASK_CONCURRENCY, ge=1, le=4096, description="cycles in flight")
    workers: int | None = Field(None, ge=1, description="LocalCluster worker processes")
    threads_per_worker: int | None = Field(None, ge=1, description="LocalCluster threads")
    timeout: Duration = Field(
        default_factory=lambda: timedelta(minutes=10),
        description="how long the daemon waits for a cycle's result before recording an error",
    )

    @model_validator(mode="after")
    def _dask_installed(self) -> Self:
        if importlib.util.find_spec("distributed") is None:
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
    Discriminator(_executor_type),
]
