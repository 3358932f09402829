"""Drift scenarios replayed through the daemon's own cycle on a simulated clock, then scored.

`replay_command` is what `driftwarden replay` runs; `load_scenario` + `replay` are the API.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from monitor.errors import DriftwardenError
from monitor.replay.scenario import Scenario, load_scenario, parse_scenario

__all__ = [
    "ExpectationsNotMet",
    "Scenario",
    "load_scenario",
    "parse_scenario",
    "replay_command",
]


class ExpectationsNotMet(DriftwardenError):
    """A replay ran, and at least one rule broke its `expect:` entry (exit code 1)."""


def replay_command(
    path: Path,
    *,
    out: Path | None = None,
    db: str | None = None,
    as_json: bool = False,
    echo: Callable[..., None] = print,
    allow_hooks: bool = False,
    allow_pickle: bool = False,
) -> None:
    """Replay the scenario file at `path`, write its files and print a summary.

    Raises ExpectationsNotMet (exit code 1) after listing each failed expectation on
    stderr, and ConfigError (exit code 2) for a bad scenario file.
    """
    # a bad scenario costs a second, not the heavy imports; an untrusted one runs no code
    scenario = load_scenario(path, allow_hooks=allow_hooks, allow_pickle=allow_pickle)
    from monitor.replay.progress import ProgressLine
    from monitor.replay.report import describe, summary, write_outputs
    from monitor.replay.runner import quiet_alert_logs, replay

    folder = out if out is not None else Path(f"replay-{scenario.name}")
    bar = ProgressLine(f"replay {scenario.name}")
    with quiet_alert_logs():
        try:
            report = replay(scenario, db=db, progress=bar)
        finally:
            bar.close()
    written = write_outputs(report, folder)
    if as_json:
        echo(json.dumps(summary(report), indent=2))
    else:
        for line in describe(report):
            echo(line)
        echo(f"wrote {', '.join(str(p) for p in written)}")
    if not report.met:
        for failure in report.failures:
            echo(f"expectation failed: {failure}", err=True)
        raise ExpectationsNotMet(
            f"{len(report.failures)} expectation(s) of scenario {scenario.name} failed"
        )
