"""The pager tells the truth when the daemon dies, moves or loses its store: real Prometheus,
real Alertmanager, a real HTTP receiver, the real daemon (the embedded demo).

The shipped rules.yml and alertmanager.yml run with every duration divided by TIME_SCALE
(`for`, `keep_firing_for`, Alertmanager's group timings), so the whole story takes minutes;
the order of events is what the shipped files give. The story, on one drift episode of the
demo (`demo-reviews`, cycles every 5 s):

1. the drift page and the quality page open (both through the daemon's own rules);
2. SIGKILL the daemon: DriftwardenDown pages, and for longer than every keep_firing_for no
   RESOLVED reaches the receiver; the status reads "daemon not seen";
3. the daemon comes back as a moved pod (another port: a new `instance`, the old target gone
   from service discovery): the pages stay open, with no second alert for the new instance;
4. the store is locked (SQLite EXCLUSIVE from this test): DriftwardenStoreDown pages and,
   again for longer than every keep_firing_for, nothing resolves;
5. the store comes back: the pages resolve, and only after the daemon's own rule for each
   was seen at 0.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from test_stack_live import (  # the same helpers as the dashboards' live test
    Process,
    daemon_command,
    free_port,
    http_get,
    start,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
RULES = REPO_ROOT / "dashboards" / "prometheus" / "rules.yml"
ALERTMANAGER_CONFIG = REPO_ROOT / "dashboards" / "alertmanager" / "alertmanager.yml"

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MONITOR = "demo-reviews"
TIME_SCALE = 24  # 2m -> 5 s, 15m -> 37.5 s
DRIFT, QUALITY = "DriftwardenDatasetDrift", "DriftwardenQualityBelowThreshold"
PAGES = {DRIFT: "dataset-drift", QUALITY: "accuracy-drop"}  # alert -> the daemon's rule
# Every alert derived from the daemon's series: none may resolve while it is out of sight.
HELD = {
    DRIFT,
    QUALITY,
    "DriftwardenEstimatedQualityBelowThreshold",
    "DriftwardenMonitorStale",
    "DriftwardenMonitorFailing",
    "DriftwardenHookDeliveriesFailing",
    "DriftwardenUnrecordedFailures",
    "DriftwardenSchedulerMissedRuns",
    "DriftwardenLabelsStalled",
}
DAEMON_START_S = 300.0
PAGES_OPEN_S = 420.0  # a demo drift cycle is 3 minutes of windows; the first start fits a head
RESOLVE_S = 300.0
STATUS_NOT_SEEN = 6


def scaled(duration: str) -> str:
    """A Prometheus/Alertmanager duration divided by TIME_SCALE, in milliseconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    seconds = sum(
        float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration)
    )
    return f"{max(1, round(seconds * 1000 / TIME_SCALE))}ms"


def longest_keep_firing() -> float:
    rules = [r for g in yaml.safe_load(RULES.read_text())["groups"] for r in g["rules"]]
    longest = max(_seconds(r["keep_firing_for"]) for r in rules if "keep_firing_for" in r)
    return longest / TIME_SCALE


def longest_group_interval() -> float:
    """How long Alertmanager may sit on a RESOLVED before sending it (scaled), at most."""
    document = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    routes = [document["route"], *document["route"]["routes"]]
    return max(_seconds(r["group_interval"]) for r in routes if "group_interval" in r) / TIME_SCALE


def _seconds(duration: str) -> float:
    return float(scaled(duration).removesuffix("ms")) * TIME_SCALE / 1000


@dataclass
class Notification:
    at: float
    path: str
    alerts: list[dict[str, Any]]


