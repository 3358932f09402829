"""`metrics.om`: each series once, its points in time order, and promtool backfills it."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)

from monitor.replay.openmetrics import TimestampedSeries

T0 = datetime(2024, 6, 1, tzinfo=UTC)


class Scripted:
    """A collector whose values move by one on each scrape."""

    def __init__(self) -> None:
        self.scrapes = 0

    def collect(self) -> Iterator[Metric]:
        self.scrapes += 1
        n = float(self.scrapes)
        gauge = GaugeMetricFamily("driftwarden_dataset_drift", "drift", labels=["monitor"])
        gauge.add_metric(["a"], n % 2)
        gauge.add_metric(["b"], 0.5)
        yield gauge
        counter = CounterMetricFamily("driftwarden_runs", "runs", labels=["monitor", "outcome"])
        counter.add_metric(["a", "ok"], n)
        yield counter
        histogram = HistogramMetricFamily(
            "driftwarden_run_duration_seconds", "seconds", labels=["monitor", "stage"]
        )
        histogram.add_metric(["a", "total"], [("1.0", n), ("+Inf", n)], 0.5 * n)
        yield histogram
        yield GaugeMetricFamily("driftwarden_store_up", "scrape health", value=1)


def scraped(times: int = 2) -> TimestampedSeries:
    series = TimestampedSeries(Scripted())
    for i in range(times):
        series.scrape(T0 + timedelta(minutes=5 * i))
    return series


def test_each_series_is_written_once_with_its_points_in_time_order() -> None:
    t0, t1 = T0.timestamp(), (T0 + timedelta(minutes=5)).timestamp()
    text = scraped().text()
    assert text.endswith("# EOF\n")
    assert text.count("# TYPE driftwarden_dataset_drift gauge") == 1
    assert "store_up" not in text  # about a scrape, meaningless at a simulated time
    lines = text.splitlines()
    drift = [line for line in lines if line.startswith("driftwarden_dataset_drift{")]
    assert drift == [
        f'driftwarden_dataset_drift{{monitor="a"}} 1.0 {t0}',
        f'driftwarden_dataset_drift{{monitor="a"}} 0.0 {t1}',
        f'driftwarden_dataset_drift{{monitor="b"}} 0.5 {t0}',
        f'driftwarden_dataset_drift{{monitor="b"}} 0.5 {t1}',
    ]
    assert f'driftwarden_runs_total{{monitor="a",outcome="ok"}} 2.0 {t1}' in lines
    histogram = [line for line in lines if line.startswith("driftwarden_run_duration_seconds")]
    assert [line.split("{")[0] for line in histogram] == [
        "driftwarden_run_duration_seconds_bucket",
        "driftwarden_run_duration_seconds_bucket",
        "driftwarden_run_duration_seconds_count",
        "driftwarden_run_duration_seconds_sum",
    ] * 2
    assert histogram[3].endswith(f"0.5 {t0}") and histogram[7].endswith(f"1.0 {t1}")


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_backfills_the_file(tmp_path: Path) -> None:
    path = tmp_path / "metrics.om"
    scraped(times=4).write(path)
    result = subprocess.run(
        [
            "promtool",
            "tsdb",
            "create-blocks-from",
            "openmetrics",
            str(path),
            str(tmp_path / "tsdb"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert any((tmp_path / "tsdb").iterdir())
