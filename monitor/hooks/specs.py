"""The built-in hook types' config models and plugin specs (light: nothing delivers from here)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr

from monitor.plugins.fields import Duration
from monitor.plugins.spec import (
    ColumnNeeds,
    Finding,
    HookConfig,
    ModelConfig,
    PluginSpec,
    module_missing,
)


class WebhookHook(HookConfig):
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret: SecretStr | None = None  # masked in any repr or log of the config
    headers: dict[str, str] = Field(default_factory=dict)


_ENV_NAME = r"^[A-Za-z_][A-Za-z0-9_]*$"
EnvName = Annotated[str, Field(pattern=_ENV_NAME)]


class CommandHook(HookConfig):
    """A program run without a shell, in a minimal environment (`monitor.hooks.command`)
    plus `pass_env` (names taken from the daemon's environment) and `env` (set here)."""

    type: Literal["command"]
    argv: list[str] = Field(min_length=1)
    retries: int = Field(0, ge=0, le=100)
    timeout: Duration = timedelta(seconds=30)
    env: dict[EnvName, SecretStr] = Field(default_factory=dict)
    pass_env: list[EnvName] = Field(default_factory=list)

    def check(self, needs: ColumnNeeds) -> list[Finding]:
        program = self.argv[0]
        if shutil.which(program) is None and not Path(program).is_file():
            # a warning: the daemon may run elsewhere, with another PATH or working folder
            return [Finding("argv", f"{program} is not a file or a program on PATH", True)]
        return []


class PythonHook(HookConfig):
    type: Literal["python"]
    target: str = Field(pattern=r"^[\w.]+:[\w.]+$", description="module:function")
    retries: int = Field(0, ge=0, le=100)

    def check(self, needs: ColumnNeeds) -> list[Finding]:
        module = self.target.split(":", 1)[0]
        if module_missing(module):
            return [Finding("target", f"module {module!r} cannot be found", True)]
        return []


class RetrainHeadHook(HookConfig):
    type: Literal["retrain-head"]
    windows: int = Field(5, ge=1, description="labelled windows (the newest K) to refit on")
    holdout: float = Field(0.3, gt=0, lt=1, description="share of recent rows held out")
    margin: float = Field(0.01, ge=0, le=1, description="accuracy gain needed to promote")
    retries: int = Field(0, ge=0, le=100)
    timeout: Duration = timedelta(minutes=10)

    def misfit(self, model: ModelConfig) -> str | None:
        if model.type == "embedding-head":
            return None
        return f"refits embedding-head models; this monitor's model is {model.type}"


WEBHOOK = PluginSpec("webhook", WebhookHook, "monitor.hooks.webhook:Webhook")
COMMAND = PluginSpec("command", CommandHook, "monitor.hooks.command:Command")
PYTHON = PluginSpec("python", PythonHook, "monitor.hooks.python:PythonCall")
RETRAIN_HEAD = PluginSpec("retrain-head", RetrainHeadHook, "monitor.hooks.retrain_head:RetrainHead")
