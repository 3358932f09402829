"""The documentation site: its reference pages are what the code generates now, every config
key, command, option and series is in them, and the site builds with `mkdocs build --strict`
(a broken link or a page missing from the nav fails)."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from pathlib import Path

import yaml
from pydantic import BaseModel

from docsgen import DOCS, generate
from docsgen.cli_reference import commands, options
from docsgen.config_reference import rows
from docsgen.contract_reference import sample_payload
from docsgen.key_notes import NOTES
from monitor import config as config_module
from monitor.config import parse_config
from monitor.exporter.series import SERIES_NAMES
from monitor.records.catalog import NAMES, QUALITY_METRICS, RUN_METRICS

ROOT = DOCS.parent


def page(path: str) -> str:
    return (DOCS / path).read_text(encoding="utf-8")


def test_the_reference_pages_are_what_the_code_generates() -> None:
    stale = [path for path, text in generate().items() if page(path) != text]
    assert not stale, f"{stale} differ from the code: run `python -m docsgen` and commit them"


def _models(annotation: typing.Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    found = []
    for arg in typing.get_args(annotation):
        found += _models(arg)
    return found


def config_keys(model: type[BaseModel] = config_module.Config, seen=None) -> set[str]:
    """Every key name a config may hold, found by walking the models (independently of the
    generator)."""
    seen = seen if seen is not None else set()
    keys: set[str] = set()
    if model in seen:
        return keys
    seen.add(model)
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        for inner in _models(field.annotation):
            keys |= config_keys(inner, seen)
    return keys


def test_every_config_key_is_in_the_reference_and_no_other() -> None:
    listed = re.findall(r"^\| `([^`]+)`", page("reference/config.md"), flags=re.MULTILINE)
    names = {re.split(r"[.\]]", key)[-1] for key in listed}
    assert config_keys() - names == set(), "config keys missing from reference/config.md"
    assert names - config_keys() == set(), "reference/config.md lists keys the code lacks"


def test_every_config_key_has_a_type_a_default_and_a_description() -> None:
    found = rows(config_module.Config)
    assert len(found) > 100
    assert [row[0] for row in found if not all(row[1:])] == []
    keys = {row[0].split("`")[1] for row in found}
    assert set(NOTES) - keys == set(), "docsgen/key_notes.py describes keys that are gone"


def test_every_command_and_option_is_in_the_reference() -> None:
    text = page("reference/cli.md")
    found = commands()
    assert len(found) >= 10 and "model fit-head" in [path for path, _ in found]
    for path, command in found:
        section = text.split(f"## `driftwarden {path}`\n", 1)[1].split("\n## ", 1)[0]
        missing = [o for o in options(command) if o not in section]
        assert not missing, (path, missing)
    documented = set(re.findall(r"^## `driftwarden (.+)`$", text, flags=re.MULTILINE))
    assert documented == {path for path, _ in found}


def test_every_prometheus_series_is_in_the_reference_and_no_other() -> None:
    listed = re.findall(r"^\| `(driftwarden_\w+)`", page("reference/series.md"), re.MULTILINE)
    assert listed == list(SERIES_NAMES)


def test_the_hook_payload_reference_names_every_key() -> None:
    text = page("reference/webhook.md")
    assert all(f"- `{key}`" in text for key in sample_payload())


def test_every_run_metric_of_the_catalog_is_in_the_runs_json_page() -> None:
    text = page("reference/runs-json.md")
    missing = [name for name in NAMES if f"`{name}`" not in text]
    assert not missing, f"run metrics missing from reference/runs-json.md: {missing}"


def test_every_exported_run_metric_names_a_served_series() -> None:
    exported = [m for m in RUN_METRICS if m.series is not None]
    assert {m.name for m in exported} >= set(QUALITY_METRICS)
    for metric in exported:
        assert metric.series is not None and f"driftwarden_{metric.series.name}" in SERIES_NAMES


def test_the_example_configs_of_the_guides_are_valid(monkeypatch, tmp_path: Path) -> None:
    """Every YAML block of a page that starts `# driftwarden.yaml` is a valid config."""
    monkeypatch.setenv("DB_PASSWORD", "not-a-secret")
    checked = []
    for path in sorted(DOCS.rglob("*.md")):
        blocks = re.findall(r"```yaml\n(# driftwarden\.yaml\n.*?)```", path.read_text(), re.S)
        for block in blocks:
            parse_config(yaml.safe_load(block), tmp_path, source=str(path))
            checked.append(path.name)
    assert {"csv-folder.md", "sql-table.md", "late-labels.md"} <= set(checked)


def test_the_readme_is_short_and_starts_a_newcomer() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    for text in (
        "pip install torch==2.13.0 -e . && driftwarden run",
        "pip install torch==2.13.0 -e '.[test]' && pytest",
        'python -m pytest -m "not slow and not integration"',
        "--index-url https://download.pytorch.org/whl/cpu",
        "docs/replay-timeline.png",
    ):
        assert text in readme, text
    # every page the README links to exists
    for target in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / target).is_file(), target


def test_the_site_builds_strictly(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "reference" / "config" / "index.html").is_file()
    assert (tmp_path / "getting-started" / "index.html").is_file()
    # the example plugin is included from the files the plugin tests install
    plugin_page = (tmp_path / "how-to" / "plugins" / "index.html").read_text()
    assert "KeywordModel" in plugin_page and "AppendFile" in plugin_page
