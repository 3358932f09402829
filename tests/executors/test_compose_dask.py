"""The compose file's `dask` profile: a scheduler and two workers beside the daemon, on the
daemon's own image, validated offline by Debian's docker-compose (no engine runs here)."""

from __future__ import annotations

import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
DASK_SERVICES = {"dask-scheduler", "dask-worker-1", "dask-worker-2"}


def _rendered(*profile: str) -> dict[str, Any]:
    """The file as docker-compose resolves it (anchors, defaults), with the profile on."""
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose is not installed (Debian: apt-get install docker-compose)")
    result = subprocess.run(
        [compose, "-f", str(COMPOSE_FILE), *profile, "config"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def test_the_dask_profile_adds_a_scheduler_and_two_workers_on_the_daemons_image() -> None:
    services = _rendered("--profile", "dask")["services"]
    assert set(services) >= DASK_SERVICES
    image = services["driftwarden"]["image"]
    for name in DASK_SERVICES:
        assert services[name]["profiles"] == ["dask"]  # `docker compose up` alone skips them
        assert services[name]["image"] == image  # tasks unpickle the daemon's own code
        assert "healthcheck" in services[name]
    scheduler = services["dask-scheduler"]["command"]
    assert scheduler[:2] == ["dask", "scheduler"] and "8786" in scheduler
    for worker in ("dask-worker-1", "dask-worker-2"):
        command = services[worker]["command"]
        assert command[:3] == ["dask", "worker", "tcp://dask-scheduler:8786"]
        assert services[worker]["depends_on"]["dask-scheduler"]["condition"] == "service_healthy"


def test_the_base_services_do_not_depend_on_the_profile() -> None:
    services = _rendered()["services"]
    for name in set(services) - DASK_SERVICES:
        assert "profiles" not in services[name], name
        assert not DASK_SERVICES & set(services[name].get("depends_on", {})), name


def test_the_image_carries_the_dask_extra() -> None:
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "pip install '.[dask]'" in dockerfile
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    assert any(requirement.startswith("dask[distributed]") for requirement in extras["dask"])
