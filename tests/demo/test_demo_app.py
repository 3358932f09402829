"""The embedded demo: a deterministic drifting stream, its config, and its cached head."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.config import ColumnsConfig
from monitor.demo import app
from monitor.demo.stream import BLOCK_ROWS, DemoStream, DriftCycle
from monitor.errors import SourceError
from monitor.models.encoder import directory_identity, resolve_encoder_path
from monitor.records.rows import ROW_ID

NOW = datetime(2025, 3, 3, tzinfo=UTC)
COLUMNS = ColumnsConfig(text="text", target="label")


def test_row_k_is_always_the_same_text() -> None:
    first, second = DemoStream(COLUMNS, 64), DemoStream(COLUMNS, 64)
    a = first.rows(1000, 1040)
    second.rows(0, 10)  # a different history must not change later rows
    b = second.rows(1000, 1040)
    assert a.equals(b)
    assert a[ROW_ID].tolist() == [f"demo-{k}" for k in range(1000, 1040)]
    # a slice that straddles blocks equals the rows cut from the whole
    assert first.rows(1005, 1007).equals(a.iloc[5:7].reset_index(drop=True))


def test_windows_follow_the_watermark_across_a_restart() -> None:
    stream = DemoStream(COLUMNS, 20)
    after = None
    seen: list[str] = []
    for _ in range(5):
        window = stream.read(after, NOW)
        seen += window.rows[ROW_ID].tolist() + [r.row_id for r in window.rejected]
        after = window.position
    restarted = DemoStream(COLUMNS, 20).read(after, NOW)
    continued = stream.read(after, NOW)
    assert restarted.rows.equals(continued.rows)
    numbers = sorted(int(row.removeprefix("demo-")) for row in seen)
    assert numbers == list(range(len(numbers)))  # no row skipped or repeated
    assert json.loads(after)["row"] == numbers[-1]


def test_the_stream_drifts_then_recovers_and_repeats() -> None:
    cycle = DriftCycle(period_rows=1000)
    phases = [cycle.phase(row) for row in range(0, 2000, 50)]
    assert phases[:6] == ["healthy"] * 6
    assert "drifting" in phases[6:14] and "recovering" in phases[14:16]
    assert phases[20:] == phases[:20]
    assert cycle.progress(550) == 1.0 and cycle.progress(100) == 0.0
    stream = DemoStream(COLUMNS, 64, cycle)
    healthy, drifted = stream.rows(0, 256), stream.rows(420, 676)
    assert set(healthy["domain"]) <= {"electronics", "restaurants", "hotels"}
    assert set(drifted["domain"]) <= {"movies", "books"}
    assert drifted["text"].str.len().mean() > healthy["text"].str.len().mean() + 15
    window = stream.read(json.dumps({"row": 449}), NOW)
    assert window.extra["phase"] == "drifting"
    assert len(window.rows) == 64
    assert window.rejected, "the drifted mix holds garbage rows that must be quarantined"


def test_a_foreign_watermark_is_a_clear_source_error() -> None:
    with pytest.raises(SourceError, match="not the demo stream's"):
        DemoStream(COLUMNS, 64).read(json.dumps({"key": ["a.csv", 3]}), NOW)


def test_demo_config_is_a_valid_config_keyed_by_encoder(tmp_path: Path) -> None:
    config = app.demo_config(tmp_path)
    assert config.storage == f"sqlite:///{tmp_path / 'demo.db'}"
    (monitor,) = config.monitors
    assert monitor.name == "demo-reviews"
    assert monitor.schedule.every is not None and monitor.schedule.every.total_seconds() <= 10
    assert monitor.window.rows == app.WINDOW_ROWS
    fingerprint = directory_identity(resolve_encoder_path(app.ENCODER))
    assert fingerprint in Path(monitor.model.head).name  # type: ignore[union-attr]
    assert [rule.name for rule in monitor.alerts] == [
        "dataset-drift",
        "accuracy-drop",
        "estimated-accuracy-drop",
    ]
    assert app.demo_config(tmp_path, storage="sqlite://").storage == "sqlite://"


def test_the_reference_is_written_once_and_deterministic(tmp_path: Path) -> None:
    path = app.ensure_reference(tmp_path)
    content = path.read_text()
    path.unlink()
    assert app.ensure_reference(tmp_path).read_text() == content
    assert len(content.splitlines()) == app.REFERENCE_ROWS + 1


@pytest.mark.slow
def test_first_start_fits_and_caches_the_head_then_reuses_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monitor.clock import SystemClock
    from monitor.cycle import run_cycle
    from monitor.store import open_store

    config = app.demo_config(tmp_path, snapshot=False).monitors[0]
    runtime = app.build_runtime(config, tmp_path)
    head = Path(config.model.head)  # type: ignore[union-attr]
    assert (head / "head.json").is_file()
    meta = json.loads((head / "head.json").read_text())
    assert meta["encoder"] == runtime.model.encoder.identity  # type: ignore[attr-defined]

    def no_refit(*_: object, **__: object) -> None:
        raise AssertionError("the cached head must be reused")

    monkeypatch.setattr(app, "fit_head", no_refit)
    again = app.ensure_head(config.model, runtime.model.encoder)  # type: ignore[arg-type, attr-defined]
    assert again == head
    store = open_store("sqlite://")
    outcome = run_cycle(runtime, store, SystemClock())
    assert outcome.status == "ok" and outcome.rows == app.WINDOW_ROWS
    assert outcome.result is not None and outcome.result.quality["accuracy"] > 0.75
    assert BLOCK_ROWS < app.WINDOW_ROWS
