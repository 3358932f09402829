"""The built-in hook types' config models and plugin specs (light: nothing delivers from here)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, model_validator

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


class PromotingHook(HookConfig):
    """What a retrain needs before it promotes a candidate (`monitor.versions.evidence`):
    a gain of at least `margin`, and evidence that the gain is not chance."""

    margin: float = Field(0.01, ge=0, le=1, description="accuracy gain needed to promote")
    evidence: float = Field(
        0.2,
        gt=0,
        le=1,
        description="one-sided p-value the gain must reach on the paired rows to promote "
        "(McNemar's exact test; 1 promotes on the margin alone)",
    )


class RetrainHeadHook(PromotingHook):
    type: Literal["retrain-head"]
    windows: int = Field(5, ge=1, description="labelled windows (the newest K) to refit on")
    holdout: float = Field(0.3, gt=0, lt=1, description="share of recent rows held out")
    retries: int = Field(0, ge=0, le=100)
    timeout: Duration = timedelta(minutes=10)

    def misfit(self, model: ModelConfig) -> str | None:
        if model.type == "embedding-head":
            return None
        return f"refits embedding-head models; this monitor's model is {model.type}"


class RetrainFmHook(PromotingHook):
    """Fine-tune the encoder and head together (`monitor.versions.fm_retrain`); the candidate
    runs in shadow and is promoted only when it beats the live version on later labels.

    A delivery ends once its candidate is decided: while the candidate waits for labelled
    windows the attempt is retried, every `shadow_check` at most (within the dispatcher's
    backoff cap)."""

    type: Literal["retrain-fm"]
    windows: int = Field(5, ge=1, description="labelled windows (the newest K) to train on")
    min_labels: int = Field(40, ge=2, description="labelled recent rows needed to train")
    shadow_rows: int = Field(50, ge=1, description="labelled later rows needed to decide")
    # 40 steps of 16 rows: about one pass over a 500-row reference and 200 new rows; on two
    # busy CPU cores MiniLM took 730 s for them (docs/how-to/fine-tune.md)
    steps: int = Field(40, ge=1, le=100_000, description="optimiser steps (the step budget)")
    batch_size: int = Field(16, ge=1, le=1024, description="rows per optimiser step")
    learning_rate: float = Field(3e-5, gt=0, lt=1, description="AdamW learning rate")
    max_length: int = Field(128, ge=8, le=4096, description="tokens per text in training")
    device: str | None = Field(None, description="cpu, cuda or cuda:N; default: the model's")
    threads: int = Field(2, ge=1, le=256, description="torch threads of the training process")
    deadline: Duration = Field(
        timedelta(minutes=20), description="the training process is stopped after this long"
    )
    shadow_check: Duration = Field(
        timedelta(minutes=5), description="how often a candidate in shadow looks for labels"
    )
    retries: int = Field(100, ge=0, le=100)
    timeout: Duration = timedelta(minutes=30)

    @model_validator(mode="after")
    def _deadline_within_timeout(self) -> RetrainFmHook:
        if self.deadline >= self.timeout:
            raise ValueError(
                f"deadline ({self.deadline}) must be shorter than timeout ({self.timeout}): "
                "the attempt must outlive the training to record its decision"
            )
        return self

    def misfit(self, model: ModelConfig) -> str | None:
        if model.type == "embedding-head":
            return None
        return f"fine-tunes embedding-head models; this monitor's model is {model.type}"


WEBHOOK = PluginSpec("webhook", WebhookHook, "monitor.hooks.webhook:Webhook")
COMMAND = PluginSpec("command", CommandHook, "monitor.hooks.command:Command")
PYTHON = PluginSpec("python", PythonHook, "monitor.hooks.python:PythonCall")
RETRAIN_HEAD = PluginSpec("retrain-head", RetrainHeadHook, "monitor.hooks.retrain_head:RetrainHead")
RETRAIN_FM = PluginSpec("retrain-fm", RetrainFmHook, "monitor.hooks.retrain_fm:RetrainFm")
