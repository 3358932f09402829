"""The help of a gauge that shows one run metric is the run-metric catalog's text for it,
read from there: one fact in one place."""

from __future__ import annotations

from collections import Counter

from monitor.exporter.series import SERIES
from monitor.records.catalog import RUN_METRICS


def test_a_gauge_of_one_run_metric_carries_the_catalogs_help() -> None:
    fed_by = Counter(m.series.name for m in RUN_METRICS if m.series is not None)
    single = [m for m in RUN_METRICS if m.series is not None and fed_by[m.series.name] == 1]
    assert len(single) >= 6
    for metric in single:
        assert metric.series is not None
        spec = SERIES[metric.series.name]
        assert spec.help.lower().startswith(metric.help.lower()), metric.name
        # and which window's value the gauge holds, which the catalog does not say
        assert "; the value of the " in spec.help, metric.name
