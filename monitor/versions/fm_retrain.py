"""Fine-tuning an embedding-head monitor's encoder with its head (the `retrain-fm` hook):
train a candidate version in a child process on the reference plus the labelled rows of
recent windows, and register it in shadow (`monitor.versions.shadow` decides it later).

The child (`monitor.models.fine_tune`) writes into a hidden staging folder beside the
versions; the folder is renamed to `<versions>/<version>` only after the child exited 0
and before it is registered, so a deadline, a crash or a kill leaves no version behind and
the live version as it was. Every refusal is a rejected decision with its reason.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from monitor.clock import Clock
from monitor.errors import ModelError
from monitor.models.embedding_head import Head, holds_encoder
from monitor.models.fine_tune import SUMMARY_FILE, FineTuneJob, write_job
from monitor.store import Store
from monitor.store.model_versions import labelled_rows, newest_run_id, record_decision
from monitor.versions.catalog import head_config, live_head_folder, register_version
from monitor.versions.folders import versions_folder
from monitor.versions.options import FmRetrainOptions
from monitor.versions.view import MonitorView

log = logging.getLogger("driftwarden.hooks.retrain")
SOURCE = "retrain-fm"
#: the metrics key of a candidate's shadow state: pending, promoted or rejected
SHADOW = "shadow"
#: the hidden folders a fine-tune writes into before it is renamed to its version
STAGING_PREFIX = ".fm-"


@dataclass(frozen=True)
class FmTraining:
    """How a fine-tune went: a candidate in shadow, or a rejection with its reason."""

    in_shadow: bool
    reason: str
    current_version: str | None
    candidate_version: str | None = None
    train_rows: int = 0
    seconds: float = 0.0


def train_candidate(
    store: Store,
    monitor: MonitorView,
    options: FmRetrainOptions,
    clock: Clock,
    *,
    delivery_id: str | None = None,
    cancelled: threading.Event | None = None,
    on_started: Callable[[int], None] | None = None,
) -> FmTraining:
    """Fine-tune a candidate and register it in shadow, or record why not.

    `on_started(pid)` is told the child's process id (tests kill it). Once `cancelled` is
    set (the attempt's deadline passed) nothing is kept or recorded.
    """
    config = head_config(monitor.config)
    live_folder = live_head_folder(store, monitor.config)
    current = Head.load(live_folder)
    with store.reading() as session:
        recent = labelled_rows(session, monitor.name, options.windows)
        after_run = newest_run_id(session, monitor.name)
    recent = [r for r in recent if r.target in current.labels]
    texts, labels = monitor.labelled_reference()
    texts += [r.text for r in recent]
    labels += [r.target for r in recent]
    reason = _refusal(recent_labels=[r.target for r in recent], labels=labels, options=options)
    if reason is None:
        started = time.monotonic()
        base = live_folder if holds_encoder(live_folder) else Path(config.encoder)
        outcome = _run_child(
            base, texts, labels, options, config.device, config.head, cancelled, on_started
        )
        seconds = time.monotonic() - started
        if cancelled is not None and cancelled.is_set():
            if isinstance(outcome, Path):
                shutil.rmtree(outcome, ignore_errors=True)
            raise ModelError("the fine-tune ran past the hook's timeout; nothing was recorded")
        if isinstance(outcome, Path):
            rows = len(recent)
            return _register(store, monitor, current, outcome, after_run, rows, seconds, clock)
        reason = outcome
    training = FmTraining(False, reason, current.version, train_rows=len(recent))
    _reject(store, monitor.name, training, options, clock, delivery_id)
    return training


def _refusal(recent_labels: list[str], labels: list[str], options: FmRetrainOptions) -> str | None:
    """Why these rows cannot make a candidate worth trying (None: they can)."""
    if len(recent_labels) < options.min_labels:
        return (
            f"{len(recent_labels)} labelled rows in the newest {options.windows} windows; "
            f"need {options.min_labels}"
        )
    if len(set(recent_labels)) < 2:
        # the candidate would learn nothing about where the new data's classes part
        return f"the recent labelled rows hold one class only ({recent_labels[0]})"
    if len(set(labels)) < 2:
        return f"the training rows hold one class only ({labels[0]})"
    return None


def _run_child(
    encoder: Path,
    texts: list[str],
    labels: list[str],
    options: FmRetrainOptions,
    model_device: str,
    head: Path,
    cancelled: threading.Event | None,
    on_started: Callable[[int], None] | None,
) -> Path | str:
    """The finished version folder (renamed into place), or why there is none."""
    from monitor.models.encoder import resolve_encoder_path

    folder = versions_folder(head)
    folder.mkdir(parents=True, exist_ok=True)
    deadline = options.deadline.total_seconds()
    _remove_stale_staging(folder, older_than=2 * deadline)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
    work = Path(tempfile.mkdtemp(prefix="driftwarden-fm-"))
    try:
        job = FineTuneJob(
            encoder=str(resolve_encoder_path(str(encoder))),
            out=str(staging),
            texts=texts,
            labels=labels,
            steps=options.steps,
            batch_size=options.batch_size,
            learning_rate=options.learning_rate,
            max_length=options.max_length,
            device=options.device or model_device,
            threads=options.threads,
            deadline=time.time() + deadline,
        )
        write_job(job, work / "job.json")
        with (work / "log.txt").open("wb") as log_file:
            child = subprocess.Popen(
                [sys.executable, "-m", "monitor.models.fine_tune", str(work / "job.json")],
                stdout=subprocess.DEVNULL,
                stderr=log_file,
                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
            )
            if on_started is not None:
                on_started(child.pid)
            stopped = _wait(child, time.monotonic() + deadline, cancelled)
        if stopped is not None:
            return stopped
        if child.returncode != 0:
            return _failure(child.returncode, (work / "log.txt").read_text(errors="replace"))
        version = json.loads((staging / SUMMARY_FILE).read_text())["version"]
        target = folder / version
        if target.exists():  # the same weights and head: the version is there already
            return f"the candidate {version} exists already"
        staging.rename(target)
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when renamed
        shutil.rmtree(work, ignore_errors=True)


def _remove_stale_staging(folder: Path, older_than: float) -> None:
    """Remove staging folders a killed daemon left behind (its training process stopped at
    its own deadline): they never held a version, and only take room."""
    cutoff = time.time() - older_than
    for stale in folder.glob(f"{STAGING_PREFIX}*"):
        try:
            if stale.stat().st_mtime < cutoff:
                shutil.rmtree(stale, ignore_errors=True)
        except OSError:
            continue


def _wait(
    child: subprocess.Popen[bytes], deadline: float, cancelled: threading.Event | None
) -> str | None:
    """Wait for the child; kill it at the deadline or when cancelled (and say why)."""
    while child.poll() is None:
        if time.monotonic() >= deadline or (cancelled is not None and cancelled.is_set()):
            child.kill()
            child.wait()
            return "the fine-tune reached its deadline and was stopped"
        time.sleep(0.2)
    return None


def _failure(returncode: int, stderr: str) -> str:
    if returncode < 0:
        return f"the fine-tune process was killed (signal {-returncode})"
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "no message"
    return f"the fine-tune process failed (exit {returncode}): {last[:300]}"


def _register(
    store: Store,
    monitor: MonitorView,
    current: Head,
    folder: Path,
    after_run: int,
    train_rows: int,
    seconds: float,
    clock: Clock,
) -> FmTraining:
    summary = json.loads((folder / SUMMARY_FILE).read_text())
    version = str(summary.pop("version"))
    metrics = {
        SHADOW: "pending",
        "shadow_after_run": after_run,
        "shadow_against": current.version,
        "train_rows": train_rows,
        "retrain_seconds": seconds,
        **summary,
    }
    with store.transaction() as session:
        register_version(
            session, monitor.config, current.version, version, folder, SOURCE, clock.now(), metrics
        )
    reason = f"candidate {version} in shadow beside {current.version}"
    log.info("monitor %s: retrain-fm: %s (%.0fs)", monitor.name, reason, seconds)
    return FmTraining(True, reason, current.version, version, train_rows, seconds)


def _reject(
    store: Store,
    monitor: str,
    training: FmTraining,
    options: FmRetrainOptions,
    clock: Clock,
    delivery_id: str | None,
) -> None:
    with store.transaction() as session:
        record_decision(
            session,
            monitor,
            clock.now(),
            delivery_id=delivery_id,
            current_version=training.current_version,
            candidate_version=None,
            margin=options.margin,
            windows=options.windows,
            train_rows=training.train_rows,
            holdout_rows=0,
            promoted=False,
            reason=f"{SOURCE}: {training.reason}",
        )
    log.warning("monitor %s: retrain-fm rejected: %s", monitor, training.reason)
