"""Grafana dashboards as code, plus the Prometheus, Alertmanager and Grafana configs they need."""
