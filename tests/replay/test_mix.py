"""Drawing a scenario's rows: seeded, mixed by weight, ramped, transformed; served by window."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from monitor.config import ColumnsConfig
from monitor.errors import SourceError
from monitor.replay.mix import SOURCE, SOURCE_ROW, WindowPlanner
from monitor.replay.scenario import load_scenario, parse_scenario
from monitor.replay.source import ScenarioSource

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
START = datetime(2024, 6, 1, tzinfo=UTC)


def planned(raw: dict) -> tuple[pd.DataFrame, list]:
    planner = WindowPlanner(parse_scenario(raw))
    return planner.reference(), planner.windows()


def base(**changes) -> dict:
    raw = {
        "name": "mix",
        "seed": 4,
        "window": {"rows": 50},
        "reference": {"rows": 60, "mix": {"electronics": 1, "hotels": 1}},
        "phases": [{"windows": 2, "mix": {"electronics": 1, "hotels": 3}}],
    }
    raw.update(changes)
    return raw


def test_the_same_scenario_always_draws_the_same_rows() -> None:
    first_reference, first = planned(base())
    second_reference, second = planned(base())
    pd.testing.assert_frame_equal(first_reference, second_reference)
    for a, b in zip(first, second, strict=True):
        pd.testing.assert_frame_equal(a.rows, b.rows)
    _, other = planned(base(seed=5))
    assert not other[0].rows.equals(first[0].rows)


def test_windows_follow_their_mix_weights() -> None:
    reference, windows = planned(
        base(phases=[{"windows": 4, "mix": {"electronics": 1, "hotels": 3}}])
    )
    assert len(reference) == 60 and set(reference[SOURCE]) == {"electronics", "hotels"}
    rows = pd.concat([w.rows for w in windows])
    assert all(len(w.rows) == 50 for w in windows)
    assert 0.65 < (rows[SOURCE] == "hotels").mean() < 0.85  # weight 3 of 4
    assert set(rows["label"]) == {"negative", "positive"}


def test_a_ramp_moves_from_one_mix_to_the_other() -> None:
    phase = {"windows": 4, "mix": {"electronics": 1}, "ramp_to": {"movies": 1}, "drift": True}
    _, windows = planned(base(window={"rows": 100}, phases=[phase]))
    assert [w.progress for w in windows] == [0.25, 0.5, 0.75, 1.0]
    shares = [(w.rows[SOURCE] == "movies").mean() for w in windows]
    assert shares == sorted(shares) and shares[-1] == 1.0 and 0.1 < shares[0] < 0.45


def test_class_prior_shift_is_exact_and_repeats_no_row() -> None:
    phase = {"windows": 3, "mix": {"electronics": 1}, "transforms": {"positive_share": 0.85}}
    _, windows = planned(base(window={"rows": 100}, phases=[phase]))
    for window in windows:
        assert (window.rows["label"] == "positive").sum() == 85
        assert len(window.rows) == 100


def test_data_quality_transforms_and_the_source_quarantines_empties() -> None:
    transforms = {"empty": 0.1, "truncate": 0.3, "truncate_words": 2}
    raw = base(phases=[{"windows": 1, "mix": {"hotels": 1}, "transforms": transforms}])
    _, windows = planned(raw)
    rows = windows[0].rows
    assert (rows["text"] == "").sum() == 5
    assert (rows["text"].str.split().str.len() <= 2).sum() >= 15  # empties may hit cut rows
    source = ScenarioSource(windows, ColumnsConfig(text="text"), START, timedelta(minutes=5))
    window = source.read(None, START + timedelta(minutes=5))
    assert window is not None
    assert len(window.rows) == 45 and len(window.rejected) == 5
    assert {r.reason for r in window.rejected} == {"empty text"}


def test_concept_drift_flips_labels_and_keeps_texts() -> None:
    calm = {"windows": 1, "mix": {"hotels": 1}}
    flipped = {**calm, "transforms": {"flip_labels": 1.0}}
    _, plain = planned(base(phases=[calm]))
    _, drifted = planned(base(phases=[flipped]))
    assert drifted[0].rows["text"].tolist() == plain[0].rows["text"].tolist()
    assert (drifted[0].rows["label"] != plain[0].rows["label"]).all()


def test_the_source_serves_each_window_when_the_clock_reaches_its_end() -> None:
    _, windows = planned(base())
    step = timedelta(minutes=5)
    source = ScenarioSource(windows, ColumnsConfig(text="text", target="label"), START, step)
    assert source.read(None, START + step - timedelta(seconds=1)) is None
    first = source.read(None, START + step)
    assert first is not None and (first.start, first.end) == (START, START + step)
    assert first.extra == {"phase": "phase-0", "drift": False}
    assert source.read(first.position, START + step) is None  # the next is not due yet
    second = source.read(first.position, START + 2 * step)
    assert second is not None and json.loads(second.position) == {"window": 1}
    assert second.rows["_row_id"].iloc[0] == "w1:0"
    assert source.read(second.position, START + 10 * step) is None  # the scenario is over
    with pytest.raises(SourceError, match="not a replay's"):
        source.read('{"row": 3}', START + step)


def test_real_csv_pools_are_seeded_draws_never_positional(monkeypatch, sentiment_dir) -> None:
    """The amazon reference and control windows come from all over the file, disjointly."""
    monkeypatch.setenv("DRIFTWARDEN_DATA", str(sentiment_dir.parent))
    scenario = load_scenario(SCENARIOS / "real-domain-shift.yaml")
    planner = WindowPlanner(scenario)
    reference = planner.reference()
    windows = planner.windows()
    amazon = scenario.tables["amazon"]
    drawn = [reference] + [w.rows for w in windows if set(w.rows[SOURCE]) == {"amazon"}]
    seen: set[int] = set()
    for frame in drawn:
        rows = set(frame[SOURCE_ROW])
        assert (
            len(rows) == len(frame) and not rows & seen
        )  # no row drawn twice while the pool lasts
        seen |= rows
        halves = pd.Series([r < len(amazon) // 2 for r in rows]).mean()
        assert 0.3 < halves < 0.7  # both halves of the file, not one of them
        assert frame["text"].tolist() == amazon["text"].iloc[frame[SOURCE_ROW]].tolist()
    assert [w.phase_name for w in windows[:4]] == ["amazon"] * 4
    assert set(windows[4].rows[SOURCE]) == {"imdb"}
