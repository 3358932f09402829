"""`History`: a store's record as pandas DataFrames, and the backtest, for notebooks.

Times are timezone-aware UTC; every frame has a `monitor` column and one row per stored
item, oldest first. Nothing here writes to the store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from difflib import get_close_matches
from pathlib import Path
from types import TracebackType
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.config import AlertRule, Config, MonitorConfig, load_config
from monitor.errors import UsageError
from monitor.history.backtest import run_backtest
from monitor.history.reads import AnySelect
from monitor.history.results import BacktestResult
from monitor.history.rules_file import load_rules, parse_rules, rules_from_text
from monitor.store import Store, open_store
from monitor.store.schema import (
    MetricValueRow,
    MonitorRow,
    QualityVersionRow,
    QuarantinedLabelRow,
    QuarantinedRow,
    RunRow,
)
from monitor.store.schema_operations import AlertEventRow

RulesLike = Sequence[AlertRule | dict[str, Any]] | str | Path | None


def _frame(session: Session, query: AnySelect, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame([tuple(row) for row in session.execute(query)], columns=columns)


def _unknown_monitor(name: str, known: Sequence[str]) -> UsageError:
    close = get_close_matches(name, known, n=1, cutoff=0.7)
    hint = f" (did you mean {close[0]}?)" if close else ""
    listed = ", ".join(sorted(known)) or "none yet"
    return UsageError(f"no monitor named {name!r}{hint}; known: {listed}")


class History:
    """One store's history, read-only; `open()` makes one. Close it (or use `with`)."""

    def __init__(self, store: Store, config: Config | None = None) -> None:
        self.store = store
        self.config = config

    def __enter__(self) -> History:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.store.close()

    # ------------------------------------------------------------------ monitors

    def monitors(self) -> list[str]:
        """The monitors the store has recorded, by name."""
        with self.store.reading() as session:
            return sorted(session.scalars(select(MonitorRow.name)))

    def pick_monitor(self, name: str | None) -> tuple[str, MonitorConfig | None]:
        """`name` (it must be stored), or the only monitor; with its config, if given."""
        stored = self.monitors()
        configured = [m.name for m in self.config.monitors] if self.config else []
        if not stored:
            raise UsageError("the store holds no windows yet: nothing to backtest or read")
        if name is None:
            only = configured if len(configured) == 1 else stored
            if len(only) != 1:
                listed = ", ".join(stored) or "none yet"
                raise UsageError(f"give --monitor NAME (stored monitors: {listed})")
            name = only[0]
        if name in configured and name not in stored:
            raise UsageError(f"monitor {name!r} has no windows in the store yet")
        if name not in stored:
            raise _unknown_monitor(name, sorted(set(stored) | set(configured)))
        found = self.config.monitor(name) if name in configured and self.config else None
        return name, found

    def _where_monitor(self, query: AnySelect, monitor: str | None) -> AnySelect:
        if monitor is None:
            return query
        if monitor not in self.monitors():
            raise _unknown_monitor(monitor, self.monitors())
        return query.where(MonitorRow.name == monitor)

    # ------------------------------------------------------------------ frames

    def runs(self, monitor: str | None = None) -> pd.DataFrame:
        """One row per run: window, status, rows, quarantined rows, model version, error."""
        columns = ["run_id", "monitor", "window_start", "window_end", "status", "rows"]
        columns += ["quarantined", "model_version", "error"]
        query = select(
            RunRow.id,
            MonitorRow.name,
            RunRow.window_start,
            RunRow.window_end,
            RunRow.status,
            RunRow.rows,
            RunRow.quarantined,
            RunRow.model_version,
            RunRow.error,
        ).join(MonitorRow, MonitorRow.id == RunRow.monitor_id)
        query = self._where_monitor(query, monitor).order_by(RunRow.id)
        with self.store.reading() as session:
            return _frame(session, query, columns)

    def metric_values(self, monitor: str | None = None, *, wide: bool = False) -> pd.DataFrame:
        """Every stored metric value, long (run, name, feature, value, test columns), or with
        `wide=True` the run-level metrics as one column each, one row per run that recorded
        any (a failed run records none)."""
        columns = ["run_id", "monitor", "window_end", "name", "feature", "value"]
        columns += ["method", "threshold", "drifted", "p_value"]
        query = (
            select(
                MetricValueRow.run_id,
                MonitorRow.name,
                RunRow.window_end,
                MetricValueRow.name,
                MetricValueRow.feature,
                MetricValueRow.value,
                MetricValueRow.method,
                MetricValueRow.threshold,
                MetricValueRow.drifted,
                MetricValueRow.p_value,
            )
            .join(RunRow, RunRow.id == MetricValueRow.run_id)
            .join(MonitorRow, MonitorRow.id == RunRow.monitor_id)
        )
        query = self._where_monitor(query, monitor).order_by(RunRow.id, MetricValueRow.id)
        with self.store.reading() as session:
            long = _frame(session, query, columns)
        if not wide:
            return long
        run_level = long[long["feature"] == ""]
        table = run_level.pivot(
            index=["run_id", "monitor", "window_end"], columns="name", values="value"
        )
        table.columns.name = None
        return table.reset_index()

    def alert_events(self, monitor: str | None = None) -> pd.DataFrame:
        """Every alert transition the daemon recorded (firing, resolved) with its payload."""
        columns = ["event_id", "monitor", "rule", "state", "episode", "run_id", "created_at"]
        columns += ["payload"]
        query = select(
            AlertEventRow.id,
            MonitorRow.name,
            AlertEventRow.rule,
            AlertEventRow.state,
            AlertEventRow.episode,
            AlertEventRow.run_id,
            AlertEventRow.created_at,
            AlertEventRow.payload,
        ).join(MonitorRow, MonitorRow.id == AlertEventRow.monitor_id)
        query = self._where_monitor(query, monitor).order_by(AlertEventRow.id)
        with self.store.reading() as session:
            return _frame(session, query, columns)

    def alert_episodes(self, monitor: str | None = None) -> pd.DataFrame:
        """The episodes the daemon recorded, one row each: the run and window it fired on,
        its value, and the run and window end it resolved on (NaN/NaT while firing)."""
        columns = ["monitor", "rule", "episode", "run_id", "window_end", "value"]
        columns += ["resolved_run_id", "resolved_at"]
        episodes: dict[tuple[str, str, int], dict[str, Any]] = {}
        for event in self.alert_events(monitor).itertuples(index=False):
            key = (event.monitor, event.rule, event.episode)
            payload = event.payload or {}
            if event.state == "firing":
                episodes[key] = {
                    "monitor": event.monitor,
                    "rule": event.rule,
                    "episode": event.episode,
                    "run_id": event.run_id,
                    "window_end": pd.Timestamp(payload.get("fired_at") or payload["window_end"]),
                    "value": payload.get("value"),
                    "resolved_run_id": None,
                    "resolved_at": None,
                }
            elif key in episodes:
                episodes[key]["resolved_run_id"] = event.run_id
                episodes[key]["resolved_at"] = pd.Timestamp(payload["window_end"])
        frame = pd.DataFrame(list(episodes.values()), columns=columns)
        frame["resolved_at"] = pd.to_datetime(frame["resolved_at"], utc=True)
        frame["window_end"] = pd.to_datetime(frame["window_end"], utc=True)
        return frame

    def quality_versions(self, monitor: str | None = None) -> pd.DataFrame:
        """Every version of every window's quality (late labels), with its metrics spread
        into columns."""
        columns = ["run_id", "monitor", "window_end", "version", "latest", "final"]
        columns += ["final_reason", "rows", "labelled_rows", "coverage", "new_labels"]
        columns += ["label_lag_seconds", "created_at", "metrics"]
        query: AnySelect = (
            select(
                QualityVersionRow.run_id,
                MonitorRow.name,
                RunRow.window_end,
                QualityVersionRow.version,
                QualityVersionRow.latest,
                QualityVersionRow.final,
                QualityVersionRow.final_reason,
                QualityVersionRow.rows,
                QualityVersionRow.labelled_rows,
                QualityVersionRow.coverage,
                QualityVersionRow.new_labels,
                QualityVersionRow.label_lag_seconds,
                QualityVersionRow.created_at,
                QualityVersionRow.metrics,
            )
            .join(RunRow, RunRow.id == QualityVersionRow.run_id)
            .join(MonitorRow, MonitorRow.id == QualityVersionRow.monitor_id)
        )
        query = self._where_monitor(query, monitor)
        query = query.order_by(QualityVersionRow.run_id, QualityVersionRow.version)
        with self.store.reading() as session:
            frame = _frame(session, query, columns)
        spread = pd.DataFrame(list(frame.pop("metrics")), index=frame.index)
        return pd.concat([frame, spread], axis=1)

    def quarantine(self, monitor: str | None = None, *, labels: bool = False) -> pd.DataFrame:
        """Quarantined stream rows and files (`labels=True`: the quarantined labels)."""
        query: AnySelect
        if labels:
            label = QuarantinedLabelRow
            columns = ["id", "monitor", "row_id", "label", "kind", "reason", "released"]
            columns += ["observed_at", "created_at", "raw"]
            query = select(
                label.id,
                MonitorRow.name,
                label.row_id,
                label.label,
                label.kind,
                label.reason,
                label.released,
                label.observed_at,
                label.created_at,
                label.raw,
            ).join(MonitorRow, MonitorRow.id == label.monitor_id)
            order = label.id
        else:
            row = QuarantinedRow
            columns = ["id", "monitor", "run_id", "row_id", "kind", "reason", "created_at", "raw"]
            query = select(
                row.id,
                MonitorRow.name,
                row.run_id,
                row.row_id,
                row.kind,
                row.reason,
                row.created_at,
                row.raw,
            ).join(MonitorRow, MonitorRow.id == row.monitor_id)
            order = row.id
        query = self._where_monitor(query, monitor).order_by(order)
        with self.store.reading() as session:
            return _frame(session, query, columns)

    # ------------------------------------------------------------------ backtest

    def backtest(
        self,
        rules: RulesLike = None,
        *,
        monitor: str | None = None,
        since: timedelta | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        floor: float | None = None,
        alpha: float | None = None,
        include_config_rules: bool = True,
        now: datetime | None = None,
    ) -> BacktestResult:
        """Backtest `rules` (a list of rules or rule mappings, YAML text, or a YAML file)
        and, unless `include_config_rules` is False, the config's own rules, on `monitor`'s
        windows: those of the last `since` before `now` (default: the clock), or ending in
        `(start, end]`, or all of them."""
        if since is not None:
            if start is not None or end is not None:
                raise UsageError("give since, or start and end, not both")
            start = (now or datetime.now(UTC)) - since
        if start is not None and end is not None and start >= end:
            raise UsageError("the start of the range must be before its end")
        name, config = self.pick_monitor(monitor)
        candidates = _candidate_rules(rules)
        with self.store.reading() as session:
            return run_backtest(
                session,
                name,
                candidates,
                config=config,
                include_config_rules=include_config_rules,
                start=start,
                end=end,
                floor=floor,
                alpha=alpha,
            )


def _candidate_rules(rules: RulesLike) -> list[AlertRule]:
    if rules is None:
        return []
    if isinstance(rules, Path):
        return load_rules(rules)
    if isinstance(rules, str):
        return rules_from_text(rules)
    if not rules:
        return []
    if all(isinstance(rule, AlertRule) for rule in rules):
        return [rule for rule in rules if isinstance(rule, AlertRule)]
    raw = [r.model_dump(by_alias=True) if isinstance(r, AlertRule) else r for r in rules]
    return parse_rules(raw, "rules")


def open_history(db_or_config: str | Path | Config) -> History:
    """The history of a store: a SQLAlchemy URL, a config file (its `storage`, and its
    monitors' rules and labels), or a parsed `Config`."""
    if isinstance(db_or_config, Config):
        return History(open_store(db_or_config.storage), db_or_config)
    if isinstance(db_or_config, Path) or "://" not in str(db_or_config):
        config = load_config(Path(db_or_config))
        return History(open_store(config.storage), config)
    return History(open_store(str(db_or_config)))
