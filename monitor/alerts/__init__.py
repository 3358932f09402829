"""Alert rules: a per-rule state machine evaluated over each monitor's stored history (by the
daemon, and by `monitor.history`'s backtest through the same `walk`)."""

from monitor.alerts.evaluate import Transition, evaluate_rules, event_payload
from monitor.alerts.rules import FIRING, OK, PENDING, RESOLVED, RuleState, step, walk

__all__ = [
    "FIRING",
    "OK",
    "PENDING",
    "RESOLVED",
    "RuleState",
    "Transition",
    "evaluate_rules",
    "event_payload",
    "step",
    "walk",
]
