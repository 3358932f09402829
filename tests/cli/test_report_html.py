"""`driftwarden report RUN_ID --out F.html`: a title, a header with the run's key numbers,
each Evidently widget once, and a page that loads in a real headless Chromium without a
console error."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from text_project import write_text_project

from monitor.cli import main

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (.ci/run installs it)"
)


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory, tiny_bert: Path, amazon_split) -> dict:
    """One real run of a text classifier on real sentences, its `runs --json` entry and the
    report written for it."""
    folder = tmp_path_factory.mktemp("report")
    reference, held_out = amazon_split
    config = write_text_project(folder, tiny_bert, reference, held_out.iloc[:80], 80)
    assert main(["once", "--config", str(config)]) == 0
    out = folder / "run1.html"
    assert main(["report", "1", "--config", str(config), "--out", str(out)]) == 0
    return {"html": out, "run": _runs_json(config)[0]}


def _runs_json(config: Path) -> list[dict]:
    import io
    from contextlib import redirect_stdout

    buffer = io.StringIO()
    with redirect_stdout(buffer):
        assert main(["runs", "--config", str(config), "--json"]) == 0
    return json.loads(buffer.getvalue())


def test_the_page_opens_with_a_title_and_the_runs_header(reported: dict) -> None:
    html = reported["html"].read_text()
    run = reported["run"]
    title = re.search(r"<title>(.*?)</title>", html)
    assert title and title[1].startswith("driftwarden: reviews, run 1 (window ending ")
    header = html[html.index("<header") : html.index("</header>")]
    assert "Monitor reviews, run 1" in header
    assert f"model version {run['model_version']}" in header
    for key in ("embedding_drift_score", "roc_auc", "accuracy", "drifted_share"):
        assert f"data-metric='{key}'>{run['metrics'][key]:.3f}<" in header, key
    # a p-value matters when small: two significant digits, not three decimals
    p_value = run["metrics"]["dataset_drift_p_value"]
    assert f"data-metric='dataset_drift_p_value'>{p_value:.2g}<" in header
    # the reference's quality beside the window's is said to be in-sample
    assert "measured on the reference rows" in header and "in-sample" in header
    # the header comes before any Evidently widget
    assert html.index("<header") < html.index('<div id="root_metric_')


def test_each_widget_is_shown_once(reported: dict) -> None:
    html = reported["html"].read_text()
    assert html.count('"label": "Confusion Matrix"') == 1


def chromium(page: Path, tmp_path: Path) -> tuple[str, list[str]]:
    """The DOM after scripts ran, and every console message the page logged."""
    assert CHROMIUM is not None
    result = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'chromium-profile'}",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    return result.stdout, console


@needs_chromium
def test_chromium_sees_console_errors_on_a_broken_page(tmp_path: Path) -> None:
    """The check below can fail: a page that logs an error is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<html><body><script>console.error('boom'); missing();</script></body></html>")
    _, console = chromium(page, tmp_path)
    assert any("boom" in line for line in console)
    assert any("Uncaught ReferenceError" in line for line in console)


@needs_chromium
def test_the_report_loads_in_chromium_without_console_errors(
    reported: dict, tmp_path: Path
) -> None:
    dom, console = chromium(reported["html"], tmp_path)
    assert console == []
    # what the page shows, without the scripts that hold the widgets' data
    dom = re.sub(r"<script\b.*?</script>", "", dom, flags=re.DOTALL)
    assert "Monitor reviews, run 1" in dom
    assert "Drift in column" in dom  # Evidently's scripts ran and drew the widgets
    assert dom.count("Confusion Matrix") == 1
