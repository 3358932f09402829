"""Prometheus export: a custom Collector reading the store, served over HTTP by the daemon."""

from monitor.exporter.collector import SERIES_NAMES, MonitorInfo, StoreCollector
from monitor.exporter.server import MetricsServer, build_registry

__all__ = ["SERIES_NAMES", "MetricsServer", "MonitorInfo", "StoreCollector", "build_registry"]
