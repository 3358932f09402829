"""The store on a real PostgreSQL server: migrations on a user's first start (two at once
included), then the same monitoring cycles, alerts and hook deliveries stored in SQLite and in
PostgreSQL, read back through the CLI and the exporter, must be the same.

The server is started here on 127.0.0.1 (a free port, trust auth, data in a pytest temp dir),
with an ICU collation and a far-from-UTC time zone so that ordering and time-zone slips show.
"""

from __future__ import annotations

import json
import logging
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from alembic.script import ScriptDirectory
from alerts.support import config_document, window_rows
from postgres_server import Postgres
from prometheus_client import generate_latest
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.orm import Session

from monitor.cli import main
from monitor.clock import SimulatedClock
from monitor.config import Config, parse_config
from monitor.cycle import MonitorRuntime, run_cycle
from monitor.exporter import StoreCollector, build_registry
from monitor.hooks import Dispatcher
from monitor.records.results import DriftScore, Result
from monitor.records.rows import Rejected
from monitor.sources.memory import MemorySource
from monitor.store import RunRecord, Store, open_store
from monitor.store.alerts import alert_events, alert_states
from monitor.store.outbox import delivery_counts
from monitor.store.repository import WindowTaken, monitor_id, record_run, watermark
from monitor.store.run_reads import predictions
from monitor.store.schema import QuarantinedRow
from monitor.views.runs import run_summaries

pytestmark = pytest.mark.integration

pytest.importorskip(
    "psycopg", reason="the PostgreSQL driver is not installed: pip install 'psycopg[binary]'"
)

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = REPO / "monitor" / "store" / "alembic"
START = datetime(2024, 3, 1, tzinfo=UTC)
STEP = timedelta(minutes=5)


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'first.db'}"
    server: Postgres = request.getfixturevalue("postgres")
    return server.fresh_database()


# ---------------------------------------------------------------- migrations

_WAIT_THEN_RUN = """
import sys, time
from pathlib import Path
from monitor.cli import main  # imported before the start line: the race is the migration
ready, go = Path(sys.argv[1]), Path(sys.argv[2])
ready.touch()
while not go.exists():
    time.sleep(0.005)
raise SystemExit(main(["runs", "--db", sys.argv[3], "--json"]))
"""


def _schema(url: str) -> dict[str, list[tuple[str, bool]]]:
    engine = create_engine(url)
    try:
        found = inspect(engine)
        return {
            table: sorted((c["name"], bool(c["nullable"])) for c in found.get_columns(table))
            for table in sorted(found.get_table_names())
        }
    finally:
        engine.dispose()


def _versions(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(text("SELECT version_num FROM alembic_version")).scalars()
            )
    finally:
        engine.dispose()


def test_two_first_starts_at_once_migrate_once_and_a_later_start_migrates_nothing(
    fresh_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    go = tmp_path / "go"
    processes = []
    for n in range(2):
        ready = tmp_path / f"ready-{n}"
        argv = [sys.executable, "-c", _WAIT_THEN_RUN, str(ready), str(go), fresh_url]
        process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        processes.append((ready, process))
    try:
        deadline = time.monotonic() + 60
        while not all(ready.exists() for ready, _ in processes) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()  # both processes open the empty database together: a user's first starts
        for _, process in processes:
            out, err = process.communicate(timeout=60)
            assert process.returncode == 0, err.decode()[-2000:]
            assert json.loads(out) == []
    finally:
        for _, process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert _versions(fresh_url) == [head]

    caplog.set_level(logging.INFO, logger="alembic")
    open_store(fresh_url).close()  # a later start, as every `driftwarden` command makes
    assert not [r for r in caplog.records if "Running upgrade" in r.getMessage()]
    assert _versions(fresh_url) == [head]
    if fresh_url.startswith("postgresql"):  # the same tables and columns as SQLite's
        sqlite_url = f"sqlite:///{tmp_path / 'twin.db'}"
        open_store(sqlite_url).close()
        assert _schema(fresh_url) == _schema(sqlite_url)


def _race(
    store: Store, first: Callable[[Session], Any], second: Callable[[Session], Any]
) -> dict[str, Any]:
    """`first` writes in one transaction; `second` starts in another thread and is left
    to wait on the lock `first` holds, and only then does `first` commit. Returns what each
    returned, and the exception `second` raised, if any, as "error"."""
    found: dict[str, Any] = {}

    def second_writer() -> None:
        try:
            with store.transaction() as session:
                found["second"] = second(session)
        except Exception as exc:  # reported by the caller's assertions
            found["error"] = exc

    waiting = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock'"
    )
    with store.transaction() as session:
        found["first"] = first(session)
        writer = threading.Thread(target=second_writer)
        writer.start()
        deadline = time.monotonic() + 30
        with store.engine.connect() as watcher:  # commit only once the second one waits
            while not watcher.execute(text(waiting)).scalar() and time.monotonic() < deadline:
                time.sleep(0.01)
    writer.join(30)
    return found


