"""`backtest`: what alert rules would have done on a monitor's stored windows."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor.cli.app import Command, ConfigOption, DbOption, JsonOption, MonitorOption, app, flag
from monitor.cli.stores import open_url, read_target
from monitor.cli.tables import table
from monitor.errors import DriftwardenError, UsageError
from monitor.plugins.fields import parse_duration

if TYPE_CHECKING:
    from monitor.history import BacktestResult, RuleBacktest

_SHOWN_EPISODES = 10  # per rule in the text output; --json lists them all


def _moment(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        example = "use e.g. 2026-11-01 or 2026-11-01T12:00Z"
        raise UsageError(f"{option}: not a time ({example})") from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _since(value: str | None) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise UsageError(f"--since: {exc}") from None


@app.command(cls=Command)
def backtest(
    rules: Annotated[
        Path | None,
        typer.Option("--rules", "-r", help="YAML file of candidate rules", metavar="RULES.yaml"),
    ] = None,
    config: ConfigOption = None,
    db: DbOption = None,
    monitor: MonitorOption = None,
    since: Annotated[
        str | None,
        typer.Option("--since", help="only the last DURATION (e.g. 30d)", metavar="DURATION"),
    ] = None,
    start: Annotated[
        str | None, typer.Option("--from", help="windows ending after TIME (UTC)", metavar="TIME")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="windows ending at or before TIME", metavar="TIME")
    ] = None,
    floor: Annotated[
        float | None,
        typer.Option(
            "--floor",
            help="a quality drop is final accuracy under F (default: the monitor's accuracy rule)",
            metavar="F",
        ),
    ] = None,
    alpha: Annotated[
        float | None,
        typer.Option(
            "--alpha",
            help="re-decide dataset_drift at level A from the stored p-values",
            metavar="A",
        ),
    ] = None,
    without_config_rules: Annotated[
        bool, flag("--candidates-only", help="leave the config's own rules out")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="folder for backtest.png and backtest.json", metavar="DIR"
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Backtest alert rules on a monitor's stored windows.

    Runs the config's rules and the candidates in --rules (the config's `alerts` syntax)
    through the daemon's state machine over the stored history: each rule's episodes,
    pages per week and, where final quality exists, its delay after each quality drop
    and its false alarms. Nothing is re-scored."""
    if since is not None and (start is not None or end is not None):
        raise UsageError("give --since, or --from/--to, not both")
    if alpha is not None and not 0 < alpha < 1:
        raise UsageError(f"--alpha must be between 0 and 1, not {alpha:g}")
    window = _since(since)
    first, last = _moment(start, "--from"), _moment(end, "--to")
    from monitor.history import History, load_rules

    candidates = load_rules(rules) if rules is not None else []
    url, settings = read_target(config, db)
    with History(open_url(url), settings) as history:
        result = history.backtest(
            candidates,
            monitor=monitor,
            since=window,
            start=first,
            end=last,
            floor=floor,
            alpha=alpha,
            include_config_rules=not without_config_rules,
        )
    document = result.to_dict()
    if out is not None:
        _write(result, document, out)
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    for line in describe(result):
        typer.echo(line)
    if out is not None:
        typer.echo(f"wrote {out / 'backtest.png'}, {out / 'backtest.json'}")


def _write(result: BacktestResult, document: dict[str, object], out: Path) -> None:
    from monitor.history.timeline import draw_backtest

    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / "backtest.json").write_text(json.dumps(document, indent=2), encoding="utf-8")
        draw_backtest(result, out / "backtest.png")
    except OSError as exc:
        raise DriftwardenError(f"cannot write into {out}: {exc.strerror}") from None


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else f"{moment:%Y-%m-%d %H:%M}"


def _delays(rule: RuleBacktest) -> str:
    return ", ".join(f"{d.delay_windows:+d}" for d in rule.detections) or "-"


def describe(result: BacktestResult) -> list[str]:
    """The text output: the history, the drift level, one table row per rule, episodes."""
    lines = [
        f"backtest of monitor {result.monitor}: {result.windows:,} windows, "
        f"{_when(result.start)} to {_when(result.end)} UTC ({result.weeks:.1f} weeks)"
    ]
    if result.floor is None:
        lines.append("no quality floor (give --floor F): episodes are not scored")
    elif not result.final_quality_windows:
        lines.append("no window has final accuracy yet: episodes are not scored")
    else:
        lines.append(
            f"{len(result.drops)} quality drop(s): final accuracy under {result.floor:g} "
            f"({result.floor_source}), over {result.final_quality_windows:,} windows with "
            "final quality"
        )
    level = result.drift_level
    if level is not None:
        configured = "" if level.configured_alpha is None else f" at {level.configured_alpha:g}"
        lines.append(
            f"dataset_drift re-decided at alpha {level.alpha:g} from the stored drift-family "
            f"p-values, nothing re-scored: {level.flagged_at_alpha:,} window(s) flagged "
            f"({level.flagged_stored:,} as stored{configured})"
        )
    rows = []
    for rule in result.rules:
        scored = rule.scored
        rows.append(
            [
                rule.name,
                rule.origin,
                str(len(rule.episodes)),
                "-" if rule.pages_per_week is None else f"{rule.pages_per_week:.2f}",
                f"{len(rule.detections)}/{len(result.drops)}" if scored else "-",
                _delays(rule) if scored else "-",
                str(len(rule.false_alarms)) if scored else "-",
                rule_definition(rule),
            ]
        )
    headers = ["rule", "origin", "pages", "per week", "caught", "delay (windows)", "false"]
    lines += ["", *table([*headers, "definition"], rows, "<<>>>><<")]
    for rule in result.rules:
        lines += ["", f"{rule.name} ({rule.origin}): {len(rule.episodes)} episode(s)"]
        for episode in rule.episodes[:_SHOWN_EPISODES]:
            value = "-" if episode.value is None else f"{episode.value:.4g}"
            resolved = (
                "still firing"
                if episode.resolved_at is None
                else f"resolved window {episode.resolved_index} ({_when(episode.resolved_at)})"
            )
            lines.append(
                f"  #{episode.number}: fired window {episode.index} (run {episode.run_id}, "
                f"{_when(episode.window_end)}) at {value}; {resolved}"
            )
        hidden = len(rule.episodes) - _SHOWN_EPISODES
        if hidden > 0:
            lines.append(f"  ... {hidden} more (see --json)")
    return lines


def rule_definition(rule: RuleBacktest) -> str:
    from monitor.history.results import rule_text

    late = " (final quality)" if rule.late else ""
    return rule_text(rule.rule) + late