@dataclass
class Receiver:
    """Alertmanager's webhook target: keeps every notification with its arrival time."""

    port: int
    received: list[Notification] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(
        self, status: str, names: set[str] | None = None, since: float = 0.0
    ) -> list[tuple[float, str]]:
        """(arrival, alertname) of every alert notified with `status` since `since` (a
        `time.time()`): firing ones that arrived since then, resolved ones that ended since
        then (Alertmanager repeats a group's earlier resolutions in later notifications)."""
        with self.lock:
            return [
                (n.at, a["labels"]["alertname"])
                for n in self.received
                for a in n.alerts
                if a["status"] == status
                and (n.at if status == "firing" else _epoch(a["endsAt"])) >= since
                and (names is None or a["labels"]["alertname"] in names)
            ]

    def firing(self, name: str, since: float = 0.0) -> bool:
        return bool(self.events("firing", {name}, since))


def _epoch(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def serve_receiver() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver(free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with receiver.lock:
                receiver.received.append(Notification(time.time(), self.path, body["alerts"]))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet: the test reads the notifications, not the server's access log."""

    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server


def scaled_rules(path: Path) -> None:
    document = yaml.safe_load(RULES.read_text())
    for group in document["groups"]:
        for rule in group["rules"]:
            for key in ("for", "keep_firing_for"):
                if key in rule:
                    rule[key] = scaled(rule[key])
    path.write_text(yaml.safe_dump(document))


def scaled_alertmanager(path: Path, receiver: Receiver) -> None:
    document = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    for route in [document["route"], *document["route"]["routes"]]:
        for key in ("group_wait", "group_interval"):
            if key in route:
                route[key] = "1s"
        route["repeat_interval"] = "1h"  # a repeat is no news; a RESOLVED is
    for entry in document["receivers"]:
        for hook in entry.get("webhook_configs", []):
            hook["url"] = f"http://127.0.0.1:{receiver.port}/{entry['name']}"
    path.write_text(yaml.safe_dump(document))


@dataclass
class Stack:
    workdir: Path
    env: dict[str, str]
    prometheus_url: str
    targets_file: Path
    receiver: Receiver
    processes: list[Process]
    daemon: Process | None = None
    daemon_port: int = 0
    t0: float = field(default_factory=time.time)
    timeline: list[str] = field(default_factory=list)

    def note(self, what: str) -> None:
        self.timeline.append(f"+{time.time() - self.t0:6.1f}s {what}")
        print(self.timeline[-1], flush=True)

    def query(self, expr: str) -> list[dict[str, Any]]:
        url = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
        status, body = http_get(url)
        return list(json.loads(body)["data"]["result"]) if status == 200 else []

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        return float(result[0]["value"][1]) if result else None

    def firing(self, alert: str) -> list[dict[str, str]]:
        found = self.query(f'ALERTS{{alertname="{alert}", alertstate="firing"}}')
        return [r["metric"] for r in found]

    def start_daemon(self, port: int) -> None:
        argv = daemon_command()
        assert argv is not None
        self.daemon_port = port
        self.daemon = start(
            f"driftwarden:{port}",
            [*argv, "run", "--db", f"sqlite:///{self.db}", *self.listen(port)],
            self.workdir / f"driftwarden-{port}.log",
            self.env,
        )
        self.processes.append(self.daemon)
        # file service discovery: the target Prometheus scrapes, as Kubernetes would list it
        self.targets_file.write_text(json.dumps([{"targets": [f"127.0.0.1:{port}"]}]))

    @staticmethod
    def listen(port: int) -> list[str]:
        return ["--metrics-host", "127.0.0.1", "--metrics-port", str(port)]

    @property
    def db(self) -> Path:
        return self.workdir / "dw.db"

    def logs(self) -> str:
        return "\n".join(p.log_tail(25) for p in self.processes) + "\n" + "\n".join(self.timeline)

    def wait(self, condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.time() + timeout_s
        while time.time() < deadline:
            if condition():
                self.note(what)
                return
            time.sleep(0.5)
        pytest.fail(f"timed out after {timeout_s:.0f}s waiting for {what}\n{self.logs()}")

    def hold(self, seconds: float, check: Callable[[], None]) -> None:
        """Calls `check` every second for `seconds`."""
        deadline = time.time() + seconds
        while time.time() < deadline:
            check()
            time.sleep(1.0)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    binaries = {
        name: shutil.which(name) for name in ("prometheus", "prometheus-alertmanager", "amtool")
    }
    alertmanager = binaries["prometheus-alertmanager"] or shutil.which("alertmanager")
    if binaries["prometheus"] is None or alertmanager is None:
        pytest.skip("prometheus and alertmanager are not installed (Debian: apt-get install "
                    "prometheus prometheus-alertmanager)")  # fmt: skip
    if daemon_command() is None:
        pytest.skip("the driftwarden daemon is not installed (pip install -e .)")
    workdir = tmp_path_factory.mktemp("pager")
    receiver, server = serve_receiver()
    prometheus_port, alertmanager_port = free_port(), free_port()
    rules_file, am_file = workdir / "rules.yml", workdir / "alertmanager.yml"
    scaled_rules(rules_file)
    scaled_alertmanager(am_file, receiver)
    targets_file = workdir / "targets.json"
    targets_file.write_text("[]")
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(rules_file)],
        "alerting": {
            "alertmanagers": [{"static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}]}]
        },
        "scrape_configs": [
            {
                "job_name": "driftwarden",
                "file_sd_configs": [{"files": [str(targets_file)], "refresh_interval": "1s"}],
            },
            {
                "job_name": "alertmanager",
                "static_configs": [{"targets": [f"127.0.0.1:{alertmanager_port}"]}],
            },
        ],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    home = Path(os.environ.get("DRIFTWARDEN_TEST_HOME", str(workdir / "home")))
    env = os.environ | {
        "DRIFTWARDEN_HOME": str(home),  # the demo head is fitted once per home
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    processes: list[Process] = []
    stack = Stack(
        workdir, env, f"http://127.0.0.1:{prometheus_port}", targets_file, receiver, processes
    )
    try:
        processes.append(
            start(
                "alertmanager",
                [
                    alertmanager,
                    f"--config.file={am_file}",
                    f"--storage.path={workdir / 'am'}",
                    f"--web.listen-address=127.0.0.1:{alertmanager_port}",
                    "--cluster.listen-address=",
                    "--log.level=warn",
                ],
                workdir / "alertmanager.log",
            )
        )
        processes.append(
            start(
                "prometheus",
                [
                    str(binaries["prometheus"]),
                    f"--config.file={workdir / 'prometheus.yml'}",
                    f"--storage.tsdb.path={workdir / 'tsdb'}",
                    f"--web.listen-address=127.0.0.1:{prometheus_port}",
                    "--rules.alert.resend-delay=1s",
                    "--log.level=warn",
                ],
                workdir / "prometheus.log",
            )
        )
        stack.wait(
            lambda: http_get(f"{stack.prometheus_url}/-/ready")[0] == 200, 30, "Prometheus ready"
        )
        stack.start_daemon(free_port())
        yield stack
    finally:
        for process in reversed(processes):
            process.stop()
        server.shutdown()
        print("\n".join(stack.timeline))


def resolved_held(stack: Stack, since: float) -> list[tuple[float, str]]:
    return stack.receiver.events("resolved", HELD, since)


def rule_firing(stack: Stack, rule: str) -> float | None:
    return stack.value(f'max(driftwarden_alert_firing{{monitor="{MONITOR}", rule="{rule}"}})')


def test_pages_hold_through_death_move_and_store_outage_and_resolve_by_the_daemon(
    stack: Stack,
) -> None:
    receiver = stack.receiver
    # past every keep_firing_for, plus the longest a RESOLVED may wait in Alertmanager: a
    # page held up only by keep_firing_for would have resolved at the receiver by then
    hold_s = longest_keep_firing() + longest_group_interval() + 10
    stack.wait(
        lambda: receiver.firing(DRIFT) and receiver.firing(QUALITY),
        DAEMON_START_S + PAGES_OPEN_S,
        "drift and quality pages reached the receiver (through the daemon's own rules)",
    )
    assert rule_firing(stack, PAGES[DRIFT]) == 1 and rule_firing(stack, PAGES[QUALITY]) == 1

    # -- 2. SIGKILL: Down pages, nothing resolves, the status is "not seen"
    assert stack.daemon is not None
    old_port = stack.daemon_port
    os.killpg(stack.daemon.popen.pid, 9)
    stack.daemon.popen.wait(timeout=10)
    stack.note("daemon SIGKILLed")
    killed_at = time.time()
    stack.wait(lambda: receiver.firing("DriftwardenDown", killed_at), 60, "DriftwardenDown paged")

    def nothing_resolved() -> None:
        resolved = resolved_held(stack, killed_at)
        assert not resolved, f"RESOLVED while blind: {resolved}\n{stack.logs()}"
        for alert in PAGES:
            assert stack.firing(alert), f"{alert} no longer firing in Prometheus\n{stack.logs()}"

    stack.hold(max(0.0, killed_at + hold_s - time.time()), nothing_resolved)
    status = stack.value(f'driftwarden:monitor_status{{monitor="{MONITOR}"}}')
    assert status == STATUS_NOT_SEEN, status
    stack.note(f"held {time.time() - killed_at:.0f}s dead: no RESOLVED, status not seen")

    # -- 3. the pod moves: the daemon is back on another instance, the old target is gone
    stack.start_daemon(free_port())
    new_instance = f"127.0.0.1:{stack.daemon_port}"
    stack.wait(
        lambda: stack.value(f'up{{instance="{new_instance}"}}') == 1,
        DAEMON_START_S,
        f"the moved daemon scraped ({new_instance}, was 127.0.0.1:{old_port})",
    )
    stack.wait(
        lambda: stack.value(f'max(driftwarden_store_up{{instance="{new_instance}"}})') == 1,
        DAEMON_START_S,
        "the moved daemon serves its monitors",
    )
    nothing_resolved()
    for alert in PAGES:
        labels = stack.firing(alert)
        assert len(labels) == 1 and "instance" not in labels[0], labels

    # -- 4. the store outage: StoreDown pages, nothing resolves
    if all(rule_firing(stack, rule) == 1 for rule in PAGES.values()):
        lock = sqlite3.connect(stack.db, timeout=30, isolation_level=None)
        lock.execute("BEGIN EXCLUSIVE")
        stack.note("store locked (BEGIN EXCLUSIVE)")
        locked_at = time.time()
        try:
            stack.wait(
                lambda: receiver.firing("DriftwardenStoreDown", locked_at),
                120,
                "DriftwardenStoreDown paged",
            )
            stack.hold(max(0.0, locked_at + hold_s - time.time()), nothing_resolved)
            stack.note(f"held {time.time() - locked_at:.0f}s with the store down")
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        stack.note("store unlocked")
    else:  # the daemon's rules resolved before the outage could start: said, not hidden
        stack.note("the daemon's rules resolved right after the move: no store outage run")

    # -- 5. the pages resolve only through the daemon's own state
    seen_zero: dict[str, float] = {}

    def resolved_both() -> bool:
        for alert, rule in PAGES.items():
            if alert not in seen_zero and rule_firing(stack, rule) == 0:
                seen_zero[alert] = time.time()
                stack.note(f"daemon's rule {rule} resolved")
        names = {name for _, name in resolved_held(stack, killed_at)}
        return set(PAGES) <= names

    stack.wait(resolved_both, RESOLVE_S, "drift and quality RESOLVED reached the receiver")
    for at, alert in stack.receiver.events("resolved", set(PAGES), killed_at):
        assert alert in seen_zero and seen_zero[alert] <= at, (alert, seen_zero, at)
    print("\n".join(stack.timeline))
