"""`metrics.om`: the series the exporter would have shown after each window, with timestamps.

The live `StoreCollector` is scraped once per replayed window at the window's end, so the
names, labels and values are exactly the daemon's; `promtool tsdb create-blocks-from
openmetrics metrics.om DIR` backfills them into Prometheus for the Grafana dashboards.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from prometheus_client.core import Metric
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.registry import Collector

# About the scrape itself, not the monitor: meaningless at a simulated time.
_SKIPPED = frozenset({"driftwarden_store_up"})


class TimestampedSeries(Collector):
    """Collects scrapes of another collector; yields each family once, samples timestamped."""

    def __init__(self, source: Collector) -> None:
        self.source = source
        self._families: dict[str, Metric] = {}

    def scrape(self, at: datetime) -> None:
        """Record every sample the source yields now, stamped with `at`."""
        stamp = at.timestamp()
        for family in self.source.collect():
            if family.name in _SKIPPED:
                continue
            merged = self._families.get(family.name)
            if merged is None:
                merged = Metric(family.name, family.documentation, family.type, family.unit)
                self._families[family.name] = merged
            merged.samples.extend(s._replace(timestamp=stamp) for s in family.samples)

    def collect(self) -> Iterator[Metric]:
        for family in self._families.values():
            # OpenMetrics wants each series' points together and in time order; a stable
            # sort by (labels without `le`, time) keeps a histogram point's samples together
            ordered = Metric(family.name, family.documentation, family.type, family.unit)
            ordered.samples = sorted(family.samples, key=_series_key)
            yield ordered

    def text(self) -> str:
        return generate_latest(self).decode("utf-8")

    def write(self, path: Path) -> None:
        path.write_text(self.text(), encoding="utf-8")


def _series_key(sample: object) -> tuple[tuple[tuple[str, str], ...], float]:
    labels: dict[str, str] = getattr(sample, "labels", {})
    stamp = getattr(sample, "timestamp", None)
    return (
        tuple(sorted((k, v) for k, v in labels.items() if k != "le")),
        float(stamp) if stamp is not None else 0.0,
    )