def test_two_writers_meeting_a_new_monitor_share_its_row(postgres: Postgres) -> None:
    """A daemon and `once` both meet a monitor first: the second waits for the first's row
    (it used to fail on the unique name once the first committed)."""
    store = open_store(postgres.fresh_database())
    found = _race(
        store,
        lambda session: monitor_id(session, "new", START),
        lambda session: monitor_id(session, "new", START),
    )
    store.close()
    assert "error" not in found, found.get("error")
    assert found["second"] == found["first"]


@pytest.mark.parametrize("after", [None, '{"row": 50}'], ids=["first window", "next window"])
def test_two_processes_recording_one_window_store_it_once(
    postgres: Postgres, after: str | None
) -> None:
    """Two daemons read the same watermark and score the same window: the first to commit
    records it; the second waits on the watermark's lock, then is refused, storing nothing."""
    store = open_store(postgres.fresh_database())

    def window(worker: str) -> RunRecord:
        return RunRecord(
            "twice",
            START,
            START + STEP,
            START,
            START,
            rows=3 if worker == "first" else 4,
            position='{"row": 100}',
            guard=True,
            after=after,
        )

    if after is not None:
        with store.transaction() as session:
            record_run(session, RunRecord("twice", START, START, START, START, position=after))
    found = _race(
        store,
        lambda session: record_run(session, window("first")),
        lambda session: record_run(session, window("second")),
    )
    with store.reading() as session:
        runs = run_summaries(session)
        mark = watermark(session, "twice")
    store.close()
    assert isinstance(found.get("error"), WindowTaken), found.get("error")
    assert [r["rows"] for r in runs if r["rows"]] == [3]  # the first writer's, alone
    assert mark is not None and mark[0] == '{"row": 100}'


# ---------------------------------------------------------------- values at the edges


def _awkward_record(window: int) -> RunRecord:
    """A run carrying what SQLite takes and PostgreSQL used to refuse or keep differently."""
    moment = START + window * STEP
    result = Result(
        features={
            "x": DriftScore("x", "ks", float("nan"), 0.05, False),  # a test that measured nothing
            "y" * 240: DriftScore("y" * 240, "psi", 0.3, 0.1, True),  # a long column name
        },
        drifted_share=0.5,
        dataset_drift=True,
        quality={"accuracy": float("inf")},
    )
    return RunRecord(
        monitor="edges",
        window_start=moment,
        window_end=moment + STEP,
        started_at=moment + STEP,
        finished_at=moment + STEP + timedelta(seconds=1),
        rows=1,
        model_version="v\x001",
        result=result,
        predictions=[
            {
                "row_id": "id-" + "9" * 300,
                "position": 0,
                "text": "a NUL \x00 inside",
                "predicted_id": 1,
                "predicted_name": "positive",
                "probabilities": [float("nan"), 1.0],
                "target": "positive",
            }
        ],
        quarantined=[
            Rejected("row\x00nul", "odd \x00 reason", {"x": float("inf"), "note": "\x00"}),
            Rejected("row-" + "8" * 300, "missing value in feature 'x'", {"x": None}),
        ],
        stage_seconds={"read": float("nan"), "total": 1.5},
        position=json.dumps({"after": window}),
    )


