"""Static checks of the monitoring stack: Prometheus, Alertmanager, Grafana and compose files.

The tools' own validators run as subprocesses (skipped, with the reason, where a tool is not
installed); the rest reads the files: the dashboards are what the code generates, and every
series, label and value a panel or a rule asks for is one the exporter emits.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # plain `pytest` from elsewhere; see conftest.py
    sys.path.insert(0, str(REPO_ROOT))

from dashboards import promql, rules  # noqa: E402
from dashboards.records import RECORDS  # noqa: E402
from monitor.exporter.series import SERIES  # noqa: E402

DASHBOARDS = REPO_ROOT / "dashboards"
PROMETHEUS_CONFIG = DASHBOARDS / "prometheus" / "prometheus.yml"
RULES = DASHBOARDS / "prometheus" / "rules.yml"
RULES_TEST = DASHBOARDS / "prometheus" / "rules_test.yml"
ALERTMANAGER_CONFIG = DASHBOARDS / "alertmanager" / "alertmanager.yml"
PROVISIONING = DASHBOARDS / "grafana" / "provisioning"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SRE_README = DASHBOARDS / "README.md"
RUNBOOKS = REPO_ROOT / "docs" / "operating" / "alerts.md"


# The series contract is the exporter's registry (monitor/exporter/series.py): name, labels
# and closed label values of every series. Nothing here repeats it.
def _registry() -> tuple[dict[str, frozenset[str]], dict[tuple[str, str], frozenset[str]]]:
    labels: dict[str, frozenset[str]] = {}
    values: dict[tuple[str, str], frozenset[str]] = {}
    for spec in SERIES.values():
        for exposed in spec.exposed():
            extra = {"le"} if exposed.endswith("_bucket") else set()
            labels[exposed] = frozenset(spec.labels) | extra
            for label, closed in spec.values:
                values[(exposed, label)] = frozenset(closed)
    return labels, values


EXPORTED_SERIES, LABEL_VALUES = _registry()

# Not from the driftwarden collector, and used on purpose: Prometheus' own per-target and
# alert series, prometheus_client's standard process collector, and Alertmanager's own.
OTHER_SERIES: dict[str, frozenset[str]] = {
    "up": frozenset(),
    "ALERTS": frozenset({"alertname", "alertstate", "severity", "monitor"}),
    "process_start_time_seconds": frozenset(),
    "alertmanager_notifications_failed_total": frozenset({"integration"}),
}
# What the recording rules give, by the labels they keep besides namespace, job, monitor;
# queries may use them like exported series.
RECORDED_SERIES: dict[str, frozenset[str]] = {
    record.record: frozenset(record.labels) for record in RECORDS
}
TARGET_LABELS = frozenset({"job", "instance", "namespace"})


def exported_series_names() -> set[str]:
    return set(EXPORTED_SERIES)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def run_tool(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)


def require(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.skip(
            f"{tool} is not installed (Debian: apt-get install prometheus "
            "prometheus-alertmanager docker-compose)"
        )
    return path


def all_queries() -> list[promql.Query]:
    queries = []
    for name, board in promql.load_dashboards().items():
        queries += promql.panel_queries(name, board)
        queries += promql.annotation_queries(name, board)
        queries += promql.variable_queries(name, board)
    return queries + promql.rule_queries(load_yaml(RULES))


def alerts() -> list[dict[str, Any]]:
    return [
        rule for group in load_yaml(RULES)["groups"] for rule in group["rules"] if "alert" in rule
    ]


def recording_rules() -> list[dict[str, Any]]:
    return [
        rule for group in load_yaml(RULES)["groups"] for rule in group["rules"] if "record" in rule
    ]


# --- the tools' own validators ------------------------------------------------------------


def test_promtool_check_config() -> None:
    result = run_tool(require("promtool"), "check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_check_rules() -> None:
    result = run_tool(require("promtool"), "check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests_pass() -> None:
    result = run_tool(require("promtool"), "test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr


def test_amtool_check_config() -> None:
    result = run_tool(require("amtool"), "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("labels", "receiver"),
    [
        (["severity=critical", "monitor=reviews"], "driftwarden-pager"),
        (["severity=warning", "monitor=reviews"], "driftwarden-tickets"),
    ],
)
def test_alertmanager_routes_by_severity(labels: list[str], receiver: str) -> None:
    amtool = require("amtool")
    result = run_tool(
        amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER_CONFIG}",
        f"--verify.receivers={receiver}", *labels,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_docker_compose_config_is_valid() -> None:
    compose = require("docker-compose")
    result = run_tool(compose, "-f", str(COMPOSE_FILE), "config", "--quiet")
    assert result.returncode == 0, result.stdout + result.stderr


# --- compose wiring -----------------------------------------------------------------------


def compose_services() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)["services"]


def test_compose_publishes_ports_on_localhost_only() -> None:
    for name, service in compose_services().items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond localhost"


def test_compose_services_have_health_checks() -> None:
    services = compose_services()
    for name, service in services.items():
        assert "healthcheck" in service, f"{name} has no health check"
    daemon_check = " ".join(services["driftwarden"]["healthcheck"]["test"])
    assert "/healthz" in daemon_check


def test_compose_keeps_store_and_tsdb_in_named_volumes() -> None:
    compose = load_yaml(COMPOSE_FILE)
    services = compose["services"]
    assert "driftwarden-data:/data" in services["driftwarden"]["volumes"]
    assert "prometheus-data:/prometheus" in services["prometheus"]["volumes"]
    assert {"driftwarden-data", "prometheus-data"} <= set(compose["volumes"])
    command = services["driftwarden"]["command"]
    assert "sqlite:////data/driftwarden.db" in command
    assert "0.0.0.0" in command


def _mount_source(service: dict[str, Any], target: str) -> Path:
    for volume in service["volumes"]:
        source, _, rest = volume.partition(":")
        if rest.split(":")[0] == target:
            return (REPO_ROOT / source).resolve()
    raise AssertionError(f"nothing is mounted at {target}")


def test_compose_mounts_the_shipped_configs() -> None:
    services = compose_services()
    assert _mount_source(services["prometheus"], "/etc/prometheus") == PROMETHEUS_CONFIG.parent
    assert "--config.file=/etc/prometheus/prometheus.yml" in services["prometheus"]["command"]
    assert (
        _mount_source(services["alertmanager"], "/etc/alertmanager") == ALERTMANAGER_CONFIG.parent
    )
    assert _mount_source(services["grafana"], "/etc/grafana/provisioning") == PROVISIONING
    # The dashboard provider reads the folder that compose mounts the generated JSON into.
    provider = load_yaml(PROVISIONING / "dashboards" / "driftwarden.yml")["providers"][0]
    dashboards_path = provider["options"]["path"]
    assert _mount_source(services["grafana"], dashboards_path) == promql.DASHBOARD_DIR


def test_grafana_datasource_points_at_the_compose_prometheus() -> None:
    datasources = load_yaml(PROVISIONING / "datasources" / "driftwarden.yml")["datasources"]
    prometheus = next(ds for ds in datasources if ds["type"] == "prometheus")
    assert prometheus["url"] == "http://prometheus:9090"
    assert prometheus["isDefault"] is True
    # $__rate_interval is only right when Grafana knows the real scrape interval.
    scrape_interval = load_yaml(PROMETHEUS_CONFIG)["global"]["scrape_interval"]
    assert prometheus["jsonData"]["timeInterval"] == scrape_interval


def test_prometheus_scrapes_the_daemon_as_job_driftwarden() -> None:
    jobs = {job["job_name"]: job for job in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"]}
    assert jobs["driftwarden"]["static_configs"][0]["targets"] == ["driftwarden:9108"]
    assert 'up{job="driftwarden"}' in RULES.read_text()


# --- dashboards -----------------------------------------------------------------------------


def test_committed_dashboards_are_what_the_code_generates() -> None:
    pytest.importorskip(
        "grafana_foundation_sdk", reason="pip install 'grafana-foundation-sdk==1769699379!11.6.0'"
    )
    from dashboards import build

    differences = build.stale_files()
    assert not differences, "run `python -m dashboards.build`:\n" + "\n".join(differences.values())


@pytest.mark.parametrize("entry", [["-m", "dashboards.build"], ["dashboards/build.py"]])
def test_build_check_exits_zero_when_up_to_date(entry: list[str]) -> None:
    pytest.importorskip("grafana_foundation_sdk", reason="grafana-foundation-sdk not installed")
    result = run_tool(sys.executable, *entry, "--check")
    assert result.returncode == 0, result.stdout + result.stderr


def test_build_check_exits_one_when_a_file_differs(tmp_path: Path) -> None:
    pytest.importorskip("grafana_foundation_sdk", reason="grafana-foundation-sdk not installed")
    from dashboards import build

    assert build.main(["--out", str(tmp_path)]) == 0
    assert build.main(["--check", "--out", str(tmp_path)]) == 0
    edited = tmp_path / "grafana" / "dashboards" / "overview.json"
    edited.write_text(edited.read_text().replace("Driftwarden overview", "Edited by hand"))
    assert build.main(["--check", "--out", str(tmp_path)]) == 1


def test_dashboards_target_a_current_grafana_schema() -> None:
    boards = promql.load_dashboards()
    assert set(boards) == {"overview.json", "monitor.json"}
    for name, board in boards.items():
        # 41 is Grafana 11.6's; the default pip pick of the sdk writes 10.1's (36).
        assert board["schemaVersion"] >= 41, name
        assert board["uid"].startswith("driftwarden-"), name


def test_dashboards_have_datasource_and_monitor_variables() -> None:
    for name, board in promql.load_dashboards().items():
        variables = {v["name"]: v for v in board["templating"]["list"]}
        assert variables["datasource"]["type"] == "datasource", name
        assert variables["datasource"]["query"] == "prometheus", name
        monitor = variables["monitor"]
        assert monitor["type"] == "query", name
        assert monitor["query"].startswith("label_values("), name
        assert monitor["datasource"]["uid"] == "${datasource}", name


def test_every_panel_queries_the_selected_datasource_and_monitor() -> None:
    for name, board in promql.load_dashboards().items():
        ids = [panel["id"] for panel in board["panels"]]
        assert len(ids) == len(set(ids)), f"{name}: duplicate panel ids"
        for panel in board["panels"]:
            if panel["type"] == "row":
                assert panel["collapsed"] is False and panel["panels"] == [], panel["title"]
                continue
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"], f"{name}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert target["datasource"]["uid"] == "${datasource}", panel["title"]
                # `up` has no monitor label: the daemon's own health is shown whatever is picked
                if not target["expr"].startswith("max by (instance) (up{"):
                    assert "$monitor" in target["expr"], (
                        f"{name}: {panel['title']} ignores $monitor"
                    )


def test_overview_has_the_panels_sres_asked_for() -> None:
    board = promql.load_dashboards()["overview.json"]
    titles = {panel["title"] for panel in board["panels"]}
    assert {
        "Monitors",
        "Daemon and store up",
        "Missed wake-ups and unrecorded failures",
        "Monitor status",
        "Drifted features share",
        "Accuracy: measured and estimated",
        "Rows scored per hour",
        "Last cycle duration",
        "Hook deliveries by outcome",
    } <= titles
    annotations = {a["name"]: a for a in board["annotations"]["list"]}
    assert "driftwarden_alert_firing" in annotations["Driftwarden rule firings"]["expr"]


def test_monitor_dashboard_has_a_feature_heatmap_and_version_changes() -> None:
    board = promql.load_dashboards()["monitor.json"]
    types = {panel["title"]: panel["type"] for panel in board["panels"]}
    assert types["Drifted features over time"] == "heatmap"
    assert types["Features in the latest window"] == "table"
    annotations = {a["name"]: a for a in board["annotations"]["list"]}
    assert "driftwarden_model_info" in annotations["Model version changes"]["expr"]


# --- every series, label and value is one the exporter emits ----------------------------------


@pytest.mark.parametrize("query", all_queries(), ids=lambda q: q.source)
def test_query_uses_only_exported_series(query: promql.Query) -> None:
    known = exported_series_names() | set(OTHER_SERIES) | set(RECORDED_SERIES)
    names = promql.series_names(query.expr)
    assert names or query.expr == "vector(1)", f"no series found in {query.expr!r}"
    assert names <= known, f"{query.source} uses {sorted(names - known)}, not exported"


@pytest.mark.parametrize("query", all_queries(), ids=lambda q: q.source)
def test_query_uses_only_known_labels_and_values(query: promql.Query) -> None:
    contract = EXPORTED_SERIES | OTHER_SERIES | RECORDED_SERIES
    used = promql.series_names(query.expr)
    available = set(TARGET_LABELS)
    for name in used:
        available |= contract.get(name, frozenset())
        if name.startswith("driftwarden"):
            available.add("monitor")
    for matcher in promql.matchers(query.expr):
        series = matcher.series or ""
        if series.startswith("driftwarden"):
            labels = contract[series] | {"monitor"} | TARGET_LABELS
            assert matcher.label in labels, f"{query.source}: {series} has no {matcher.label}"
        allowed = LABEL_VALUES.get((series, matcher.label))
        if allowed is not None and "$" not in matcher.value:
            values = set(matcher.value.split("|")) if matcher.op == "=~" else {matcher.value}
            assert values <= allowed, f"{query.source}: {matcher.label}={matcher.value!r}"
    unknown = promql.grouping_labels(query.expr) - available
    assert not unknown, f"{query.source} groups by {sorted(unknown)}, which its series lack"


# --- rules --------------------------------------------------------------------------------


def test_every_alert_has_for_severity_and_an_absolute_runbook() -> None:
    assert alerts()
    for rule in alerts():
        assert "for" in rule, rule["alert"]
        expected = {"none"} if rule["alert"] == "DriftwardenWatchdog" else {"critical", "warning"}
        assert rule["labels"]["severity"] in expected, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert rule["annotations"]["description"].strip(), rule["alert"]
        runbook = rule["annotations"]["runbook_url"]
        assert runbook == f"{rules.RUNBOOK_BASE}#{rule['alert'].lower()}", runbook
        assert rule["annotations"]["dashboard_url"].startswith(rules.GRAFANA_BASE + "/d/")


def test_required_alerts_exist() -> None:
    names = {rule["alert"] for rule in alerts()}
    assert {
        "DriftwardenDatasetDrift",
        "DriftwardenQualityBelowThreshold",
        "DriftwardenMonitorStale",
        "DriftwardenMonitorFailing",
        "DriftwardenHookDeliveriesFailing",
        "DriftwardenStoreDown",
        "DriftwardenSchedulerMissedRuns",
        "DriftwardenUnrecordedFailures",
        "DriftwardenDown",
        "DriftwardenAbsent",
        "DriftwardenWatchdog",
    } <= names
    records = {rule["record"]: rule["expr"] for rule in recording_rules()}
    assert "driftwarden:monitor_schedule_seconds" in records["driftwarden:monitor_stale:bool"]
    assert (
        "driftwarden_schedule_interval_seconds" in records["driftwarden:monitor_schedule_seconds"]
    )
    assert "absent(up{job=" in next(
        r["expr"] for r in alerts() if r["alert"] == "DriftwardenAbsent"
    )


def test_statuses_are_defined_once_by_recording_rules() -> None:
    """The alerts on stale, failing and drift read the recorded series, and so do the
    dashboards' status columns: one definition each."""
    by_name = {rule["alert"]: rule["expr"] for rule in alerts()}
    assert "driftwarden:monitor_stale:bool == 1" in by_name["DriftwardenMonitorStale"]
    assert "driftwarden:monitor_failing:bool == 1" in by_name["DriftwardenMonitorFailing"]
    assert "driftwarden:monitor_drifting:bool == 1" in by_name["DriftwardenDatasetDrift"]
    quality = by_name["DriftwardenQualityBelowThreshold"]
    assert "driftwarden:monitor_quality_low:bool == 1" in quality
    board = promql.load_dashboards()["overview.json"]
    table = next(panel for panel in board["panels"] if panel["title"] == "Monitors")
    exprs = [target["expr"] for target in table["targets"]]
    assert any("driftwarden:monitor_status" in expr for expr in exprs)
    assert any("driftwarden:monitor_success_age_seconds" in expr for expr in exprs)
    assert not any("time()" in expr for expr in exprs)  # no second staleness definition


