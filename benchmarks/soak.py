"""Soak the demo daemon: N cycles back to back, RSS at cycle 50 and N, and /metrics scrape cost.

The daemon runs in this process exactly as `driftwarden run` builds it (store, exporter,
scheduler), on the embedded demo with its schedule lifted: one wake-up catches up cycle
after cycle, so nothing sleeps. A scraper hits /metrics every second meanwhile. At the end
the same series are loaded into a plain prometheus_client registry, served by the same HTTP
server, and both endpoints are scraped in alternation.

    python benchmarks/soak.py [--cycles 500] [--window-rows 32] [--no-snapshot]

The last line is JSON: {"rss_mb_at_50", "rss_mb_at_end", "rss_growth", "scrape_ms",
"plain_scrape_ms", "scrape_ratio", ...}. Targets: rss_growth < 0.05, scrape_ratio <= 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import sqlite3
import statistics
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.parser import text_string_to_metric_families

from monitor.daemon import Daemon, DaemonOptions
from monitor.demo.app import DEMO_MONITOR, build_runtime, demo_config
from monitor.exporter import MetricsServer
from monitor.exporter.collector import DURATION_BUCKETS
from monitor.home import data_dir

CHECKPOINT = 50


def rss_mb() -> float:
    """Resident set size of this process, from /proc (no psutil needed)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def scrape(port: int) -> tuple[float, bytes]:
    started = time.perf_counter()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        body = response.read()
    return time.perf_counter() - started, body


def plain_registry(exposition: str) -> CollectorRegistry:
    """The same driftwarden series as plain Gauge/Counter/Histogram objects, plus the same
    process and platform collectors."""
    disable_created_metrics()  # our collector emits no `_created` series either
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    for family in text_string_to_metric_families(exposition):
        if not family.name.startswith("driftwarden_") or not family.samples:
            continue
        labels = sorted({k for s in family.samples for k in s.labels if k != "le"})
        if family.type == "histogram":
            histogram = Histogram(
                family.name,
                family.documentation,
                labels,
                registry=registry,
                buckets=DURATION_BUCKETS,
            )
            for s in family.samples:
                if s.name.endswith("_count"):
                    child = histogram.labels(**s.labels)
                    for _ in range(int(s.value)):
                        child.observe(0.5)
        elif family.type == "counter":
            counter = Counter(family.name, family.documentation, labels, registry=registry)
            for s in family.samples:
                (counter.labels(**s.labels) if labels else counter).inc(s.value)
        else:
            gauge = Gauge(family.name, family.documentation, labels, registry=registry)
            for s in family.samples:
                (gauge.labels(**s.labels) if labels else gauge).set(s.value)
    return registry


