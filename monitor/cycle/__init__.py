"""One monitoring cycle, source to store: read a window, score it, compare, record.

- `runtime.py`: a monitor's long-lived parts (source, and the model-version-bound `Scoring`)
- `versions.py`: the swap to the store's live model version, before a cycle
- `compute.py`: the pure part (read, score, metrics) returning the complete record
- `scoring.py`: model inputs and targets, rows the model raises on
- `recording.py`: the one store transaction (run, rules, deliveries, watermark)
- `run.py`: `run_cycle`, which the daemon, `once` and `replay` call
"""

from monitor.cycle.outcome import CycleOutcome
from monitor.cycle.run import run_cycle
from monitor.cycle.runtime import MonitorRuntime, Scoring

__all__ = ["CycleOutcome", "MonitorRuntime", "Scoring", "run_cycle"]
