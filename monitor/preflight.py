"""What `check-config` checks beyond the schema, without loading a model or a table.

The store's folder exists, the schedule is one APScheduler accepts, the reference file has
the configured columns (its header only), and each plugin (stream, labels, model, hook)
runs its own `check` (files and folders exist, a head folder holds a head, stream and label
files have the columns). Nothing here imports torch, transformers, Evidently or pandas, so
it answers in about a second on any config.
"""

from __future__ import annotations

from pathlib import Path

from monitor.config import Config, MonitorConfig
from monitor.plugins.spec import ColumnNeeds, Finding
from monitor.sources.headers import missing_columns, table_columns


def check_config(config: Config) -> list[Finding]:
    """Every finding for the config's storage, hooks and monitors, in config order."""
    findings = _storage(config.storage)
    for name, hook in config.hooks.items():
        findings += [f.at(f"hooks.{name}") for f in hook.check(ColumnNeeds())]
    for i, monitor in enumerate(config.monitors):
        findings += check_monitor(f"monitors[{i}]", monitor)
    return findings


def column_needs(monitor: MonitorConfig) -> ColumnNeeds:
    """The columns the monitor's data must have (its input) and may have (target, id)."""
    columns = monitor.columns
    required = [columns.text] if columns.text else list(columns.features or [])
    # with a labels source, labels come late from it: the stream need not carry them
    target = columns.target if monitor.labels is None else None
    optional = [c for c in (target, columns.id) if c is not None]
    return ColumnNeeds(tuple(required), tuple(optional))


def check_monitor(at: str, monitor: MonitorConfig) -> list[Finding]:
    needs = column_needs(monitor)
    findings = [f.at(f"{at}.model") for f in monitor.model.check(needs)]
    findings += _schedule(f"{at}.schedule", monitor)
    findings += _reference(f"{at}.reference.path", monitor, needs)
    findings += [f.at(f"{at}.stream") for f in monitor.stream.check(needs)]
    labels = monitor.labels
    if labels is not None:
        assert labels.id_column is not None and labels.label_column is not None
        label_needs = ColumnNeeds((labels.id_column, labels.label_column))
        findings += [f.at(f"{at}.labels") for f in labels.check(label_needs)]
    if "drifted_share" in monitor.drift.model_fields_set:
        findings.append(
            Finding(
                f"{at}.drift.drifted_share",
                "no longer used: dataset_drift is the drift family's verdict at drift.alpha "
                "(see the README's drift flag); remove the key",
                warning=True,
            )
        )
    return findings


def _storage(url: str) -> list[Finding]:
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.removeprefix(prefix) in ("", ":memory:"):
        return []
    folder = Path(url.removeprefix(prefix)).parent
    if not folder.is_dir():
        return [Finding("storage", f"folder {folder} does not exist (the SQLite file goes there)")]
    return []


def _schedule(at: str, monitor: MonitorConfig) -> list[Finding]:
    """A crontab and a time zone APScheduler accepts (the schema checks only the 5 fields)."""
    from monitor.errors import ConfigError
    from monitor.scheduler.triggers import build_trigger

    try:
        build_trigger(monitor.schedule)
    except ConfigError as exc:
        key, _, message = str(exc).partition(": ")  # "schedule.cron: ..." from the trigger
        return [Finding(f"{at}.{key.removeprefix('schedule.')}", message)]
    return []


def _reference(key: str, monitor: MonitorConfig, needs: ColumnNeeds) -> list[Finding]:
    path = monitor.reference.path
    if not path.is_file():
        return [Finding(key, f"{path} does not exist")]
    columns, problem = table_columns(path)
    if problem is not None:
        return [Finding(key, problem)]
    if not columns:
        return [Finding(key, f"{path} is empty")]
    findings = missing_columns(key, path, columns, needs.required, warning=False)
    target = monitor.columns.target
    if target is not None and target not in columns:
        message = f"{path} has no column {target!r}: no quality metrics in reports"
        findings.append(Finding(key, message, warning=True))
    return findings
