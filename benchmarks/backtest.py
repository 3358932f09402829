"""What a backtest costs: 5 rules over 30 days of 5-minute windows (8,640), on SQLite and on
a PostgreSQL 15 server of its own.

The store is written through the store's repository (`record_run`, every run-level metric
of the catalog per window, a failed run every 500), not by scoring: two drift episodes
with an accuracy drop each, a drifting p-value, noise elsewhere. Then `History.backtest`
runs the 5 rules (with `alpha` set, so the drift level is decided again too) `--repeat`
times; `seconds` is the median wall time (`cpu_seconds`: this process's CPU time, what a
busy machine's other processes do not inflate). One `driftwarden backtest --json` is also
timed end to end (a new process: imports included).

    python benchmarks/backtest.py [--windows 8640] [--repeat 3] [--backends sqlite,postgresql]

The last line is JSON: {"windows", "rules", "seconds", "backends": {name: {...}}}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from monitor.history import History
from monitor.records.catalog import RUN_METRICS
from monitor.store import RunRecord, open_store
from monitor.store.repository import record_run

ROOT = Path(__file__).resolve().parents[1]
START = datetime(2026, 11, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)
RULES = """
rules:
  - {name: drift, metric: dataset_drift, above: 0.5, for: 3}
  - {name: drift-calm, metric: dataset_drift, above: 0.5, for: 6, resolve_after: 6, cooldown: 1h}
  - {name: descriptors, metric: drifted_share, above: 0.6, for: 2}
  - {name: accuracy, metric: accuracy, below: 0.8, for: 2}
  - {name: prediction, metric: prediction_drift_score, above: 0.3, for: 1}
"""
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _metrics(i: int, rng: random.Random, windows: int) -> dict[str, float]:
    drifting = any(low <= i / windows < low + 0.03 for low in (0.35, 0.7))
    p_value = rng.random() ** (8 if drifting else 1)
    values = {metric.name: rng.random() for metric in RUN_METRICS}
    values.update(
        dataset_drift_p_value=p_value,
        dataset_drift=float(p_value <= 0.05),
        drifted_share=rng.random() * (1.0 if drifting else 0.45),
        accuracy=(0.7 if drifting else 0.92) + rng.uniform(-0.05, 0.05),
        prediction_drift_score=rng.random() * (0.6 if drifting else 0.32),
    )
    return values


def build(url: str, windows: int) -> float:
    """Write `windows` runs of monitor `bench`; the seconds it took."""
    rng = random.Random(7)
    began = time.perf_counter()
    store = open_store(url)
    try:
        with store.transaction() as session:
            for i in range(windows):
                start = START + i * STEP
                end = start + STEP
                failed = i % 500 == 499
                record_run(
                    session,
                    RunRecord(
                        "bench",
                        start,
                        end,
                        end,
                        end,
                        status="error" if failed else "ok",
                        error="model crashed" if failed else None,
                        rows=0 if failed else 500,
                        metrics={} if failed else _metrics(i, rng, windows),
                    ),
                )
    finally:
        store.close()
    return time.perf_counter() - began


def measure(url: str, repeat: int, rules: Path) -> dict[str, object]:
    history = History(open_store(url))
    try:
        times, cpu = [], []
        for _ in range(repeat):
            began, began_cpu = time.perf_counter(), time.process_time()
            result = history.backtest(rules, floor=0.8, alpha=0.001)
            times.append(time.perf_counter() - began)
            cpu.append(time.process_time() - began_cpu)
    finally:
        history.close()
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    argv = [sys.executable, "-m", "monitor.cli.entry", "backtest", "--db", url]
    argv += ["--rules", str(rules), "--floor", "0.8", "--alpha", "0.001", "--json"]
    began = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    cli_seconds = time.perf_counter() - began
    if done.returncode != 0:
        raise SystemExit(f"driftwarden backtest failed: {done.stderr}")
    return {
        "seconds": round(statistics.median(times), 3),
        "best_seconds": round(min(times), 3),
        "runs": [round(t, 3) for t in times],
        # this process's CPU time: what the wall time is on an idle machine, less the
        # database server's own share (PostgreSQL runs in other processes)
        "cpu_seconds": round(statistics.median(cpu), 3),
        "cli_seconds": round(cli_seconds, 2),
        "pages": {rule.name: len(rule.episodes) for rule in result.rules},
        "quality_drops": len(result.drops),
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_postgres(argv: list[str]) -> list[str]:
    # the server refuses to run as root: Debian's package makes a `postgres` user for it
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL 15 server in a temp folder (trust auth, no fsync); yields a database URL."""
    folder = Path(tempfile.mkdtemp(prefix="dw-bench-pg-"))
    folder.chmod(0o755)
    data = folder / "data"
    if os.geteuid() == 0:
        shutil.chown(folder, user="postgres")
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(
        _as_postgres([*initdb, "--no-sync", "-E", "UTF8", "--locale=C"]),
        check=True,
        capture_output=True,
    )
    port = _free_port()
    options = f"-h 127.0.0.1 -p {port} -k {folder} -c fsync=off -c synchronous_commit=off"
    pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log")]
    subprocess.run(
        _as_postgres([*pg_ctl, "-w", "-o", options, "start"]), check=True, capture_output=True
    )
    try:
        import psycopg

        with psycopg.connect(
            host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute("CREATE DATABASE bench")
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/bench"
    finally:
        subprocess.run(
            _as_postgres([*pg_ctl, "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--windows", type=int, default=8640)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    found: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        rules = Path(scratch) / "rules.yaml"
        rules.write_text(RULES)
        for backend in backends:
            if backend == "sqlite":
                url = f"sqlite:///{scratch}/bench.db"
                built = build(url, args.windows)
                found[backend] = {
                    "build_seconds": round(built, 1),
                    **measure(url, args.repeat, rules),
                }
            elif backend == "postgresql":
                if not (PG_BIN / "initdb").exists():
                    print(f"skipping PostgreSQL: no server binaries in {PG_BIN}")
                    continue
                with postgres_server() as url:
                    built = build(url, args.windows)
                    found[backend] = {
                        "build_seconds": round(built, 1),
                        **measure(url, args.repeat, rules),
                    }
            else:
                raise SystemExit(f"unknown backend {backend!r} (sqlite, postgresql)")
            print(f"{backend}: {found[backend]}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    slowest = max(float(str(r["seconds"])) for r in found.values()) if found else None
    print(
        json.dumps(
            {
                "windows": args.windows,
                "rules": RULES.count("- {name"),
                "seconds": slowest,
                "backends": found,
            }
        )
    )


if __name__ == "__main__":
    main()
