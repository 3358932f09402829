"""The dashboards' grid, units and colours, checked on the generated JSON of every panel.

Grafana draws on a 24-column grid: a panel past column 24 wraps or overlaps its neighbours.
Every number carries a unit. Colours keep one meaning each (green healthy, orange drift,
red what pages, purple the store down, blue facts), and a "now" panel never shows a
healthy value it cannot see: no stale last value, and "Daemon not seen" in red.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from dashboards import panels, promql, rules  # noqa: E402

GRID_COLUMNS = 24
PALETTE = {panels.GREEN, panels.ORANGE, panels.RED, panels.PURPLE, panels.BLUE}
BOARDS = promql.load_dashboards()


def every_panel() -> Iterator[tuple[str, dict[str, Any]]]:
    for name, board in BOARDS.items():
        for panel in board["panels"]:
            yield name, panel


def panel_id(case: tuple[str, dict[str, Any]]) -> str:
    return f"{case[0]}:{case[1]['title']}"


def colours(node: Any) -> Iterator[str]:
    """Every colour named anywhere in a panel's config (mappings, thresholds, overrides)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("color", "fixedColor") and isinstance(value, str):
                yield value
            else:
                yield from colours(value)
    elif isinstance(node, list):
        for item in node:
            yield from colours(item)


@pytest.mark.parametrize("case", list(every_panel()), ids=panel_id)
def test_panel_fits_the_grid(case: tuple[str, dict[str, Any]]) -> None:
    _, panel = case
    grid = panel["gridPos"]
    assert grid["w"] > 0 and grid["h"] > 0, grid
    assert grid["x"] >= 0 and grid["x"] + grid["w"] <= GRID_COLUMNS, grid


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_no_two_panels_overlap(name: str) -> None:
    cells: dict[tuple[int, int], str] = {}
    for panel in BOARDS[name]["panels"]:
        grid = panel["gridPos"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]


@pytest.mark.parametrize(
    "case",
    [case for case in every_panel() if case[1]["type"] in ("timeseries", "stat")],
    ids=panel_id,
)
def test_every_number_has_a_unit(case: tuple[str, dict[str, Any]]) -> None:
    _, panel = case
    assert panel["fieldConfig"]["defaults"].get("unit"), panel["title"]


@pytest.mark.parametrize("case", list(every_panel()), ids=panel_id)
def test_colours_come_from_the_palette(case: tuple[str, dict[str, Any]]) -> None:
    _, panel = case
    used = set(colours(panel.get("fieldConfig", {})))
    heatmap_fill = panel.get("options", {}).get("color", {}).get("fill")
    used |= {heatmap_fill} if heatmap_fill else set()
    assert used <= PALETTE, f"{panel['title']}: {sorted(used - PALETTE)}"


def test_the_feature_heatmap_is_not_red() -> None:
    """A drifted feature is a warning (orange); red is kept for what pages."""
    heatmap = next(p for _, p in every_panel() if p["type"] == "heatmap")
    color = heatmap["options"]["color"]
    assert color["mode"] == "opacity" and color["fill"] == panels.ORANGE, color
    assert "Rd" not in str(color.get("scheme", "")), color


@pytest.mark.parametrize(
    "case", [case for case in every_panel() if case[1]["type"] == "stat"], ids=panel_id
)
def test_now_stats_never_show_a_stale_or_fallback_healthy_value(
    case: tuple[str, dict[str, Any]],
) -> None:
    """Instant queries (a range's last non-null value stays "OK" after the daemon died),
    "No data" said as such, and "Daemon not seen" in red."""
    _, panel = case
    main = next(t for t in panel["targets"] if t["refId"] == "A")
    assert main.get("instant") is True, panel["title"]
    defaults = panel["fieldConfig"]["defaults"]
    assert defaults.get("noValue") == "No data", panel["title"]
    options = [m["options"] for m in defaults["mappings"] if m["type"] == "value"]
    not_seen = [o[str(panels.NOT_SEEN_VALUE)] for o in options if str(panels.NOT_SEEN_VALUE) in o]
    assert not_seen and not_seen[0]["color"] == panels.RED, panel["title"]
    # the status and the success age read "not seen" themselves; the version is a fact
    if panel["title"] not in ("Status", "Last successful cycle", "Model version"):
        assert f"== {rules.STATUS_NOT_SEEN}" in main["expr"], panel["title"]
    # a threshold written as a fallback is the alarming colour, never a hard-coded number
    steps = defaults["thresholds"]["steps"]
    for step in steps[1:]:
        assert step["value"] in (0, 1), f"{panel['title']}: fallback threshold {step}"


def test_every_status_pages_in_red_or_warns_in_orange() -> None:
    board = BOARDS["overview.json"]
    table = next(p for p in board["panels"] if p["title"] == "Monitors")
    override = next(
        o for o in table["fieldConfig"]["overrides"] if o["matcher"]["options"] == "Status"
    )
    mapping = next(p["value"] for p in override["properties"] if p["id"] == "mappings")
    texts = mapping[0]["options"]
    assert set(texts) == {str(value) for value in rules.STATUS_NAMES}
    assert texts[str(rules.STATUS_NOT_SEEN)]["color"] == panels.RED
    assert texts[str(rules.STATUS_QUALITY_LOW)]["color"] == panels.RED
    assert texts[str(rules.STATUS_OK)]["color"] == panels.GREEN


def test_the_drift_family_p_value_is_on_a_log_axis() -> None:
    panel = next(p for _, p in every_panel() if p["title"] == "Drift family p-value")
    scale = panel["fieldConfig"]["defaults"]["custom"]["scaleDistribution"]
    assert scale == {"type": "log", "log": 10}


@pytest.mark.parametrize("name", sorted(BOARDS))
def test_dashboards_link_the_runbooks_and_pick_the_deployment(name: str) -> None:
    board = BOARDS[name]
    links = [link for link in board["links"] if link.get("type") == "link"]
    assert any(link["url"] == rules.RUNBOOK_BASE for link in links), board["links"]
    variables = [v["name"] for v in board["templating"]["list"]]
    assert variables == ["datasource", "job", "namespace", "instance", "monitor"]
