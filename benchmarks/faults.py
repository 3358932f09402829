"""The fault suite: what a hostile or unlucky user does to driftwarden, done for real.

- SIGKILLs at random moments of `driftwarden run` (imports, migration, cycles, deliveries)
  with rows arriving between them, after a webhook receiver was down across a SIGTERM and a
  SIGKILL restart: windows lost or repeated, store integrity, duplicate deliveries;
- a webhook receiver answering one byte every 0.5 s against a 2 s timeout: the longest
  attempt, and how long SIGTERM takes with one in flight;
- a full disk (a file-size limit on the daemon) and a read-only store: /readyz and
  store_up say so, and nothing is lost once the store takes writes again;
- property-based fuzzing (hypothesis) of configs, scenarios and stream files: tracebacks
  and stalled monitors (in processes of their own, beside the daemon faults);
- random file histories (create, append, rotate, truncate, rename, chmod, names out of
  order, torn writes) read by the real file source, cycles failing and restarting at
  random, checked against a ledger: every row written is in exactly one stored window or
  in the quarantine with a reason (`benchmarks/fault_suite/ledger.py`).

    python benchmarks/faults.py [--kills 100] [--configs 5000] [--scenarios 4000]
                                [--streams 1200] [--ledger 1000] [--quick]

The last line is JSON: {"kills", "windows_lost", "windows_repeated", "fuzz_cases",
"tracebacks", "stalled_monitors", "deliveries_duplicated", "rows_written",
"rows_accounted", "rows_silently_lost"}; `--ledger-only` runs the histories alone. Targets:
0 lost, repeated, tracebacks, stalled and duplicated over 100 kills and 10,000 fuzzed
inputs; 0 rows silently lost over 1,000 file histories; a slow-loris attempt ends within
its timeout + 1 s.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.fault_suite import daemon_faults
from benchmarks.fault_suite.fuzz import (
    ConfigFuzz,
    ScenarioFuzz,
    StreamFuzz,
    Tally,
    run_cases,
    summary,
)
from benchmarks.fault_suite.ledger import run_histories


def _start_fuzzing(target: Any, cases: int) -> tuple[Connection, BaseProcess]:
    """Draw and check `cases` inputs in a forked process (no threads in this one, so the
    daemons' start-ups stay safe to fork); its Tally comes back through the pipe."""
    receiving, sending = multiprocessing.Pipe(duplex=False)

    def work() -> None:
        started = time.monotonic()
        tally = run_cases(target, cases, Tally())
        print(
            f"  fuzzing {type(target).__name__} done ({time.monotonic() - started:.0f} s)",
            flush=True,
        )
        sending.send(tally)

    process = multiprocessing.get_context("fork").Process(target=work, daemon=True)
    process.start()
    return receiving, process


def _ledger(histories: int, folder: Path) -> dict[str, int]:
    started = time.monotonic()
    print(f"file histories: {histories}, against the ledger", flush=True)
    found = run_histories(histories, folder)
    print(f"  {json.dumps(found)} ({time.monotonic() - started:.0f} s)", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=100)
    parser.add_argument("--configs", type=int, default=5000)
    parser.add_argument("--scenarios", type=int, default=4000)
    parser.add_argument("--streams", type=int, default=1200)
    parser.add_argument("--ledger", type=int, default=1000, help="random file histories")
    parser.add_argument("--ledger-only", action="store_true", help="only the file histories")
    parser.add_argument("--quick", action="store_true", help="a smoke run: 3 kills, 300 cases")
    args = parser.parse_args()
    if args.quick:
        args.kills, args.configs, args.scenarios, args.streams = 3, 150, 100, 50
        args.ledger = 50
    if args.ledger_only:
        print(json.dumps(_ledger(args.ledger, Path(tempfile.mkdtemp(prefix="driftwarden-")))))
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    print(f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="driftwarden-faults-"))
    results: dict[str, dict] = {}

    # the fuzzing needs no daemon: each target runs in its own process beside the faults
    fuzzing = {
        name: _start_fuzzing(target, cases)
        for name, target, cases in (
            ("config", ConfigFuzz(work / "fuzz-config"), args.configs),
            ("scenario", ScenarioFuzz(work / "fuzz-scenario"), args.scenarios),
            ("stream", StreamFuzz(work / "fuzz-stream"), args.streams),
        )
    }
    started = time.monotonic()
    print(f"SIGKILLs: {args.kills} at random moments, after a receiver outage", flush=True)
    results["kills"] = daemon_faults.kills_and_outage(work / "kills", args.kills)
    print(f"  {json.dumps(results['kills'])} ({time.monotonic() - started:.0f} s)", flush=True)

    for name, run in (
        ("slow_loris", daemon_faults.slow_loris),
        ("full_disk", daemon_faults.full_disk),
        ("read_only", daemon_faults.read_only),
    ):
        started = time.monotonic()
        results[name] = run(work / name)
        print(f"{name}: {json.dumps(results[name])} ({time.monotonic() - started:.0f} s)")

    tallies: dict[str, Tally] = {}
    for name, (connection, process) in fuzzing.items():
        tallies[name] = connection.recv()
        process.join()
        tally = tallies[name]
        print(f"fuzz {name}: {tally.cases} cases, {tally.tracebacks} tracebacks, ", end="")
        print(f"{tally.stalled} stalled")
        for example in tally.examples:
            print(f"  e.g. {example}")
    fuzz = summary(tallies)
    ledger = _ledger(args.ledger, work / "ledger")
    print(f"load average after: {os.getloadavg()[0]:.1f}")

    faults = [results["kills"], results["full_disk"], results["read_only"]]
    final = {
        "kills": results["kills"]["kills"],
        "windows_lost": sum(f["windows_lost"] for f in faults),
        "windows_repeated": sum(f["windows_repeated"] for f in faults),
        "fuzz_cases": fuzz["fuzz_cases"],
        "tracebacks": fuzz["tracebacks"],
        "stalled_monitors": fuzz["stalled_monitors"],
        "deliveries_duplicated": results["kills"]["deliveries_duplicated"],
        "rows_written": ledger["rows_written"],
        "rows_accounted": ledger["rows_accounted"],
        "rows_silently_lost": ledger["rows_silently_lost"],
    }
    print(json.dumps(final))


if __name__ == "__main__":
    main()
