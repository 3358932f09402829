"""The Dask executor on a real LocalCluster of two worker processes: the stored results
equal the in-process ones, and a worker killed mid-cycle costs a retry, never a window."""

from __future__ import annotations

import os
import signal
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from monitor.clock import SimulatedClock
from monitor.config import Config, load_config
from monitor.config.executor import DaskExecutorConfig
from monitor.cycle.reference import ScoredReference
from monitor.executors.in_process import InProcessExecutor
from monitor.store import Store, open_store
from monitor.store.references import load_reference
from monitor.store.repository import watermark
from monitor.store.run_reads import predictions
from monitor.store.schema import RunRow
from monitor.views.report import run_report
from monitor.views.runs import run_summaries

distributed = pytest.importorskip("distributed", reason="the dask extra is not installed")

pytestmark = pytest.mark.slow

WINDOW_ROWS = 40
WINDOWS = 3
MONITORS = ("tenant-a", "tenant-b")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, tiny_bert: Path, amazon_split) -> Path:
    """Two monitors on the tiny BERT, each its own reference and stream of distinct rows."""
    folder = tmp_path_factory.mktemp("fleet")
    reference, held_out = amazon_split
    monitors = []
    for i, name in enumerate(MONITORS):
        reference.iloc[200 * i : 200 * i + 200].to_csv(folder / f"{name}-ref.csv", index=False)
        stream = folder / name
        stream.mkdir()
        rows = held_out.iloc[150 * i : 150 * i + WINDOW_ROWS * WINDOWS]
        rows.to_csv(stream / "001.csv", index=False)
        monitors.append(
            {
                "name": name,
                "model": {"type": "transformers", "path": str(tiny_bert), "batch_size": 8},
                "reference": {"path": f"{name}-ref.csv"},
                "stream": {"type": "files", "path": f"{name}/*.csv"},
                "columns": {"text": "text", "target": "label"},
                "window": {"rows": WINDOW_ROWS},
                "snapshot": i == 0,  # one monitor's runs carry an Evidently snapshot back
            }
        )
    (folder / "dw.yaml").write_text(yaml.safe_dump({"monitors": monitors}))
    return folder


@pytest.fixture(scope="module")
def cluster() -> Any:
    """Two worker processes, one thread each, as `address: local` starts them; the test
    process's environment is left as it was (Dask's default would change it)."""
    from monitor.executors.dask_cluster import start_local_cluster

    before = dict(os.environ)
    with start_local_cluster(2, 1) as local:
        yield local
    changed = {k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k)}
    assert changed <= {"PYTHONHASHSEED", "__DASK_PARENT_PID", "PYTEST_CURRENT_TEST"}
    if os.environ.get("PYTHONHASHSEED") == "random" and "PYTHONHASHSEED" not in before:
        del os.environ["PYTHONHASHSEED"]


def _config(workspace: Path) -> Config:
    return load_config(workspace / "dw.yaml")


def _dask(cluster: Any) -> Any:
    from monitor.executors.dask_cluster import DaskExecutor

    client = distributed.Client(cluster, set_as_default=False)
    config = DaskExecutorConfig(type="dask", address=cluster.scheduler_address)
    return DaskExecutor(config, client=client)


def _run_all(executor: Any, config: Config, store: Store) -> list[str]:
    """Every monitor's cycles until each waits; the statuses in order."""
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    statuses = []
    for monitor in config.monitors:
        runtime = executor.load(monitor)
        for _ in range(WINDOWS + 1):
            statuses.append(executor.cycle(monitor, runtime, store, clock).status)
    return statuses


def _stored(store: Store) -> list[dict[str, Any]]:
    """What a user reads back: `runs --json` and the prediction log, without run timings."""
    with store.reading() as session:
        runs = run_summaries(session)
        for run in runs:
            del run["stage_seconds"]  # timings differ from run to run
            run["predictions"] = [
                (p.row_id, p.predicted_id, p.probabilities, p.target)
                for p in predictions(session, run["run_id"])
            ]
    return runs


def test_dask_stores_what_in_process_stores(workspace: Path, cluster: Any, tmp_path: Path) -> None:
    config = _config(workspace)
    local = open_store(f"sqlite:///{tmp_path / 'local.db'}")
    remote = open_store(f"sqlite:///{tmp_path / 'dask.db'}")
    expected_statuses = (["ok"] * WINDOWS + ["waiting"]) * len(MONITORS)
    assert _run_all(InProcessExecutor(), config, local) == expected_statuses
    executor = _dask(cluster)
    try:
        assert _run_all(executor, config, remote) == expected_statuses
        # each worker process kept what it built: a second task finds it loaded
        pids = executor.client.run(os.getpid)
        assert len(pids) == 2
    finally:
        executor.close()
    expected, found = _stored(local), _stored(remote)
    assert len(found) == WINDOWS * len(MONITORS)
    assert found == expected  # every metric, feature score, row and probability
    # reports are built from the store: the references the workers scored were kept there,
    # under the keys the in-process daemon kept its own under
    kept = {}
    for name, db in (("local", local), ("dask", remote)):
        with db.reading() as session:
            kept[name] = {
                run["monitor"]: load_reference(
                    session, run["monitor"], session.get(RunRow, run["run_id"]).reference_key
                )
                for run in found
            }
            for run in found:
                report = run_report(session, run["run_id"], run["monitor"])
                assert report.reference is not None and report.window is not None
                assert len(report.window.texts) == run["rows"]
    assert sorted(kept["dask"]) == list(MONITORS) and None not in kept["dask"].values()
    for monitor in MONITORS:
        ours = ScoredReference.from_bytes(kept["local"][monitor])
        theirs = ScoredReference.from_bytes(kept["dask"][monitor])
        assert np.array_equal(ours.scores.probabilities, theirs.scores.probabilities)


