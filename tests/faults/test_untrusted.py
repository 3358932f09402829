"""Code run from a file someone sent you (issue 22): `check-config` imported the module a
python hook's target names, and a config error echoed the value of a field."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from monitor.config import Config
from monitor.config.loading import problems_of
from monitor.hooks.specs import PythonHook
from monitor.plugins.spec import ColumnNeeds, module_missing


@pytest.fixture
def booby_trapped(tmp_path: Path, monkeypatch):
    """A package whose import writes a marker file."""
    package = tmp_path / "trap_pkg"
    (package / "inner").mkdir(parents=True)
    marker = tmp_path / "imported"
    code = f"open({str(marker)!r}, 'w').write('ran')\n"
    (package / "__init__.py").write_text(code)
    (package / "inner" / "__init__.py").write_text(code)
    (package / "inner" / "hook.py").write_text(code)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield marker
    for name in [n for n in sys.modules if n.startswith("trap_pkg")]:
        del sys.modules[name]


def test_check_config_finds_a_python_hook_target_without_running_its_package(booby_trapped):
    hook = PythonHook(type="python", target="trap_pkg.inner.hook:notify")
    assert hook.check(ColumnNeeds()) == []
    assert module_missing("trap_pkg.inner.hook") is False
    assert not booby_trapped.exists()  # neither the package nor the module ran


def test_a_missing_python_hook_module_is_a_warning_still(booby_trapped):
    hook = PythonHook(type="python", target="trap_pkg.inner.nothere:notify")
    (finding,) = hook.check(ColumnNeeds())
    assert finding.warning and "cannot be found" in finding.message
    assert module_missing("trap_pkg.nope.deeper") is True
    assert not booby_trapped.exists()


SECRET = "sk-live-0123456789abcdef"


@pytest.mark.parametrize(
    "place",
    [
        lambda m: m["model"].update(type=SECRET),
        lambda m: m["stream"].update(type=SECRET),
        lambda m: m.update(name=SECRET),
        lambda m: m["window"].update(duration=SECRET),
    ],
)
def test_a_secret_typed_into_the_wrong_field_is_not_echoed(place) -> None:
    monitor = {
        "name": "m",
        "model": {"type": "sklearn", "path": "model.joblib"},
        "reference": {"path": "ref.csv"},
        "stream": {"type": "files", "path": "s/*.csv"},
        "columns": {"text": "text"},
        "window": {"rows": 100},
    }
    place(monitor)
    try:
        Config.model_validate({"monitors": [monitor]}, context={"base_dir": Path("/tmp")})
    except Exception as exc:
        lines = problems_of(exc)  # type: ignore[arg-type]
    else:
        pytest.fail("the config was accepted")
    assert lines
    assert all(SECRET not in line for line in lines), lines
