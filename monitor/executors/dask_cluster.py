"""The daemon's side of the Dask executor: each cycle's pure part as a task on the cluster.

The daemon reads the watermark and the live model version, submits the read, scoring and
metrics (`monitor.executors.worker.compute_cycle`), waits for the record and stores it in
one transaction, as in-process. A worker that dies mid-task makes the Dask scheduler run
the task again on another worker (a retry: the task writes nothing); the record is stored
once, and only from the watermark it was read after, so no window is lost or repeated.
`address: local` starts a LocalCluster of worker processes beside the daemon.

Each monitor's tasks prefer one worker (rendezvous hashing over the workers' addresses), so
a monitor is built on one worker rather than on all of them; the preference is loose: when
that worker is gone, another runs the task, and a new worker moves only its share.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
import uuid
from collections.abc import Sequence
from typing import Any

from monitor.clock import Clock
from monitor.config import MonitorConfig
from monitor.config.executor import DASK_EXTRA, DaskExecutorConfig
from monitor.cycle import CycleOutcome, MonitorRuntime
from monitor.cycle.compute import CycleStart, error_record
from monitor.cycle.outcome import Stopwatch
from monitor.cycle.recording import store_failure, store_window
from monitor.errors import DriftwardenError
from monitor.executors.base import CycleExecutor, OnRecorded
from monitor.executors.worker import WorkerResult, compute_cycle, load_monitor
from monitor.store import Store
from monitor.store.repository import watermark
from monitor.store.sequential_pool import pooled_windows
from monitor.versions.switch import live_in

log = logging.getLogger("driftwarden.executors")

WORKERS_TTL_S = 10.0  # how long the daemon trusts its list of the cluster's workers


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise DriftwardenError(f"the dask executor needs Dask distributed: {DASK_EXTRA}") from None
    return distributed


class DaskExecutor(CycleExecutor):
    """Cycles on a Dask distributed cluster; the store and the rules stay in the daemon."""

    def __init__(self, config: DaskExecutorConfig, client: Any | None = None) -> None:
        self.config = config
        self.concurrency = config.concurrency
        self.timeout_s = config.timeout.total_seconds()
        self.cluster: Any = None
        self._waiting: dict[str, str | None] = {}
        self._workers: list[str] = []
        self._workers_read = -WORKERS_TTL_S
        self.client = client if client is not None else self._connect()

    def _connect(self) -> Any:
        distributed = _distributed()
        address: Any = self.config.address
        try:
            if address == "local":
                self.cluster = start_local_cluster(
                    self.config.workers or 2, self.config.threads_per_worker or 1
                )
                address = self.cluster
            return distributed.Client(address, timeout="30s", set_as_default=False)
        except (OSError, TimeoutError) as exc:
            if self.cluster is not None:
                self.cluster.close()
            raise DriftwardenError(
                f"cannot reach the Dask scheduler at {self.config.address}: {exc}"
            ) from None

    def load(self, config: MonitorConfig) -> None:
        """Build the monitor on one worker now, so a broken monitor fails at start-up and
        the first cycle does not pay for the load (other workers load it at first use)."""
        self._result(
            self.client.submit(
                load_monitor, config, key=_key("load", config.name), **self._home(config)
            )
        )

    def cycle(
        self,
        config: MonitorConfig,
        runtime: MonitorRuntime | None,
        store: Store,
        clock: Clock,
        on_recorded: OnRecorded | None = None,
    ) -> CycleOutcome:
        watch = Stopwatch()
        started = clock.now()
        start = CycleStart(None, None, started)
        try:
            with watch.stage("read"), store.reading() as session:
                mark = watermark(session, config.name)
                live = live_in(session, config.name)
                pooled = pooled_windows(session, config.name, config.drift.sequential.windows)
            start = CycleStart(
                mark[0] if mark else None, mark[1] if mark else None, started, pooled
            )
            future = self.client.submit(
                compute_cycle,
                config,
                start,
                live,
                clock,
                key=_key("cycle", config.name),
                **self._home(config),
            )
            result: WorkerResult = self._result(future)
        except DriftwardenError as exc:  # the store is down, or the cluster failed the task
            failed = error_record(config.name, None, start, clock, watch, None, str(exc))
            return store_failure(store, failed)
        self._waiting[config.name] = result.waiting_reason
        if result.reference is not None:
            _keep_reference(store, config.name, *result.reference)
        record = result.record
        if record is None:
            return CycleOutcome(config.name, "waiting")
        # the daemon's watermark read and the worker's stages, as one cycle's
        for stage, seconds in record.stage_seconds.items():
            watch.seconds[stage] = watch.seconds.get(stage, 0.0) + seconds
        record.stage_seconds = dict(watch.seconds)
        if record.status == "error":
            return store_failure(store, record)
        outcome = store_window(store, config, record, watch)
        if on_recorded is not None:
            on_recorded(outcome)
        return outcome

    def _result(self, future: Any) -> Any:
        """The task's value; a task that raised, a cluster that gave up on it (its workers
        kept dying) or a deadline passed is a DriftwardenError."""
        try:
            return future.result(timeout=self.timeout_s)
        except DriftwardenError:
            raise
        except TimeoutError:
            future.cancel()
            raise DriftwardenError(
                f"no result from the Dask cluster within {self.timeout_s:.0f}s"
            ) from None
        except Exception as exc:  # KilledWorker, a worker-side error, a lost connection
            raise DriftwardenError(f"the Dask cluster failed the task: {_describe(exc)}") from exc
        finally:
            future.release()

    def _home(self, config: MonitorConfig) -> dict[str, Any]:
        """Where the monitor's tasks go first (no preference when no worker is known)."""
        if time.monotonic() - self._workers_read > WORKERS_TTL_S:
            try:
                self._workers = sorted(self.client.nthreads())
            except Exception:  # a preference only: the task itself reports a lost cluster
                self._workers = []
            self._workers_read = time.monotonic()
        if not self._workers:
            return {}
        return {"workers": [home_worker(config.name, self._workers)], "allow_other_workers": True}

    def waiting_reason(self, config: MonitorConfig, runtime: MonitorRuntime | None) -> str | None:
        return self._waiting.get(config.name)

    def close(self) -> None:
        try:
            self.client.close()
        finally:
            if self.cluster is not None:
                self.cluster.close()
                self.cluster = None


