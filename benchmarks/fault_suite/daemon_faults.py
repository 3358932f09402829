"""Faults a running daemon meets, injected for real: SIGKILLs at random moments, a webhook
receiver down across restarts, a receiver answering a byte at a time, a full disk (a file
size limit on the daemon's process) and a read-only store.

Each returns what it measured; `benchmarks/faults.py` adds them up.
"""

from __future__ import annotations

import random
import signal
import sqlite3
import time
from pathlib import Path
from typing import Any

from benchmarks.fault_suite.workspace import WINDOW, Project, Receiver, free_port, stop, wait_for

STARTUP_S = 60.0  # imports (evidently, pandas) on a busy 2-core machine


def _drain(project: Project, receiver: Receiver, timeout_s: float = 240) -> bool:
    """Run the daemon until every written row is scored and the outbox is empty."""
    process = project.start()
    try:

        def done() -> bool:
            rows = sum(len(ids) for ids in project.scored())
            return rows >= project.written and project.outbox().get("pending", 0) == 0

        return wait_for(done, timeout_s, poll_s=0.5)
    finally:
        stop(process)


def kills_and_outage(folder: Path, kills: int, seed: int = 0, log: Any = print) -> dict[str, Any]:
    """A receiver down across a SIGTERM and a SIGKILL restart, then `kills` SIGKILLs at
    random moments of the daemon's life (imports, migration, cycles, deliveries), more rows
    arriving between them (new files and appends). Then one clean run to finish."""
    rng = random.Random(seed)
    receiver = Receiver(free_port())
    project = Project(folder, receiver.url)
    project.write_windows(6)
    integrity_failures = 0
    # the outage: deliveries queue and fail while the daemon is stopped and killed
    first = project.start()
    wait_for(lambda: project.outbox().get("pending", 0) >= 2, STARTUP_S)
    stop(first, signal.SIGTERM)
    project.write_windows(4, append=True)
    second = project.start()
    wait_for(lambda: len(project.scored()) >= 8, STARTUP_S)
    stop(second, signal.SIGKILL)
    integrity_failures += not project.integrity_ok()
    receiver.start()
    for kill in range(kills):
        project.write_windows(rng.randint(2, 12), append=rng.random() < 0.4)
        process = project.start()
        if rng.random() < 0.2:  # some kills during start-up (imports, migration)
            time.sleep(rng.uniform(0.3, 8.0))
        else:  # most once it serves: amid cycles and deliveries
            wait_for(lambda: project.get("/healthz")[0] == 200, STARTUP_S, poll_s=0.1)
            time.sleep(rng.uniform(0.0, 3.0))
        stop(process, signal.SIGKILL)
        integrity_failures += not project.integrity_ok()
        if (kill + 1) % 10 == 0:
            lost, repeated = project.windows_lost_and_repeated()
            log(f"  {kill + 1} kills, {len(project.scored())} windows stored so far")
    drained = _drain(project, receiver)
    receiver.stop()
    lost, repeated = project.windows_lost_and_repeated()
    outbox = project.outbox()
    return {
        "kills": kills + 1,  # and the SIGKILL of the outage
        "windows": project.written // WINDOW,
        "windows_lost": lost,
        "windows_repeated": repeated,
        "integrity_failures": integrity_failures,
        "drained": drained,
        "deliveries": outbox.get("delivered", 0),
        "deliveries_failed": outbox.get("failed", 0),
        "deliveries_pending": outbox.get("pending", 0),
        **_duplicates(receiver.answered(), project.delivered_attempts()),
        "unsigned": sum(1 for _, _, signed in receiver.requests if not signed),
    }


def _duplicates(answered: dict[str, int], recorded: dict[str, int]) -> dict[str, int]:
    """Ids the receiver answered more than once, told apart: a duplicate is one the daemon
    recorded as delivered more than once (it sent again what it knew was delivered); a
    resend after a kill is an attempt a SIGKILL cut after the receiver took it and before
    the daemon recorded it (answered more often than recorded), sent again with the same
    id by the next process: at-least-once delivery, which no sender can better there."""
    twice = [delivery for delivery, count in answered.items() if count > 1]
    return {
        "deliveries_duplicated": sum(1 for d in twice if recorded.get(d, 0) > 1),
        "deliveries_resent_after_kill": sum(1 for d in twice if answered[d] > recorded.get(d, 0)),
    }