def test_no_threshold_is_written_into_a_rule_or_a_panel_query() -> None:
    """Floors and bounds are the daemon's (exported as series): an alert that compares with
    a fraction literal, or a panel that does, has its own copy that can diverge."""
    fraction = re.compile(r"[<>]=?\s*(?:bool\s+)?0?\.\d")
    for query in all_queries():
        assert not fraction.search(query.expr), f"{query.source}: {query.expr}"
    records = {rule["record"]: rule["expr"] for rule in recording_rules()}
    assert "driftwarden_alert_rule_threshold" in records["driftwarden:quality_floor"]


@pytest.mark.parametrize(
    ("alert", "record", "per_window"),
    [
        (
            "DriftwardenDatasetDrift",
            "driftwarden:monitor_drifting:bool",
            "driftwarden_dataset_drift",
        ),
        (
            "DriftwardenQualityBelowThreshold",
            "driftwarden:monitor_quality_low:bool",
            "driftwarden_model_quality",
        ),
    ],
)
def test_drift_and_quality_page_through_the_daemons_rule_state(
    alert: str, record: str, per_window: str
) -> None:
    """The per-window value is a dashboard signal; the page waits for the daemon's rule
    (its `for` and `resolve_after`), and keep_firing_for rides out a restart."""
    rule = next(rule for rule in alerts() if rule["alert"] == alert)
    records = {rule["record"]: rule["expr"] for rule in recording_rules()}
    assert "driftwarden_alert_firing" in records[record]
    assert per_window not in rule["expr"]
    assert rule.get("keep_firing_for")


