"""The one home directory (`monitor.home`): the demo, replay's heads and ONNX exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from monitor.home import HOME_ENV, data_dir


def test_home_follows_driftwarden_home_then_xdg(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "home"))
    assert data_dir() == tmp_path / "home"
    monkeypatch.delenv(HOME_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_dir() == tmp_path / "xdg" / "driftwarden"


def test_home_defaults_to_the_user_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(HOME_ENV, raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert data_dir() == tmp_path / ".cache" / "driftwarden"
