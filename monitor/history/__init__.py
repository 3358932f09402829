"""A store's history from Python, and backtests of alert rules on it.

    import monitor.history
    with monitor.history.open("driftwarden.yaml") as history:
        runs = history.runs("reviews")                  # pandas DataFrames
        result = history.backtest("rules.yaml", since=timedelta(days=30))

`backtest` returns the `BacktestResult` that `driftwarden backtest` prints.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from monitor.config import Config
from monitor.history.frames import History, RulesLike, open_history
from monitor.history.results import (
    BacktestResult,
    Detection,
    DriftLevel,
    Episode,
    QualityDrop,
    RuleBacktest,
)
from monitor.history.rules_file import load_rules, rules_from_text

# the notebook spelling, `monitor.history.open(...)` (it shadows the builtin here only)
open = open_history


def backtest(
    db_or_config: str | Path | Config,
    rules: RulesLike = None,
    *,
    monitor: str | None = None,
    since: timedelta | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    floor: float | None = None,
    alpha: float | None = None,
    include_config_rules: bool = True,
) -> BacktestResult:
    """Open the store, backtest (see `History.backtest`), close it."""
    with open_history(db_or_config) as history:
        return history.backtest(
            rules,
            monitor=monitor,
            since=since,
            start=start,
            end=end,
            floor=floor,
            alpha=alpha,
            include_config_rules=include_config_rules,
        )


__all__ = [
    "BacktestResult",
    "Detection",
    "DriftLevel",
    "Episode",
    "History",
    "QualityDrop",
    "RuleBacktest",
    "backtest",
    "load_rules",
    "open",
    "open_history",
    "rules_from_text",
]