# Alerts about Prometheus, Alertmanager or the scrape itself; every other alert is derived
# from the daemon's series and must hold while the daemon is out of sight.
NOT_FROM_THE_DAEMON = {
    "DriftwardenDown",
    "DriftwardenAbsent",
    "DriftwardenWatchdog",
    "DriftwardenNotificationsFailing",
}


def test_alerts_from_the_daemons_series_hold_while_it_is_out_of_sight() -> None:
    """Without the hold, a dead daemon's series vanish and its open pages resolve: a false
    all-clear. With it, an alert that was firing keeps firing (its own ALERTS sample) until a
    daemon of its deployment reads its store again."""
    for rule in alerts():
        if rule["alert"] in NOT_FROM_THE_DAEMON:
            assert "ALERTS" not in rule["expr"], rule["alert"]
            continue
        assert f'ALERTS{{alertname="{rule["alert"]}", alertstate="firing"}}' in rule["expr"]
        assert "unless on (namespace, job)" in rule["expr"], rule["alert"]
        assert "driftwarden_store_up" in rule["expr"], rule["alert"]


def test_monitor_alerts_ignore_the_instance() -> None:
    """A pod move gives a new `instance`: keyed by it, every open alert would resolve and a
    new one fire. Only the alerts about one scraped process keep it."""
    per_process = {"DriftwardenDown", "DriftwardenStoreDown", "DriftwardenNotificationsFailing"}
    for rule in alerts():
        grouped = promql.grouping_labels(rule["expr"])
        outer = re.findall(r"max by \(([^)]*)\) \(\s*ALERTS", rule["expr"])
        if rule["alert"] in per_process or not outer:
            continue
        assert "instance" not in outer[0], rule["alert"]
        assert "monitor" in grouped, rule["alert"]
    for record in recording_rules():
        assert not re.search(r"max by \([^)]*instance", record["expr"]), record["record"]


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    cases = [
        case for test in load_yaml(RULES_TEST)["tests"] for case in test.get("alert_rule_test", [])
    ]
    for rule in alerts():
        own = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case.get("exp_alerts") for case in own), f"{rule['alert']} never fires"
        if rule["alert"] != "DriftwardenWatchdog":  # it always fires, by design
            assert any(not case.get("exp_alerts") for case in own), f"{rule['alert']} never silent"


