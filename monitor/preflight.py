"""What `check-config` checks beyond the schema, without loading a model or a table.

Files and folders exist, a head folder holds a head, a model folder holds a model, and the
reference and stream files have the configured columns (headers only). It reads no more
than a file's first line or schema, and imports neither torch, transformers, Evidently nor
pandas, so it answers in about a second on any config.
"""

from __future__ import annotations

import csv
import glob
import importlib.util
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from monitor.config import Config, HookConfig, MonitorConfig

ERROR = "error"
WARNING = "warning"

# The suffixes `monitor.sources.files` reads; repeated here because that module imports
# pandas, which alone would cost this check half its time budget.
FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl"}
FORMATS[".ndjson"] = "jsonl"
HEAD_FILES = ("head.json", "head.joblib")  # what `model fit-head` writes
STREAM_FILES_CHECKED = 50  # the newest ones: a long-running stream may hold thousands


@dataclass(frozen=True)
class Finding:
    """One problem (`error`: the config cannot run) or oddity (`warning`), at a config key."""

    key: str
    message: str
    severity: str = ERROR

    def line(self) -> str:
        prefix = "warning: " if self.severity == WARNING else ""
        return f"{prefix}{self.key}: {self.message}"


def check_config(config: Config) -> list[Finding]:
    """Every finding for the config's storage, hooks and monitors, in config order."""
    findings = _storage(config.storage)
    for name, hook in config.hooks.items():
        findings += _hook(f"hooks.{name}", hook)
    for i, monitor in enumerate(config.monitors):
        findings += check_monitor(f"monitors[{i}]", monitor)
    return findings


def check_monitor(at: str, monitor: MonitorConfig) -> list[Finding]:
    findings = _model(f"{at}.model", monitor)
    findings += _schedule(f"{at}.schedule", monitor)
    findings += _reference(at, monitor)
    findings += _stream(at, monitor)
    return findings


# ---------------------------------------------------------------- storage and hooks


def _storage(url: str) -> list[Finding]:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.removeprefix(prefix) in ("", ":memory:"):
        return []
    folder = Path(url.removeprefix(prefix)).parent
    if not folder.is_dir():
        return [Finding("storage", f"folder {folder} does not exist (the SQLite file goes there)")]
    return []


def _hook(at: str, hook: HookConfig) -> list[Finding]:
    if hook.type == "command":
        program = hook.argv[0]
        if shutil.which(program) is None and not Path(program).is_file():
            # a warning: the daemon may run elsewhere, with another PATH or working folder
            return [Finding(f"{at}.argv", f"{program} is not a file or a program on PATH", WARNING)]
    if hook.type == "python":
        module = hook.target.split(":", 1)[0]
        if _find_module(module) is None:
            return [Finding(f"{at}.target", f"module {module!r} cannot be found", WARNING)]
    return []


def _find_module(name: str) -> object | None:
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):  # a parent package that is missing or broken
        return None


# ---------------------------------------------------------------- schedule


def _schedule(at: str, monitor: MonitorConfig) -> list[Finding]:
    """A crontab and a time zone APScheduler accepts (the schema checks only the 5 fields)."""
    from zoneinfo import ZoneInfo

    schedule = monitor.schedule
    try:
        zone = ZoneInfo(schedule.timezone)
    except (KeyError, ValueError):
        return [Finding(f"{at}.timezone", f"unknown time zone {schedule.timezone!r}")]
    if schedule.cron is None:
        return []
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(schedule.cron, timezone=zone)
    except ValueError as exc:
        return [Finding(f"{at}.cron", f"{schedule.cron!r} is not valid: {exc}")]
    return []


# ---------------------------------------------------------------- models


def _model(at: str, monitor: MonitorConfig) -> list[Finding]:
    model = monitor.model
    if model.type == "transformers":
        return _model_folder(f"{at}.path", model.path)
    if model.type == "sklearn":
        if not model.path.is_file():
            return [Finding(f"{at}.path", f"{model.path} does not exist")]
        return []
    findings = _encoder(f"{at}.encoder", model.encoder)
    if not model.head.is_dir():
        findings.append(
            Finding(f"{at}.head", f"{model.head} does not exist (write one with model fit-head)")
        )
    else:
        missing = [name for name in HEAD_FILES if not (model.head / name).is_file()]
        if missing:
            findings.append(
                Finding(
                    f"{at}.head",
                    f"{model.head} holds no head ({', '.join(missing)} missing); "
                    "write one with model fit-head",
                )
            )
    return findings