def test_a_worker_pools_the_windows_another_process_stored(
    workspace: Path, cluster: Any, tmp_path: Path
) -> None:
    """Each monitor's first window is scored in this process, the others on a Dask worker
    that never saw it: the sequential test's pool comes from the store, so what is stored
    is what one process scoring every window stores, sequential verdicts included."""
    config = _config(workspace)
    local = open_store(f"sqlite:///{tmp_path / 'local.db'}")
    _run_all(InProcessExecutor(), config, local)
    mixed = open_store(f"sqlite:///{tmp_path / 'mixed.db'}")
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    here, executor = InProcessExecutor(), _dask(cluster)
    try:
        for monitor in config.monitors:
            assert here.cycle(monitor, here.load(monitor), mixed, clock).status == "ok"
            for _ in range(WINDOWS - 1):
                assert executor.cycle(monitor, None, mixed, clock).status == "ok"
    finally:
        executor.close()
    found, expected = _stored(mixed), _stored(local)
    pooled = [run["metrics"].get("sequential_drift_p_value") for run in expected]
    assert sum(p is not None for p in pooled) >= len(MONITORS) * (WINDOWS - 1)
    assert found == expected


def test_a_worker_killed_mid_cycle_costs_a_retry_and_no_window(
    workspace: Path, cluster: Any, tmp_path: Path
) -> None:
    """Each monitor's first task lands on a fresh worker state (a new config path makes it
    rebuild), so it runs for seconds; the worker running it is killed with SIGKILL."""
    config = _config(workspace)
    local = open_store(f"sqlite:///{tmp_path / 'local.db'}")
    _run_all(InProcessExecutor(), config, local)
    store = open_store(f"sqlite:///{tmp_path / 'killed.db'}")
    executor = _dask(cluster)
    client = executor.client
    # a changed config (another store path is not part of a monitor; a new batch size is)
    # makes every worker rebuild the monitor, so the first cycle runs long enough to kill
    monitors = [m.model_copy(update={"catch_up": 9}) for m in config.monitors]
    killed: list[int] = []

    def kill_the_worker_running_a_cycle() -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not killed:
            for address, tasks in client.processing().items():
                if any("driftwarden-cycle-tenant-a" in str(task) for task in tasks):
                    pid = client.run(os.getpid, workers=[address])[address]
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_the_worker_running_a_cycle)
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    statuses = []
    try:
        killer.start()
        for monitor in monitors:
            for _ in range(WINDOWS + 1):
                statuses.append(executor.cycle(monitor, None, store, clock).status)
        killer.join()
    finally:
        executor.close()
    assert killed, "no worker was caught running a cycle"
    assert statuses == (["ok"] * WINDOWS + ["waiting"]) * len(MONITORS)
    found, expected = _stored(store), _stored(local)
    assert len(found) == WINDOWS * len(MONITORS)
    scored = [(run["monitor"], row[0]) for run in found for row in run["predictions"]]
    assert len(set(scored)) == len(scored) == WINDOW_ROWS * WINDOWS * len(MONITORS)  # none twice
    # The sequential test's pool comes from the store with each cycle, so the killed
    # worker's successor pools the same windows: its verdicts are stored unchanged too
    assert any("sequential_drift_p_value" in run["metrics"] for run in expected)
    assert found == expected  # none lost, none changed
    # the cluster's nanny restarted the killed worker
    client = distributed.Client(cluster, set_as_default=False)
    try:
        client.wait_for_workers(2, timeout=60)
        assert killed[0] not in client.run(os.getpid).values()
    finally:
        client.close()


def test_a_task_that_raises_is_an_error_run_and_the_window_is_retried(
    workspace: Path, cluster: Any, tmp_path: Path
) -> None:
    config = _config(workspace)
    broken = config.monitors[0].model_copy(
        update={
            "reference": config.monitors[0].reference.model_copy(
                update={"path": workspace / "missing.csv"}
            )
        }
    )
    executor = _dask(cluster)
    store = open_store(f"sqlite:///{tmp_path / 'broken.db'}")
    clock = SimulatedClock(datetime(2030, 1, 1, tzinfo=UTC))
    try:
        with pytest.raises(Exception, match=r"missing\.csv"):
            executor.load(broken)
        outcome = executor.cycle(broken, None, store, clock)
    finally:
        executor.close()
    assert outcome.status == "error" and "missing.csv" in (outcome.error or "")
    with store.reading() as session:
        runs = run_summaries(session)
    assert [run["status"] for run in runs] == ["error"]
    with store.reading() as session:
        assert watermark(session, broken.name) is None  # nothing moved: retried next time


def test_each_monitor_prefers_one_worker_and_a_lost_worker_moves_only_its_share() -> None:
    from monitor.executors.dask_cluster import home_worker

    workers = [f"tcp://10.0.0.{i}:40000" for i in range(4)]
    monitors = [f"tenant-{i:03d}" for i in range(400)]
    homes = {m: home_worker(m, workers) for m in monitors}
    assert homes == {m: home_worker(m, list(reversed(workers))) for m in monitors}
    shares = [list(homes.values()).count(w) for w in workers]
    assert min(shares) > 70  # about 100 each
    lost = workers[1]
    after = {m: home_worker(m, [w for w in workers if w != lost]) for m in monitors}
    moved = [m for m in monitors if after[m] != homes[m]]
    assert moved and all(homes[m] == lost for m in moved)
