"""The monitoring mixin and the kube-prometheus manifests: rendered offline and checked with
the real tools (Debian's `jsonnet`, `promtool`), skipped with the reason where absent."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from dashboards import packaging, promql, rules  # noqa: E402

DASHBOARDS = REPO_ROOT / "dashboards"


def require(tool: str, package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(f"{tool} is not installed (Debian: apt-get install {package})")
    return path


def render(field: str, extra: str = "") -> Any:
    jsonnet = require("jsonnet", "jsonnet")
    result = subprocess.run(
        [jsonnet, "-J", str(DASHBOARDS), "-e", f'((import "mixin.libsonnet"){extra}).{field}'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def promtool_check(groups: list[dict[str, Any]], tmp_path: Path) -> None:
    promtool = require("promtool", "prometheus")
    path = tmp_path / "rendered.yml"
    path.write_text(yaml.safe_dump({"groups": groups}))
    result = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_mixin_renders_the_same_rules_as_rules_yml(tmp_path: Path) -> None:
    alerts, records = render("prometheusAlerts"), render("prometheusRules")
    assert alerts == {"groups": rules.alert_groups()}
    assert records == {"groups": rules.record_groups()}
    shipped = yaml.safe_load((DASHBOARDS / packaging.RULES_FILE).read_text())
    assert records["groups"] + alerts["groups"] == shipped["groups"]
    promtool_check(records["groups"] + alerts["groups"], tmp_path)


def test_the_mixin_runbook_base_can_be_overridden() -> None:
    alerts = render("prometheusAlerts", ' + {_config+:: {runbookBase: "https://wiki.example/rb"}}')
    urls = [rule["annotations"]["runbook_url"] for rule in alerts["groups"][0]["rules"]]
    assert urls and all(url.startswith("https://wiki.example/rb#driftwarden") for url in urls)


def test_the_mixin_selector_and_rule_labels_can_be_set(tmp_path: Path) -> None:
    """kube-prometheus: the job is often `<namespace>/<service>`, and rules are selected
    or routed by extra labels."""
    config = ' + {_config+:: {selector: \'job="ml/driftwarden"\', ruleLabels: {team: "ml"}}}'
    alerts, records = render("prometheusAlerts", config), render("prometheusRules", config)
    for rule in alerts["groups"][0]["rules"] + records["groups"][0]["rules"]:
        assert 'job="driftwarden"' not in rule["expr"], rule
    down = next(r for r in alerts["groups"][0]["rules"] if r["alert"] == "DriftwardenDown")
    assert 'up{job="ml/driftwarden"}' in down["expr"]
    assert all(r["labels"]["team"] == "ml" for r in alerts["groups"][0]["rules"])
    promtool_check(records["groups"] + alerts["groups"], tmp_path)


def test_the_manifests_carry_the_labels_a_prometheus_operator_selects_by(
    tmp_path: Path,
) -> None:
    from dashboards import build

    assert build.main(["--out", str(tmp_path), "--manifest-label", "release=prom"]) == 0
    for name in (packaging.PROMETHEUS_RULE, packaging.SERVICE_MONITOR):
        manifest = yaml.safe_load((tmp_path / name).read_text())
        assert manifest["metadata"]["labels"]["release"] == "prom", name
    shipped = yaml.safe_load((DASHBOARDS / packaging.PROMETHEUS_RULE).read_text())
    assert "release" not in shipped["metadata"]["labels"]


def test_the_mixin_exposes_the_generated_dashboards() -> None:
    boards = render("grafanaDashboards")
    generated = promql.load_dashboards()
    assert {board["uid"] for board in boards.values()} == {
        board["uid"] for board in generated.values()
    }
    assert boards["driftwarden-overview.json"] == generated["overview.json"]


def test_the_prometheus_rule_manifest_carries_valid_rules(tmp_path: Path) -> None:
    manifest = yaml.safe_load((DASHBOARDS / packaging.PROMETHEUS_RULE).read_text())
    assert manifest["apiVersion"] == "monitoring.coreos.com/v1"
    assert manifest["kind"] == "PrometheusRule"
    assert manifest["metadata"]["name"] == "driftwarden"
    promtool_check(manifest["spec"]["groups"], tmp_path)


def test_the_service_monitor_scrapes_job_driftwarden_on_metrics() -> None:
    manifest = yaml.safe_load((DASHBOARDS / packaging.SERVICE_MONITOR).read_text())
    assert manifest["kind"] == "ServiceMonitor"
    spec = manifest["spec"]
    label = spec["jobLabel"]
    # the job label comes from the Service label the selector requires: "driftwarden"
    assert spec["selector"]["matchLabels"][label] == rules.JOB
    assert spec["endpoints"] == [{"port": "metrics", "path": "/metrics", "interval": "30s"}]