def _stored_rows(store: Store) -> dict[str, Any]:
    with store.reading() as session:
        summaries = run_summaries(session)
        for summary in summaries:
            summary.pop("stage_seconds")  # wall-clock time of each stage
        quarantine = [
            (q.run_id, q.row_id, q.reason, q.raw, q.created_at)
            for q in session.scalars(select(QuarantinedRow).order_by(QuarantinedRow.id))
        ]
        logged = {
            s["run_id"]: [
                (
                    p.row_id,
                    p.position,
                    p.text,
                    p.predicted_id,
                    p.predicted_name,
                    p.target,
                    p.probabilities,
                )
                for p in predictions(session, s["run_id"])
            ]
            for s in summaries
        }
        monitors = {s["monitor"] for s in summaries}
        marks = {name: watermark(session, name) for name in sorted(monitors)}
    return {"runs": summaries, "quarantine": quarantine, "predictions": logged, "marks": marks}


def test_awkward_values_are_stored_alike(postgres: Postgres, tmp_path: Path) -> None:
    stored = {}
    for url in (f"sqlite:///{tmp_path / 'edges.db'}", postgres.fresh_database()):
        store = open_store(url)
        for window in range(2):  # the second run meets its quarantined rows again
            with store.transaction() as session:
                record_run(session, _awkward_record(window))
        stored[url.split(":")[0]] = _stored_rows(store)
        store.close()
    sqlite, pg = stored["sqlite"], stored["postgresql+psycopg"]
    assert pg == sqlite
    first = pg["runs"][0]
    assert first["features"]["x"]["score"] is None  # NaN: not measured, on both
    assert first["model_version"] == "v\ufffd1"
    assert [q[1] for q in pg["quarantine"]] == ["row\ufffdnul", "row-" + "8" * 300]
    assert pg["quarantine"][0][3] == {"x": None, "note": "\x00"}
    assert [r["quarantined"] for r in pg["runs"]] == [2, 0]


# ---------------------------------------------------------------- cycles, alerts, hooks

RULES = [
    # "Drift-share" sorts before "accuracy-drop" by code point, after it in the ICU collation
    {"name": "accuracy-drop", "metric": "accuracy", "below": 0.8, "for": 1},
    {"name": "Drift-share", "metric": "drifted_share", "above": 0.5, "for": 1},
]
HOOKS = {
    "notify": {"type": "command", "argv": ["true"]},
    "page": {"type": "command", "argv": ["false"], "retries": 2},
}
# (accuracy, shift) per window; None: unlabelled
WINDOWS: list[tuple[float | None, float]] = [
    (1.0, 0.0),
    (0.5, 0.0),  # accuracy-drop fires: notify delivers, page fails after two retries
    (0.5, 3.0),  # the inputs move: Drift-share fires too
    (1.0, 0.0),  # both resolve
    (None, 0.0),  # unlabelled, with quarantined rows and awkward ids
    (0.75, 0.0),  # after a restart: accuracy-drop fires a second episode
]


def _window(number: int, accuracy: float | None, shift: float) -> pd.DataFrame:
    # two more rows in the unlabelled window make up for the two it quarantines
    rows = window_rows(accuracy, rows=40 if accuracy is not None else 42, seed=number, shift=shift)
    ids = [f"w{number}-{i}" for i in range(len(rows))]
    if accuracy is None:
        # ids a stream's own id column may carry: a NUL, and longer than the old VARCHAR(200)
        ids[0], ids[1] = f"w{number}-\x00-nul", f"w{number}-" + "long" * 60
        rows.loc[[2, 5], "x"] = float("nan")  # quarantined: missing value in feature 'x'
    return rows.assign(id=ids)


def _config(folder: Path, url: str) -> Config:
    rules = [{**RULES[0], "hooks": ["notify", "page"]}, {**RULES[1], "hooks": ["notify"]}]
    document = config_document(folder, rules, HOOKS)
    document["storage"] = url
    document["monitors"][0]["columns"]["id"] = "id"
    return parse_config(document, folder)


def _deliver(store: Store, config: Config, clock: SimulatedClock) -> None:
    """What `once` does after its cycles, on the simulated clock (backoff advances it)."""
    dispatcher = Dispatcher(
        store,
        config.hooks,
        clock,
        workers=1,
        sleep=lambda seconds: clock.advance(timedelta(seconds=seconds)),
        rng=random.Random(0),
    )
    report = dispatcher.deliver_pending()
    assert report.pending == 0