# Each worker process computes on one thread per task thread: torch and BLAS would otherwise
# start a thread per core in every worker, and the workers would fight over the cores.
WORKER_THREADS_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


def start_local_cluster(workers: int, threads_per_worker: int) -> Any:
    """A LocalCluster of worker processes that leaves the daemon's environment alone.

    Dask's nannies run in the daemon and by default write their workers' settings
    (`OMP_NUM_THREADS=1`, a fixed `PYTHONHASHSEED`, ...) into the daemon's own environment
    before each worker starts, where every process the daemon starts later (command hooks,
    the drift column pool) would inherit them; here the thread limits are set in the
    workers only, and the hash seed stays as it was ("random" is Python's default).
    """
    import dask

    distributed = _distributed()
    seed = os.environ.get("PYTHONHASHSEED", "random")
    with dask.config.set({"distributed.nanny.pre-spawn-environ": {"PYTHONHASHSEED": seed}}):
        return distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=threads_per_worker,
            processes=True,
            dashboard_address=None,
            env=WORKER_THREADS_ENV,
        )


def home_worker(monitor: str, workers: Sequence[str]) -> str:
    """The worker whose hash with the monitor's name is highest (rendezvous hashing)."""

    def weight(worker: str) -> bytes:
        return hashlib.blake2b(f"{monitor}|{worker}".encode(), digest_size=8).digest()

    return max(workers, key=weight)


def _key(kind: str, monitor: str) -> str:
    # unique per submission: Dask would hand back a finished task's result for a reused key
    return f"driftwarden-{kind}-{monitor}-{uuid.uuid4().hex}"


def _describe(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, DriftwardenError) else f"{type(exc).__name__}: {exc}"


def _keep_reference(store: Store, monitor: str, key: str, body: bytes) -> None:
    """Keep a reference a worker scored (workers have no store); a store that refuses costs
    only `report` and reuse, not the cycle (the next worker to score it sends it again)."""
    from monitor.cycle.reference import ScoredReference, StoredReferences

    try:
        StoredReferences(store).save(monitor, key, ScoredReference.from_bytes(body))
    except DriftwardenError as exc:
        log.warning("monitor %s: the worker's scored reference is not kept: %s", monitor, exc)