def _encoder(at: str, encoder: str) -> list[Finding]:
    if encoder.startswith("package:"):
        module = encoder.removeprefix("package:")
        if _find_module(module) is None:
            return [
                Finding(
                    at,
                    f"package {module!r} is not installed (pip install {module.replace('_', '-')})",
                )
            ]
        return []
    return _model_folder(at, Path(encoder))


def _model_folder(at: str, folder: Path) -> list[Finding]:
    if not folder.is_dir():
        return [Finding(at, f"{folder} does not exist")]
    if not (folder / "config.json").is_file():
        return [Finding(at, f"{folder} has no config.json (not a transformers model folder)")]
    return []


# ---------------------------------------------------------------- data files


def input_columns(monitor: MonitorConfig) -> list[str]:
    """The columns every row needs: the text column, or the features."""
    return [monitor.columns.text] if monitor.columns.text else list(monitor.columns.features or [])


def _reference(at: str, monitor: MonitorConfig) -> list[Finding]:
    key, path = f"{at}.reference.path", monitor.reference.path
    if not path.is_file():
        return [Finding(key, f"{path} does not exist")]
    columns, problem = table_columns(path, None)
    if problem is not None:
        return [Finding(key, problem)]
    if not columns:
        return [Finding(key, f"{path} is empty")]
    findings = _missing(key, path, columns, input_columns(monitor), ERROR)
    target = monitor.columns.target
    if target is not None and target not in columns:
        findings.append(
            Finding(key, f"{path} has no column {target!r}: no quality metrics in reports", WARNING)
        )
    return findings


def _stream(at: str, monitor: MonitorConfig) -> list[Finding]:
    key, pattern = f"{at}.stream.path", monitor.stream.path
    paths = sorted(glob.glob(pattern))
    if not paths:
        return [Finding(key, f"no file matches {pattern} yet; nothing to score", WARNING)]
    needed = input_columns(monitor)
    if monitor.stream.timestamp_column:
        needed.append(monitor.stream.timestamp_column)
    optional = [c for c in (monitor.columns.target, monitor.columns.id) if c is not None]
    findings: list[Finding] = []
    for path in paths[-STREAM_FILES_CHECKED:]:
        columns, problem = table_columns(Path(path), monitor.stream.format)
        if problem is not None:
            findings.append(Finding(key, problem))
        elif columns:  # an empty file holds no rows, so it lacks nothing
            findings += _missing(key, Path(path), columns, needed, ERROR)
            findings += _missing(key, Path(path), columns, optional, WARNING)
    return findings


def _missing(
    key: str, path: Path, columns: list[str], wanted: list[str], severity: str
) -> list[Finding]:
    missing = [c for c in wanted if c not in columns]
    if not missing:
        return []
    shown = ", ".join(columns[:20]) + (", ..." if len(columns) > 20 else "")
    return [
        Finding(
            key,
            f"{path} has no column(s) {', '.join(map(repr, missing))} (columns: {shown})",
            severity,
        )
    ]


def table_columns(path: Path, declared: str | None) -> tuple[list[str], str | None]:
    """A data file's column names from its header (CSV), schema (Parquet) or first line."""
    fmt = declared or FORMATS.get(path.suffix.lower())
    if fmt is None:
        return (
            [],
            f"{path}: cannot tell the format from {path.suffix!r}; use .csv, .parquet, .jsonl",
        )
    try:
        if fmt == "csv":
            with path.open(newline="", encoding="utf-8-sig") as handle:
                return next(csv.reader(handle), []), None
        if fmt == "parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names), None
        with path.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    row = json.loads(line)
                    if not isinstance(row, dict):
                        return [], f"{path}: the first line is not a JSON object"
                    return list(row), None
        return [], None
    except (OSError, UnicodeDecodeError, ValueError, csv.Error) as exc:
        return [], f"cannot read {path} as {fmt}: {exc}"
