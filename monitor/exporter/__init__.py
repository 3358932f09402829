"""Prometheus export: a custom Collector reading the store, served over HTTP by the daemon."""

from monitor.exporter.collector import MonitorInfo, StoreCollector
from monitor.exporter.series import SERIES_NAMES
from monitor.exporter.server import MetricsServer, build_registry

__all__ = ["SERIES_NAMES", "MetricsServer", "MonitorInfo", "StoreCollector", "build_registry"]