def test_rule_unit_tests_cover_the_cases_that_broke_before() -> None:
    names = " / ".join(test["name"] for test in load_yaml(RULES_TEST)["tests"])
    for case in (
        "hourly",
        "store outage",
        "flapping",
        "first hook failure",
        "daemon dies",
        "pod move",
        "startup grace",
        "one window under the floor",
        "failed notifications",
    ):
        assert case in names, f"rules_test.yml has no case for {case!r}"


def _alertnames_in(matchers: list[str]) -> set[str]:
    names: set[str] = set()
    for matcher in matchers:
        found = re.fullmatch(r'alertname(=~|=)"([^"]*)"', matcher)
        if found:
            names.update(found.group(2).split("|"))
    return names


def test_inhibition_names_existing_alerts_and_stale_silences_drift() -> None:
    existing = {rule["alert"] for rule in alerts()}
    inhibit_rules = load_yaml(ALERTMANAGER_CONFIG)["inhibit_rules"]
    for inhibit in inhibit_rules:
        for side in ("source_matchers", "target_matchers"):
            assert _alertnames_in(inhibit[side]) <= existing, inhibit
        # by monitor, or by daemon for the alerts about a whole daemon (no monitor label)
        assert inhibit["equal"] in (["monitor"], ["namespace", "job"]), inhibit
    assert any(
        "DriftwardenMonitorStale" in _alertnames_in(inhibit["source_matchers"])
        and "DriftwardenDatasetDrift" in _alertnames_in(inhibit["target_matchers"])
        for inhibit in inhibit_rules
    )
    assert load_yaml(ALERTMANAGER_CONFIG)["route"]["group_by"] == ["monitor"]


# --- the SRE guide covers what the stack shows ----------------------------------------------


def test_runbooks_have_a_section_per_alert_with_compose_and_kubernetes_commands() -> None:
    text = RUNBOOKS.read_text()
    sections = re.split(r"^## ", text, flags=re.MULTILINE)[1:]
    by_alert = {section.split()[0]: section for section in sections}
    for rule in alerts():
        assert rule["alert"] in by_alert, f"{RUNBOOKS} lacks a {rule['alert']} section"
    for name, section in by_alert.items():
        if name in {rule["alert"] for rule in alerts()} and "```" in section:
            assert "docker compose" in section or "docker-compose" in section, name
            assert "kubectl" in section, name


def test_readme_explains_every_panel() -> None:
    text = SRE_README.read_text()
    for name, board in promql.load_dashboards().items():
        for panel in board["panels"]:
            if panel["type"] != "row":
                assert f"**{panel['title']}**" in text, f"{name}: {panel['title']!r} undocumented"