def compare_scrapes(port: int, plain_port: int, rounds: int) -> tuple[float, float]:
    ours, plain = [], []
    for _ in range(rounds):  # alternate, so load from elsewhere hits both alike
        ours.append(scrape(port)[0])
        plain.append(scrape(plain_port)[0])
    return statistics.median(ours) * 1000, statistics.median(plain) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cycles", type=int, default=500)
    parser.add_argument("--window-rows", type=int, default=32)
    parser.add_argument("--no-snapshot", action="store_true")
    parser.add_argument("--scrape-rounds", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, format="%(asctime)s %(levelname)s %(message)s")
    torch.set_num_threads(1)  # as in the tests: two threads on two shared cores crawl

    home = data_dir()  # the demo head cached by earlier runs is reused
    workdir = Path(tempfile.mkdtemp(prefix="driftwarden-soak-"))
    settings = demo_config(
        home,
        storage=f"sqlite:///{workdir / 'soak.db'}",
        window_rows=args.window_rows,
        snapshot=not args.no_snapshot,
    )
    # full speed: the first wake-up catches up cycle after cycle (the stream never waits)
    settings.monitors[0].catch_up = args.cycles
    options = DaemonOptions(metrics_port=0, max_cycles=args.cycles)
    daemon = Daemon(options, build=partial(build_runtime, home=home), settings=settings)
    started = time.perf_counter()
    daemon.start()
    assert daemon.server is not None and daemon.scheduler is not None
    port = daemon.server.port
    job = daemon.scheduler.jobs[DEMO_MONITOR]

    checkpoints: dict[str, float] = {}
    scrapes: list[float] = []
    done = threading.Event()

    def scrape_every_second() -> None:
        while not done.wait(1.0):
            scrapes.append(scrape(port)[0])

    scraper = threading.Thread(target=scrape_every_second, daemon=True)
    scraper.start()
    while not daemon.scheduler.finished.wait(0.05):
        if job.cycles >= CHECKPOINT and "rss_50" not in checkpoints:
            gc.collect()
            checkpoints["rss_50"] = rss_mb()
            checkpoints["t_50"] = time.perf_counter() - started
            print(f"cycle {job.cycles}: RSS {checkpoints['rss_50']:.1f} MB", flush=True)
        elif (
            job.cycles > CHECKPOINT and job.cycles % 50 == 0 and f"c{job.cycles}" not in checkpoints
        ):
            checkpoints[f"c{job.cycles}"] = rss_mb()
            print(f"cycle {job.cycles}: RSS {checkpoints[f'c{job.cycles}']:.1f} MB", flush=True)
    gc.collect()
    rss_end = rss_mb()
    elapsed = time.perf_counter() - started
    done.set()
    print(f"cycle {job.cycles}: RSS {rss_end:.1f} MB", flush=True)

    # the same series, plain: served by the same HTTP server so only the registry differs
    _, body = scrape(port)
    registry = plain_registry(body.decode())
    plain_server = MetricsServer(registry, "127.0.0.1", 0)
    plain_server.start()
    scrape_ms, plain_ms = compare_scrapes(port, plain_server.port, args.scrape_rounds)
    ours = daemon.server.registry
    direct = statistics.median(_time(lambda: generate_latest(ours)) for _ in range(50))
    direct_plain = statistics.median(_time(lambda: generate_latest(registry)) for _ in range(50))
    plain_server.stop()
    series = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    daemon.stop_requested.set()
    daemon.shutdown()

    ok, errors = count_runs(workdir / "soak.db")
    report = {
        "cycles": job.cycles,
        "runs_ok": ok,
        "runs_error": errors,
        "window_rows": args.window_rows,
        "snapshot": not args.no_snapshot,
        "seconds": round(elapsed, 1),
        "cycles_per_s_after_50": round(
            (job.cycles - CHECKPOINT) / (elapsed - checkpoints["t_50"]), 3
        ),
        "rss_mb_at_50": round(checkpoints["rss_50"], 1),
        "rss_mb_at_end": round(rss_end, 1),
        "rss_growth": round(rss_end / checkpoints["rss_50"] - 1, 4),
        "series": series,
        "scrapes_during_soak": len(scrapes),
        "scrape_ms_during_soak_median": round(statistics.median(scrapes) * 1000, 2)
        if scrapes
        else None,
        "scrape_ms": round(scrape_ms, 3),
        "plain_scrape_ms": round(plain_ms, 3),
        "scrape_ratio": round(scrape_ms / plain_ms, 3),
        "collect_ms": round(direct * 1000, 3),
        "plain_collect_ms": round(direct_plain * 1000, 3),
        "collect_ratio": round(direct / direct_plain, 3),
    }
    print(
        f"RSS {report['rss_mb_at_50']} MB at cycle {CHECKPOINT} -> {report['rss_mb_at_end']} MB "
        f"at cycle {job.cycles}: growth {report['rss_growth']:+.2%} (target < 5%)"
    )
    print(
        f"/metrics ({series} samples): {scrape_ms:.2f} ms vs plain registry {plain_ms:.2f} ms "
        f"over HTTP = {report['scrape_ratio']}x (target <= 2x); collect alone "
        f"{report['collect_ms']} vs {report['plain_collect_ms']} ms = {report['collect_ratio']}x"
    )
    print(json.dumps(report))


def _time(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def count_runs(path: Path) -> tuple[int, int]:
    """Ok and error runs in the soak's store."""
    with sqlite3.connect(path) as connection:
        ok = connection.execute("SELECT count(*) FROM runs WHERE status = 'ok'").fetchone()
        errors = connection.execute("SELECT count(*) FROM runs WHERE status != 'ok'").fetchone()
    return int(ok[0]), int(errors[0])


if __name__ == "__main__":
    main()
