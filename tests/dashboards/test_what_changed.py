"""The monitor dashboard's "What changed" table, its queries run by Prometheus's own engine
(`promtool test rules`) on series shaped as the exporter serves them: the selected monitor's
terms and moved descriptors come back, another monitor's do not. (The live stack test,
tests/integration/test_stack_live.py, also runs them against the daemon's demo.)"""

from __future__ import annotations

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

from dashboards import monitor_changes, promql  # noqa: E402

MONITOR = "reviews"
SCRAPED = 'job="driftwarden", instance="dw:9108"'


def panel_exprs() -> dict[str, str]:
    """The table's queries by ref, as Grafana sends them for monitor `reviews`."""
    board = promql.load_dashboards()["monitor.json"]
    (panel,) = [p for p in board["panels"] if p.get("title") == monitor_changes.TITLE]
    return {
        target["refId"]: promql.substitute_variables(
            target["expr"], monitor=MONITOR, rate_interval="1m"
        )
        for target in panel["targets"]
    }


def series(name: str, monitor: str, labels: str, value: float) -> dict[str, str]:
    return {"series": f'{name}{{{SCRAPED}, monitor="{monitor}", {labels}}}', "values": f"{value}x5"}


def test_the_what_changed_table_reads_the_selected_monitors_explanation(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")
    exprs = panel_exprs()
    assert sorted(exprs) == ["A", "B"]
    terms, descriptors = "driftwarden_window_term_zscore", "driftwarden_descriptor_effect_size"
    inputs = [
        series(terms, MONITOR, 'side="window", rank="1", term="refund"', 7.5),
        series(terms, MONITOR, 'side="reference", rank="1", term="great"', 6),
        series(terms, "other", 'side="window", rank="1", term="shipping"', 9),
        series(descriptors, MONITOR, 'descriptor="text_length"', 0.75),
        series(descriptors, "other", 'descriptor="word_count"', -1),
    ]
    expected: dict[str, list[dict[str, Any]]] = {
        "A": [
            {"labels": '{rank="1", side="reference", term="great"}', "value": 6},
            {"labels": '{rank="1", side="window", term="refund"}', "value": 7.5},
        ],
        "B": [{"labels": '{descriptor="text_length"}', "value": 0.75}],
    }
    cases = {
        "rule_files": [],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": inputs,
                "promql_expr_test": [
                    {"expr": exprs[ref], "eval_time": "2m", "exp_samples": expected[ref]}
                    for ref in ("A", "B")
                ],
            }
        ],
    }
    path = tmp_path / "what_changed_test.yml"
    path.write_text(yaml.safe_dump(cases, sort_keys=False))
    result = subprocess.run(
        [promtool, "test", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
