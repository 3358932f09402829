"""The dashboards and alert rules against a real daemon scraped by a real Prometheus.

Starts `driftwarden run` (the embedded demo: monitor `demo-reviews`, healthy -> drifting ->
recovering within a few minutes) and `prometheus` on free 127.0.0.1 ports, with the shipped
rules.yml and a 1 s scrape and evaluation interval. Then, within a bounded wait, every panel
query of every dashboard must return at least one series (the hook and daemon-health panels
too: their counters start at 0), the overview lists the monitor with a status from the
recording rules, and the dataset-drift alert must be seen firing during the demo's drift
phase, through the daemon's own drift rule.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # `dashboards` is tooling at the repo root, not installed
    sys.path.insert(0, str(REPO_ROOT))

from dashboards import promql  # noqa: E402

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DEMO_MONITOR = "demo-reviews"
# What `$__rate_interval` becomes: 30 one-second scrapes, several demo cycles.
RATE_INTERVAL = "30s"
# Loading the bundled FM and the first cycle, on a loaded 2-core machine.
DAEMON_START_TIMEOUT_S = 180.0
CYCLES_BEFORE_QUERYING = 3
# The demo drifts within a few minutes; its drift rule then needs 2 drifted windows and the
# Prometheus alert its `for: 1m`.
OBSERVE_TIMEOUT_S = 300.0
POLL_INTERVAL_S = 2.0
DRIFT_ALERT = "DriftwardenDatasetDrift"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def daemon_command() -> list[str] | None:
    executable = shutil.which("driftwarden")
    if executable:
        return [executable]
    try:
        has_cli = importlib.util.find_spec("monitor.cli") is not None
    except ImportError:
        has_cli = False
    if has_cli:
        return [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]
    return None


def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return f"--- last {lines} lines of {self.name} log ---\n" + "\n".join(
            text.splitlines()[-lines:]
        )

    def stop(self) -> None:
        """SIGTERM to the process group this test started, then SIGKILL if it lingers."""
        if self.popen.poll() is not None:
            return
        os.killpg(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=10)


def start(name: str, argv: list[str], log: Path, env: dict[str, str] | None = None) -> Process:
    with log.open("wb") as sink:
        popen = subprocess.Popen(
            argv,
            stdout=sink,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            # Its own process group, so stop() reaches any child it spawns and nothing else.
            start_new_session=True,
        )
    return Process(name, popen, log)


@dataclass
class Stack:
    prometheus_url: str
    daemon: Process
    prometheus: Process

    def query(self, expr: str) -> dict[str, Any]:
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        status, body = http_get(url)
        if not body:
            return {"status": "error", "error": f"HTTP {status}, no body"}
        return dict(json.loads(body))

    def api(self, path: str) -> dict[str, Any]:
        status, body = http_get(f"{self.prometheus_url}{path}")
        assert status == 200, f"GET {path}: HTTP {status} {body[:200]!r}"
        return dict(json.loads(body))

    def logs(self) -> str:
        return self.daemon.log_tail() + "\n" + self.prometheus.log_tail(20)


def wait_for(
    condition: Callable[[], bool], timeout_s: float, what: str, stack_logs: Callable[[], str]
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}\n{stack_logs()}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    prometheus_binary = shutil.which("prometheus")
    if prometheus_binary is None:
        pytest.skip("prometheus is not installed (Debian: apt-get install prometheus)")
    daemon_argv = daemon_command()
    if daemon_argv is None:
        pytest.skip("the driftwarden daemon is not installed (pip install -e .)")
    probe = subprocess.run(
        [*daemon_argv, "run", "--help"], capture_output=True, text=True, timeout=120
    )
    if probe.returncode != 0:
        pytest.skip(f"`driftwarden run` is not available yet: {probe.stderr.strip()[-200:]}")

    workdir = tmp_path_factory.mktemp("stack")
    daemon_port, prometheus_port = free_port(), free_port()
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(promql.RULES_FILE)],
        # Same job name as the shipped prometheus.yml: DriftwardenDown selects on it.
        "scrape_configs": [
            {
                "job_name": "driftwarden",
                "static_configs": [{"targets": [f"127.0.0.1:{daemon_port}"]}],
            }
        ],
    }
    config_file = workdir / "prometheus.yml"
    config_file.write_text(yaml.safe_dump(config))

    env = os.environ | {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        # The machine has two cores shared with other work: one torch thread each.
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    processes: list[Process] = []
    try:
        daemon = start(
            "driftwarden",
            [
                *daemon_argv,
                "run",
                "--db",
                f"sqlite:///{workdir / 'dw.db'}",
                "--metrics-host",
                "127.0.0.1",
                "--metrics-port",
                str(daemon_port),
            ],
            workdir / "driftwarden.log",
            env,
        )
        processes.append(daemon)
        prometheus = start(
            "prometheus",
            [
                prometheus_binary,
                f"--config.file={config_file}",
                f"--storage.tsdb.path={workdir / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{prometheus_port}",
                "--log.level=warn",
            ],
            workdir / "prometheus.log",
        )
        processes.append(prometheus)
        stack = Stack(f"http://127.0.0.1:{prometheus_port}", daemon, prometheus)

        wait_for(
            lambda: http_get(f"{stack.prometheus_url}/-/ready")[0] == 200,
            30,
            "Prometheus to be ready",
            stack.logs,
        )

        def daemon_healthy() -> bool:
            if daemon.popen.poll() is not None:
                pytest.fail(f"driftwarden exited with {daemon.popen.returncode}\n{stack.logs()}")
            return http_get(f"http://127.0.0.1:{daemon_port}/healthz")[0] == 200

        wait_for(daemon_healthy, DAEMON_START_TIMEOUT_S, "the daemon's /healthz", stack.logs)
        ok_cycles = f'sum(driftwarden_runs_total{{monitor="{DEMO_MONITOR}", outcome="ok"}})'

        def enough_cycles() -> bool:
            daemon_healthy()
            result = stack.query(ok_cycles).get("data", {}).get("result", [])
            return bool(result) and float(result[0]["value"][1]) >= CYCLES_BEFORE_QUERYING

        wait_for(
            enough_cycles,
            DAEMON_START_TIMEOUT_S,
            f"{CYCLES_BEFORE_QUERYING} successful demo cycles in Prometheus",
            stack.logs,
        )
        yield stack
    finally:
        for process in reversed(processes):
            process.stop()


@dataclass
class Observation:
    """What one bounded watch of the running stack saw."""

    panel_queries: list[promql.Query]
    with_data: set[str] = field(default_factory=set)  # sources of queries that returned series
    errors: dict[str, str] = field(default_factory=dict)  # source -> Prometheus error
    drift_alert_firing: bool = False
    states_seen: set[str] = field(default_factory=set)  # states of the drift alert seen


def substituted(query: promql.Query) -> str:
    return promql.substitute_variables(
        query.expr, monitor=DEMO_MONITOR, rate_interval=RATE_INTERVAL
    )


@pytest.fixture(scope="module")
def observed(stack: Stack) -> Observation:
    """Watches until every panel query has returned data once and the drift alert fired.

    One watch for all checks: the demo moves through its phases on the wall clock, so
    series that only appear while drifting (alert firings, hook deliveries) and the alert
    itself must be caught during the same few minutes.
    """
    panel_queries = [
        query
        for name, board in promql.load_dashboards().items()
        for query in promql.panel_queries(name, board)
    ]
    observation = Observation(panel_queries)
    deadline = time.monotonic() + OBSERVE_TIMEOUT_S
    while time.monotonic() < deadline:
        if stack.daemon.popen.poll() is not None:
            pytest.fail(f"driftwarden exited during the watch\n{stack.logs()}")
        for query in panel_queries:
            if query.source in observation.with_data or query.source in observation.errors:
                continue
            response = stack.query(substituted(query))
            if response.get("status") != "success":
                observation.errors[query.source] = str(response.get("error"))
            elif response["data"]["result"]:
                observation.with_data.add(query.source)
        for alert in stack.api("/api/v1/alerts")["data"]["alerts"]:
            labels = alert["labels"]
            if labels.get("alertname") == DRIFT_ALERT and labels.get("monitor") == DEMO_MONITOR:
                observation.states_seen.add(alert["state"])
                observation.drift_alert_firing |= alert["state"] == "firing"
        everything_seen = len(observation.with_data) + len(observation.errors) == len(panel_queries)
        if everything_seen and observation.drift_alert_firing:
            break
        time.sleep(POLL_INTERVAL_S)
    return observation


def test_every_panel_query_is_valid_promql(observed: Observation, stack: Stack) -> None:
    assert not observed.errors, "\n".join(
        f"{source}: {error}" for source, error in sorted(observed.errors.items())
    )


def test_every_panel_query_returns_series(observed: Observation, stack: Stack) -> None:
    empty = [
        f"{query.source}: {substituted(query)}"
        for query in observed.panel_queries
        if query.source not in observed.with_data and query.source not in observed.errors
    ]
    assert not empty, (
        f"{len(empty)} panel queries returned no series within {OBSERVE_TIMEOUT_S:.0f}s:\n"
        + "\n".join(empty)
        + "\n"
        + stack.logs()
    )


def test_dataset_drift_alert_fires_during_the_demo_drift(
    observed: Observation, stack: Stack
) -> None:
    assert observed.drift_alert_firing, (
        f"{DRIFT_ALERT} for {DEMO_MONITOR} never fired within {OBSERVE_TIMEOUT_S:.0f}s "
        f"(states seen: {sorted(observed.states_seen) or 'none'}; "
        f"dataset drift now: {stack.query('driftwarden_dataset_drift')['data']['result']})\n"
        + stack.logs()
    )


def test_annotation_and_variable_queries_run(observed: Observation, stack: Stack) -> None:
    """Annotations may legitimately be empty (no version change yet), but must evaluate."""
    for name, board in promql.load_dashboards().items():
        for query in promql.annotation_queries(name, board):
            response = stack.query(substituted(query))
            assert response.get("status") == "success", f"{query.source}: {response}"
    # What Grafana asks for `label_values(driftwarden_schedule_interval_seconds, monitor)`.
    values = stack.api(
        "/api/v1/label/monitor/values?"
        + urllib.parse.urlencode({"match[]": "driftwarden_schedule_interval_seconds"})
    )["data"]
    assert DEMO_MONITOR in values


def test_rules_evaluate_without_errors(observed: Observation, stack: Stack) -> None:
    """A rule with a matching error (many-to-many, say) is healthy in promtool's unit tests
    only if the test data happens to avoid it; the real series show it here."""
    groups = stack.api("/api/v1/rules")["data"]["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert rules, "no rules loaded"
    broken = {rule["name"]: rule.get("lastError") for rule in rules if rule["health"] == "err"}
    assert not broken, broken


def test_hook_and_health_panels_have_data_on_a_fresh_stack(
    observed: Observation, stack: Stack
) -> None:
    """Counters exported at 0 for every configured label set fill these from the start."""
    wanted = ("Hook deliveries", "Missed wake-ups", "Daemon and store up", "Monitors")
    sources = [q.source for q in observed.panel_queries if any(w in q.source for w in wanted)]
    assert len(sources) >= 6, sources
    assert set(sources) <= observed.with_data, sorted(set(sources) - observed.with_data)


def test_the_status_rule_lists_the_monitor_and_the_store_up(
    observed: Observation, stack: Stack
) -> None:
    result = stack.query(f'driftwarden:monitor_status{{monitor="{DEMO_MONITOR}"}}')
    assert result["data"]["result"], result
    status = float(result["data"]["result"][0]["value"][1])
    # ok, drifting or quality below its floor (the demo's drift phase lowers its accuracy)
    assert status in (0.0, 1.0, 2.0), f"status {status}: the demo is neither failing nor stale"
    store = stack.query(f'driftwarden_store_up{{monitor="{DEMO_MONITOR}"}}')["data"]["result"]
    assert store and store[0]["value"][1] == "1", store
