"""What a replay leaves behind: `summary.json`, `timeline.png` and `metrics.om` in one folder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from monitor.errors import DriftwardenError
from monitor.replay.runner import ReplayReport

SUMMARY = "summary.json"
TIMELINE = "timeline.png"
OPENMETRICS = "metrics.om"


def _iso(moment: Any) -> str:
    return str(moment.isoformat().replace("+00:00", "Z"))


def summary(report: ReplayReport) -> dict[str, Any]:
    """The replay as JSON: scenario, windows, onsets, rules, expectations, series per window."""
    scenario = report.scenario
    spec = scenario.spec
    phases, first = [], 0
    for number, phase in enumerate(spec.phases):
        phases.append(
            {
                "name": phase.name or f"phase-{number}",
                "first_window": first,
                "windows": phase.windows,
                "drift": phase.drift,
            }
        )
        first += phase.windows
    rules = {}
    for rule in scenario.monitor.alerts:
        score = report.scores[rule.name]
        rules[rule.name] = {
            "metric": rule.metric,
            "above": rule.above,
            "below": rule.below,
            "for": rule.for_,
            "detections": score.detections,
            "delays": score.delays,
            "false_alarms": score.false_alarms,
            "missed": score.missed,
            "fired": score.fired,
            "resolved": score.resolved,
        }
    return {
        "scenario": {
            "name": scenario.name,
            "description": spec.description,
            "file": str(scenario.path) if scenario.path else None,
            "seed": spec.seed,
            "monitor": report.monitor.name,
            "model": {"type": report.monitor.model.type, "version": report.model_version},
            "window_rows": spec.window.rows,
            "clock": {
                "start": _iso(spec.clock.start),
                "step_seconds": spec.clock.step.total_seconds(),
            },
        },
        "windows": len(report.windows),
        "onsets": report.onsets,
        "phases": phases,
        "rules": rules,
        "expectations": {
            "met": report.met,
            "failures": report.failures,
            "expected": {
                rule: expectation.model_dump(exclude_none=True)
                for rule, expectation in spec.expect.items()
            },
        },
        "series": [
            {
                "window": w.index,
                "phase": w.phase_name,
                "drift": w.drift,
                "onset": w.onset,
                "window_start": _iso(w.window_start),
                "window_end": _iso(w.window_end),
                "run_id": w.run_id,
                "rows": w.rows,
                "quarantined": w.quarantined,
                "metrics": w.metrics,
                "firing": w.firing,
                "transitions": w.transitions,
            }
            for w in report.windows
        ],
        "storage": report.storage,
        "replay_seconds": round(report.seconds, 2),
    }


def write_outputs(report: ReplayReport, folder: Path) -> list[Path]:
    """Write the three files to `folder` (created); return their paths."""
    from monitor.replay.timeline import draw_timeline

    try:
        folder.mkdir(parents=True, exist_ok=True)
        written = [folder / SUMMARY, folder / TIMELINE, folder / OPENMETRICS]
        written[0].write_text(json.dumps(summary(report), indent=2) + "\n", encoding="utf-8")
        draw_timeline(report, written[1])
        report.series.write(written[2])
    except OSError as exc:
        raise DriftwardenError(f"cannot write the replay's files to {folder}: {exc}") from None
    return written


def describe(report: ReplayReport) -> list[str]:
    """A few human lines: what each rule caught, how late, and false alarms."""
    lines = [
        f"replay {report.scenario.name}: {len(report.windows)} windows, onsets at "
        f"{', '.join(map(str, report.onsets)) or 'none'} ({report.seconds:.1f} s)"
    ]
    for rule, score in report.scores.items():
        caught = f"detected {len(score.detections)}/{len(score.onsets)} onsets"
        if score.delays:
            caught += f" (delays {', '.join(map(str, score.delays))})"
        alarms = ", ".join(map(str, score.false_alarms)) or "none"
        lines.append(f"  {rule}: {caught}; false alarms at windows: {alarms}")
    if report.met:
        lines.append("expectations: met")
    else:
        lines.append("expectations: FAILED")
        lines += [f"  {failure}" for failure in report.failures]
    return lines
