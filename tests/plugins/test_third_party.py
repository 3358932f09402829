"""A third-party plugin package, installed for real, adds a source, a model and a hook type:
`check-config` validates them without loading torch, and `once` runs a monitor on them.

The package (tests/plugins/driftwarden-example, with its own pyproject.toml) is installed
into a temporary folder, modules and dist-info with its entry points, that only the
subprocesses here see on their PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

EXAMPLE = Path(__file__).parent / "driftwarden-example"
REPO = Path(__file__).resolve().parents[2]
# `check-config`, then a look at what it imported: validating must stay light
CHECK = (
    "import sys\n"
    "from monitor.cli import main\n"
    "code = main(['check-config', sys.argv[1]])\n"
    "heavy = sorted(m for m in ('torch', 'transformers', 'evidently') if m in sys.modules)\n"
    "print('heavy modules:', heavy)\n"
    "sys.exit(code)\n"
)
CLI = "import sys; from monitor.cli import main; sys.exit(main(sys.argv[1:]))"


def install(package: Path, target: Path) -> None:
    """What `pip install --target` leaves for a pure-Python package: its modules and a
    dist-info with the entry points its pyproject.toml declares (no build backend needed)."""
    pyproject = tomllib.loads((package / "pyproject.toml").read_text())
    project, packages = pyproject["project"], pyproject["tool"]["setuptools"]["packages"]
    for name in packages:
        shutil.copytree(package / name, target / name)
    normalized = project["name"].replace("-", "_")
    info = target / f"{normalized}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n"
    )
    groups = project["entry-points"]
    (info / "entry_points.txt").write_text(
        "".join(
            f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in entries.items())
            for group, entries in groups.items()
        )
    )
    (info / "top_level.txt").write_text("".join(f"{name}\n" for name in packages))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    install(EXAMPLE, target)
    return target


def run(argv: list[str], site: Path | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    paths = [str(site)] if site is not None else []
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, str(REPO)])}
    return subprocess.run(
        [sys.executable, *argv], capture_output=True, text=True, env=env, cwd=cwd, timeout=300
    )


def workspace(folder: Path, **overrides: object) -> Path:
    texts = [f"a great day number {i}" if i % 2 else f"a dull day number {i}" for i in range(12)]
    labels = ["positive" if "great" in t else "negative" for t in texts]
    (folder / "stream.txt").write_text(
        "".join(f"{t}\t{label}\n" for t, label in zip(texts, labels, strict=True))
    )
    (folder / "reference.csv").write_text(
        "text,label\n"
        + "".join(f"{t},{'positive' if 'great' in t else 'negative'}\n" for t in texts)
    )
    monitor = {
        "name": "lines",
        "model": {"type": "keyword", "positive": ["great"]},
        "reference": {"path": "reference.csv"},
        "stream": {"type": "text-lines", "path": "stream.txt"},
        "columns": {"text": "text", "target": "label"},
        "window": {"rows": 6},
        "snapshot": False,
        "alerts": [
            {"name": "confident", "metric": "mean_confidence", "above": 0.5, "hooks": ["log"]}
        ],
    }
    monitor.update(overrides)
    config = {
        "storage": "sqlite:///dw.db",
        "hooks": {"log": {"type": "append-file", "path": "events.jsonl"}},
        "monitors": [monitor],
    }
    path = folder / "dw.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_check_config_validates_third_party_types_without_heavy_imports(
    site: Path, tmp_path: Path
) -> None:
    config = workspace(tmp_path)
    done = run(["-c", CHECK, str(config)], site, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "1 monitor(s): lines; 1 hook(s)" in done.stdout
    assert "heavy modules: []" in done.stdout
    # the plugin's own config model checks its keys, as a built-in's does
    workspace(tmp_path, model={"type": "keyword", "positive": []})
    done = run(["-c", CHECK, str(config)], site, tmp_path)
    assert done.returncode == 2
    assert "monitors[0].model.positive:" in done.stderr
    # ... and check-config runs the plugin's own pre-flight check, under the block's key
    workspace(tmp_path, stream={"type": "text-lines", "path": "later.txt"})
    done = run(["-c", CHECK, str(config)], site, tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"warning: monitors[0].stream.path: {tmp_path / 'later.txt'} does not exist yet" in (
        done.stderr
    )


def test_an_unknown_type_lists_the_known_ones_plugins_included(site: Path, tmp_path: Path) -> None:
    config = workspace(tmp_path, stream={"type": "text-linez", "path": "stream.txt"})
    done = run(["-c", CHECK, str(config)], site, tmp_path)
    assert done.returncode == 2
    assert (
        "monitors[0].stream: unknown source type (the value given) (known: files, sql, text-lines)"
        in done.stderr
    )
    # without the package installed, its types are unknown: a config error, not a traceback
    done = run(["-c", CHECK, str(workspace(tmp_path))], None, tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    known = "(known: embedding-head, sklearn, transformers)"
    assert f"unknown model type (the value given) {known}" in done.stderr
    assert "unknown source type (the value given) (known: files, sql)" in done.stderr


@pytest.mark.slow  # three CLI runs in subprocesses with the plugins installed (about 14 s)
def test_once_runs_a_monitor_made_of_plugins(site: Path, tmp_path: Path) -> None:
    config = workspace(tmp_path)
    done = run(["-c", CLI, "once", "--config", str(config)], site, tmp_path)
    assert done.returncode == 0, done.stderr
    # 12 lines: both windows of 6 in one call, then nothing new (found by the plugin source)
    assert "lines: 2 window(s) recorded" in done.stdout.splitlines()
    done = run(["-c", CLI, "once", "--config", str(config)], site, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "lines: nothing new (fewer than 6 new rows)" in done.stdout
    done = run(["-c", CLI, "runs", "--config", str(config), "--json"], site, tmp_path)
    runs = json.loads(done.stdout)
    assert [(r["rows"], r["model_version"][:8]) for r in runs] == [(6, "keyword-")] * 2
    assert [r["metrics"]["accuracy"] for r in runs] == [1.0, 1.0]
    (event,) = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert (event["monitor"], event["rule"], event["state"]) == ("lines", "confident", "firing")


def test_a_plugin_config_offers_its_own_pre_flight_check(
    site: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(site))
    from driftwarden_example.specs import TextLinesConfig

    from monitor.plugins import ColumnNeeds, Finding, SourceConfig

    absent = TextLinesConfig(type="text-lines", path=tmp_path / "absent.txt")
    assert absent.check(ColumnNeeds()) == [
        Finding("path", f"{tmp_path / 'absent.txt'} does not exist yet", warning=True)
    ]
    (tmp_path / "absent.txt").write_text("now it does\n")
    assert absent.check(ColumnNeeds()) == []
    # a type that offers none finds nothing
    assert SourceConfig(type="any").check(ColumnNeeds()) == []