def _drive(folder: Path, url: str, caplog: pytest.LogCaptureFixture) -> None:
    """The windows through `run_cycle` and the dispatcher, with a process restart midway."""
    folder.mkdir()
    config = _config(folder, url)
    monitor = config.monitors[0]
    source = MemorySource(monitor.columns, monitor.window)
    clock = SimulatedClock(START)
    store = open_store(config.storage)  # a first start: the migrations run here
    runtime = MonitorRuntime.build(monitor, source=source)
    for number, (accuracy, shift) in enumerate(WINDOWS, start=1):
        if number == len(WINDOWS):  # a restart: nothing in memory, the same database
            store.close()
            caplog.clear()
            store = open_store(config.storage)
            assert not [r for r in caplog.records if "Running upgrade" in r.getMessage()]
            runtime = MonitorRuntime.build(monitor, source=source)
        source.append(_window(number, accuracy, shift))
        clock.advance(STEP)
        outcome = run_cycle(runtime, store, clock)
        assert outcome.status == "ok", outcome.error
        _deliver(store, config, clock)
    store.close()


def _exposition(store: Store) -> str:
    """/metrics as a scrape reads it from the store, minus what measures this process."""
    body = generate_latest(build_registry(StoreCollector(store))).decode()
    varying = ("process_", "python_", "run_duration_seconds")  # wall-clock stage timings
    return "\n".join(line for line in body.splitlines() if not any(v in line for v in varying))


def _read_back(url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    capsys.readouterr()
    assert main(["runs", "--db", url, "--json"]) == 0
    runs_json = json.loads(capsys.readouterr().out)
    for run in runs_json:
        run.pop("stage_seconds")  # wall-clock time of each stage
    assert main(["hooks", "--db", url, "--json"]) == 0
    hooks_json = json.loads(capsys.readouterr().out)
    # a delivery id is a fresh uuid4: compare the order they appear in instead
    deliveries: dict[str, int] = {}
    for attempt in hooks_json:
        attempt["delivery_id"] = deliveries.setdefault(attempt["delivery_id"], len(deliveries))
        attempt.pop("duration_seconds")  # wall-clock time of the command
    store = open_store(url)
    try:
        with store.reading() as session:
            events = [
                (e.rule, e.state, e.episode, e.run_id, e.payload, e.created_at)
                for e in alert_events(session)
            ]
            states = alert_states(session)
            outbox = delivery_counts(session)
        return {
            "runs --json": runs_json,
            "hooks --json": hooks_json,
            "events": events,
            "states": states,
            "outbox": outbox,
            "stored": _stored_rows(store),
            "metrics": _exposition(store),
        }
    finally:
        store.close()


def test_cycles_alerts_and_hooks_store_the_same_in_postgres_as_in_sqlite(
    postgres: Postgres,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="alembic")
    urls = {"sqlite": f"sqlite:///{tmp_path / 'twin.db'}", "postgresql": postgres.fresh_database()}
    found = {}
    for backend, url in urls.items():
        _drive(tmp_path / backend, url, caplog)
        found[backend] = _read_back(url, capsys)
    sqlite, pg = found["sqlite"], found["postgresql"]

    # not vacuous: every part of the path stored something worth comparing
    runs = pg["runs --json"]
    assert [r["status"] for r in runs] == ["ok"] * len(WINDOWS)
    assert runs[4]["quarantined"] == 2 and "accuracy" not in runs[4]["metrics"]
    assert {(e[0], e[1]) for e in pg["events"]} == {
        ("accuracy-drop", "firing"),
        ("accuracy-drop", "resolved"),
        ("Drift-share", "firing"),
        ("Drift-share", "resolved"),
    }
    assert pg["outbox"]["delivered"] > 0 and pg["outbox"]["failed"] > 0
    assert {a["outcome"] for a in pg["hooks --json"]} == {"delivered", "retry", "failed"}
    assert [s["rule"] for s in pg["states"]] == ["Drift-share", "accuracy-drop"]
    predicted_ids = [p[0] for p in pg["stored"]["predictions"][5]]
    assert "w5-\ufffd-nul" in predicted_ids and "w5-" + "long" * 60 in predicted_ids
    assert 'driftwarden_alert_firing{monitor="tabular",rule="accuracy-drop"} 1.0' in pg["metrics"]

    for part in sqlite:
        assert pg[part] == sqlite[part], part