def slow_loris(folder: Path, timeout_s: float = 2.0) -> dict[str, Any]:
    """A receiver answering one byte every 0.5 s (19 s for its answer) against a 2 s hook
    timeout: each attempt ends by its deadline, and SIGTERM ends the daemon promptly."""
    receiver = Receiver(free_port(), drip=0.5).start()
    project = Project(folder, receiver.url, hook_timeout=f"{timeout_s:g}s", retries=2)
    project.write_windows(4)
    process = project.start()
    wait_for(lambda: _attempts(project.db) >= 3, STARTUP_S + 30)
    durations = _attempt_seconds(project.db)
    wait_for(lambda: len(receiver.requests) > len(durations), 10)  # one attempt in flight
    shutdown_s = stop(process)
    receiver.stop()
    return {
        "attempts": len(durations),
        "attempt_max_s": round(max(durations, default=0.0), 2),
        "timeout_s": timeout_s,
        "shutdown_after_sigterm_s": round(shutdown_s, 2),
        "within_deadline": bool(durations) and max(durations) <= timeout_s + 1.0,
    }


def _attempts(db: Path) -> int:
    return len(_attempt_seconds(db))


def _attempt_seconds(db: Path) -> list[float]:
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db) as connection:
            rows = connection.execute("SELECT duration_seconds FROM hook_attempts").fetchall()
    except sqlite3.Error:
        return []
    return [float(seconds) for (seconds,) in rows]


def full_disk(folder: Path) -> dict[str, Any]:
    """The daemon's files may not grow past a limit (RLIMIT_FSIZE, as a full disk): writes
    fail, /readyz and store_up say so; after a restart without it, nothing is lost."""
    receiver = Receiver(free_port()).start()
    project = Project(folder, receiver.url)
    project.write_windows(2)
    process = project.start()  # a first run sizes the store
    wait_for(lambda: len(project.scored()) >= 2, STARTUP_S)
    stop(process)
    size = max(p.stat().st_size for p in folder.glob("dw.db*"))
    project.write_windows(200)  # far more than the limit leaves room for
    process = project.start(limit_bytes=size + 64 * 1024)
    found = _refused(project, process, signal.SIGKILL)
    return {**found, **_drained(project, receiver), "windows": project.written // WINDOW}


def _refused(project: Project, process: Any, sig: int) -> dict[str, Any]:
    """Wait for /readyz to say the store refuses writes; what it and the series said."""
    refused = wait_for(lambda: "store cannot be written" in project.get("/readyz")[1], STARTUP_S)
    readyz = project.get("/readyz")
    found = {
        "refused": refused,
        "readyz": readyz[0],
        "reason": _reason(readyz[1]),
        "store_up": project.sample("driftwarden_store_up"),
        "consecutive_failed_cycles": project.sample("driftwarden_consecutive_failed_cycles"),
    }
    stop(process, sig)
    return found


def _drained(project: Project, receiver: Receiver) -> dict[str, Any]:
    """Run to the end with the store writable again: windows lost or repeated."""
    drained = _drain(project, receiver)
    receiver.stop()
    lost, repeated = project.windows_lost_and_repeated()
    return {"drained": drained, "windows_lost": lost, "windows_repeated": repeated}


def read_only(folder: Path) -> dict[str, Any]:
    """The store opened read-only: /readyz fails with the reason and store_up is 0; with
    it writable again the daemon records every window, once."""
    receiver = Receiver(free_port()).start()
    project = Project(folder, receiver.url)
    project.write_windows(3)
    process = project.start()
    wait_for(lambda: len(project.scored()) >= 3, STARTUP_S)
    stop(process)
    project.write_windows(3)
    url = f"sqlite:///file:{project.db}?mode=ro&uri=true"
    process = project.start("--db", url)
    found = _refused(project, process, signal.SIGTERM)
    return {**found, **_drained(project, receiver)}


def _reason(body: str) -> str:
    lines = [line for line in body.splitlines() if line and line != "not ready:"]
    return lines[0][:160] if lines else ""
