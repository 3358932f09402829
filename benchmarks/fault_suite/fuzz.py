"""Property-based fuzzing of what driftwarden parses: configs, scenarios and stream files.

Each target has a hypothesis strategy that starts from a valid document or file and breaks
it (wrong types, huge numbers, duplicate keys, alias bombs, bytes that are not UTF-8,
truncations, extra fields, open quotes) and a checker that says what went wrong, or None:

- a config goes through `driftwarden check-config` (in process): exit 0 or 2, one error
  line and `path: message` lines, never a traceback, never the secret put in a field;
- a scenario through `load_scenario`: a Scenario or a ConfigError, nothing else;
- stream files through a real monitor's cycles, followed by good rows: no cycle fails and
  the good rows get scored (the monitor is not stalled by what came before them).

`benchmarks/faults.py` runs thousands of cases and counts; tests/faults runs a sample and
fails on the first case that goes wrong.
"""

from __future__ import annotations

import contextlib
import copy
import io
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pandas as pd
import yaml
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

SECRET = "fz-Secret-7d1e-never-echoed"
SECRET_ENV = "DW_FUZZ_SECRET"
STALL_S = 30.0  # a case whose cycles take longer than this counts as a stalled monitor
WINDOW = 20


@dataclass
class Tally:
    """What a run of cases found: counts, and the first few problems in full."""

    cases: int = 0
    tracebacks: int = 0
    stalled: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, problem: str | None, *, stalled: bool = False) -> None:
        self.cases += 1
        if problem is None:
            return
        if stalled:
            self.stalled += 1
        else:
            self.tracebacks += 1
        if len(self.examples) < 5:
            self.examples.append(problem[:800])


# ---------------------------------------------------------------- shared values

_ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "5m",
            "0s",
            "-1m",
            "1e400s",
            "99999999999999999999d",
            "off",
            "on",
            "yes",
            "no",
            "postgresql://u@localhost/db",
            "mysql://u:p@h/db",
            "sqlite:///",
            "nonsense://x",
            "*/5 * * * *",
            "61 * * * *",
            "${NO_SUCH_VARIABLE}",
            "${HOME:-x}",
            "\x00",
            "é" * 3,
            "package:no_such_fm",
            "../../etc/passwd",
            "a" * 300,
        ]
    ),
    st.lists(st.integers(min_value=-5, max_value=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)

_RAW_TAILS = [
    b"",
    b"\xff\xfe\x00garbage",
    b"\nstorage: twice\n",
    b"\na: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
    b"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
    b"e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n",
    b"\n" + b"[" * 500 + b"]" * 500 + b"\n",
    b"\n--- \nsecond: document\n",
    b"\nx: !!python/object/apply:os.system ['true']\n",
    b"\n\t tab: indented\n",
    b"\nself: &s [*s]\n",
]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _set(document: Any, path: tuple[Any, ...], value: Any, *, delete: bool = False) -> None:
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


@st.composite
def broken_documents(draw: st.DrawFn, base: dict[str, Any], secret_keys: tuple[str, ...]) -> bytes:
    """`base` with a few keys deleted, replaced by odd values or added; then as YAML text,
    sometimes with raw bytes broken too. A secret (`${DW_FUZZ_SECRET}`) may land in a key
    of `secret_keys`: durations and numbers, which errors must not echo."""
    document = copy.deepcopy(base)
    for _ in range(draw(st.integers(0, 4))):
        paths = _paths(document)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "secret"]))
        if action == "delete":
            _set(document, path, None, delete=True)
        elif action == "add" and isinstance(_get(document, path[:-1]), dict):
            _set(document, (*path[:-1], draw(st.text(min_size=1, max_size=8))), draw(_ODD_VALUES))
        elif action == "secret":
            targets = [p for p in paths if p and p[-1] in secret_keys]
            if targets:
                _set(document, draw(st.sampled_from(targets)), f"${{{SECRET_ENV}}}")
        else:
            _set(document, path, draw(_ODD_VALUES))
    text = yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode()
    mode = draw(st.sampled_from(["as is", "as is", "tail", "flip", "truncate", "insert"]))
    if mode == "tail":
        text += draw(st.sampled_from(_RAW_TAILS))
    elif mode == "flip" and text:
        at = draw(st.integers(0, len(text) - 1))
        text = text[:at] + bytes([draw(st.integers(0, 255))]) + text[at + 1 :]
    elif mode == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif mode == "insert":
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.binary(max_size=6)) + text[at:]
    return text


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        document = document[step]
    return document


def _captured(argv: list[str]) -> tuple[int, str]:
    from monitor.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


# ---------------------------------------------------------------- configs


def _tabular_files(folder: Path, timestamps: bool = False) -> tuple[Path, Path]:
    """A fitted model on one feature and its reference, as a user's project holds them."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    reference = pd.DataFrame({"x": x, "y": (x > 0).astype(int)})
    model = LogisticRegression().fit(reference[["x"]], reference["y"])
    joblib.dump(model, folder / "model.joblib")
    if timestamps:
        reference["ts"] = "2024-01-01T00:00:00Z"
    reference.to_csv(folder / "reference.csv", index=False)
    return folder / "model.joblib", folder / "reference.csv"


def base_config(folder: Path) -> dict[str, Any]:
    _tabular_files(folder)
    (folder / "stream").mkdir(exist_ok=True)
    pd.DataFrame({"id": [1], "x": [0.5], "y": [1]}).to_csv(folder / "stream" / "a.csv")
    return {
        "storage": "sqlite:///dw.db",
        "metrics": {"host": "127.0.0.1", "port": 9108},
        "hooks": {
            "page": {"type": "command", "argv": ["true"], "timeout": "30s"},
            "notify": {"type": "webhook", "url": "http://127.0.0.1:9/x", "retries": 2},
        },
        "monitors": [
            {
                "name": "tabular",
                "model": {"type": "sklearn", "path": "model.joblib"},
                "reference": {"path": "reference.csv"},
                "stream": {"path": "stream/*.csv", "timestamp_column": "ts"},
                "columns": {"features": ["x"], "target": "y", "id": "id"},
                "schedule": {"every": "5m"},
                "window": {"rows": 100},
                "drift": {"method": "auto", "embedding": {"method": "off"}},
                "alerts": [
                    {
                        "name": "acc",
                        "metric": "accuracy",
                        "below": 0.8,
                        "for": 2,
                        "cooldown": "1h",
                        "hooks": ["page"],
                    },
                ],
            }
        ],
    }


SECRET_KEYS = ("every", "timeout", "cooldown", "duration", "rows", "port", "retries", "for")


class ConfigFuzz:
    """`driftwarden check-config` on broken configs, in this process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.base = base_config(folder)
        self.path = folder / "driftwarden.yaml"
        os.environ[SECRET_ENV] = SECRET

    def strategy(self) -> st.SearchStrategy[bytes]:
        return broken_documents(self.base, SECRET_KEYS)

    def check(self, text: bytes) -> str | None:
        self.path.write_bytes(text)
        code, output = _captured(["check-config", str(self.path)])
        return _cli_problem(code, output, text)


def _cli_problem(code: int, output: str, text: bytes) -> str | None:
    shown = text[:300].decode("utf-8", "replace")
    if "Traceback" in output or "error: unexpected " in output:
        return f"a traceback (exit {code}) for:\n{shown}\n---\n{output[-600:]}"
    if code not in (0, 2):
        return f"exit {code} (0 or 2 expected) for:\n{shown}\n---\n{output[-600:]}"
    if SECRET in output:
        return f"the secret was echoed for:\n{shown}\n---\n{output[-600:]}"
    if code == 2 and not any(line.startswith("error: ") for line in output.splitlines()):
        return f"exit 2 without an `error:` line for:\n{shown}\n---\n{output[-600:]}"
    return None


# ---------------------------------------------------------------- scenarios


def base_scenario() -> dict[str, Any]:
    return {
        "name": "fuzz",
        "seed": 3,
        "clock": {"start": "2024-06-01T00:00:00Z", "step": "5m"},
        "window": {"rows": 50},
        "sources": {"home": {"corpus": "electronics", "positive_share": 0.5}},
        "reference": {"rows": 100, "mix": {"home": 1, "hotels": 1}},
        "monitor": {
            "name": "reviews",
            "drift": {"method": "auto", "embedding": {"method": "off"}},
            "alerts": [{"name": "acc", "metric": "accuracy", "below": 0.8, "for": 2}],
        },
        "phases": [
            {"name": "a", "windows": 2, "mix": {"home": 1}},
            {
                "name": "b",
                "windows": 2,
                "drift": True,
                "mix": {"movies": 1},
                "transforms": {"typos": 0.1, "truncate": 0.2},
            },
        ],
        "expect": {"acc": {"max_delay": 1, "max_false_alarms": 0}},
    }


class ScenarioFuzz:
    """`load_scenario` on broken scenarios: a Scenario or a ConfigError, nothing else."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "scenario.yaml"
        os.environ[SECRET_ENV] = SECRET

    def strategy(self) -> st.SearchStrategy[bytes]:
        return broken_documents(base_scenario(), ("step", "rows", "windows", "for", "seed"))

    def check(self, text: bytes) -> str | None:
        from monitor.errors import ConfigError
        from monitor.replay.scenario import load_scenario

        self.path.write_bytes(text)
        try:
            load_scenario(self.path)
        except ConfigError as exc:
            lines = "\n".join([str(exc), *exc.problems])
            if SECRET in lines:
                return f"the secret was echoed: {lines[:400]}"
            return None
        except Exception as exc:  # what a user would see as a traceback or exit 1
            shown = text[:300].decode("utf-8", "replace")
            return f"{type(exc).__name__}: {exc}"[:400] + f" for:\n{shown}"
        return None


# ---------------------------------------------------------------- stream files


@st.composite
def broken_stream_files(draw: st.DrawFn) -> tuple[str, bytes, bool]:
    """(file name, its bytes, whether the monitor reads timestamps): a valid CSV, JSON
    Lines or Parquet file of rows, broken in one or more ways."""
    timestamps = draw(st.booleans())
    rows = draw(st.integers(0, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    frame = pd.DataFrame(
        {
            "id": [f"f{i}" for i in range(rows)],
            "x": rng.normal(size=rows).round(3),
            "y": rng.integers(0, 2, size=rows),
            "ts": pd.date_range("2024-01-01", periods=rows, freq="s", tz="UTC").astype(str),
        }
    )
    if rows and draw(st.booleans()):  # bad cells
        frame = frame.astype(object)
        for _ in range(draw(st.integers(1, 3))):
            column = draw(st.sampled_from(["id", "x", "y", "ts"]))
            frame.at[draw(st.integers(0, rows - 1)), column] = draw(_ODD_VALUES)
    fmt = draw(st.sampled_from(["csv", "csv", "jsonl", "parquet", "txt", "json"]))
    data = _encoded(frame, fmt)
    for _ in range(draw(st.integers(0, 3))):
        data = _broken(draw, data)
    return f"00-fuzz.{fmt}", data, timestamps


def _encoded(frame: pd.DataFrame, fmt: str) -> bytes:
    if fmt == "parquet":
        buffer = io.BytesIO()
        try:
            frame.astype(str).to_parquet(buffer)
        except Exception:  # a value pyarrow refuses: an empty file instead
            return b""
        return buffer.getvalue()
    if fmt in ("jsonl", "json"):
        return (
            frame.astype(object).to_json(orient="records", lines=True, default_handler=str).encode()
        )
    return frame.to_csv(index=False).encode("utf-8", "replace")


def _broken(draw: st.DrawFn, data: bytes) -> bytes:
    kind = draw(
        st.sampled_from(
            ["flip", "truncate", "insert", "extra field", "open quote", "nul", "empty", "blank"]
        )
    )
    at = draw(st.integers(0, len(data))) if data else 0
    if kind == "flip" and data:
        at = min(at, len(data) - 1)
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if kind == "truncate":
        return data[:at]
    if kind == "insert":
        return data[:at] + draw(st.binary(max_size=12)) + data[at:]
    if kind == "extra field":
        return data + b"\nz9,1.0,1,2024-01-01T00:00:00Z,extra,more\n"
    if kind == "open quote":
        return data[:at] + b'"' + data[at:]
    if kind == "nul":
        return data[:at] + b"\x00" * 3 + data[at:]
    if kind == "empty":
        return b""
    return data[:at] + b"\n\n \n" + data[at:]


class StreamFuzz:
    """A real monitor (scikit-learn, windows of 20 rows) reading a broken file, then good
    rows after it; every case gets its own monitor name in one store."""

    def __init__(self, folder: Path) -> None:
        from monitor.config import parse_config
        from monitor.models.registry import load_model
        from monitor.store import Store

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        model, reference = _tabular_files(folder, timestamps=True)
        self.store = Store(f"sqlite:///{folder / 'fuzz.db'}")
        self.configs = {}
        for timestamps in (False, True):
            stream: dict[str, Any] = {"path": str(folder / "stream" / "*")}
            if timestamps:
                stream["timestamp_column"] = "ts"
            document = {
                "storage": "sqlite://",
                "monitors": [
                    {
                        "name": "fuzz",
                        "model": {"type": "sklearn", "path": str(model)},
                        "reference": {"path": str(reference)},
                        "stream": stream,
                        "columns": {"features": ["x"], "target": "y", "id": "id"},
                        "window": {"rows": WINDOW},
                        "drift": {"embedding": {"method": "off"}},
                        "snapshot": False,
                    }
                ],
            }
            self.configs[timestamps] = parse_config(document).monitors[0]
        self.model = load_model(self.configs[False].model)
        self.reference = pd.read_csv(reference)
        self.case = 0

    def strategy(self) -> st.SearchStrategy[tuple[str, bytes, bool]]:
        return broken_stream_files()

    def check(self, case: tuple[str, bytes, bool]) -> tuple[str | None, bool]:
        """(problem, whether it is a stall); (None, False) when the monitor coped."""
        from monitor.clock import SimulatedClock
        from monitor.cycle import MonitorRuntime, run_cycle
        from monitor.cycle.scoring import row_check
        from monitor.sources.base import SourceContext
        from monitor.sources.registry import build_source

        name, data, timestamps = case
        self.case += 1
        stream = self.folder / "stream"
        if stream.exists():
            for path in stream.iterdir():
                path.rmdir() if path.is_dir() else path.unlink()
        stream.mkdir(exist_ok=True)
        (stream / name).write_bytes(data)
        good = pd.DataFrame(
            {
                "id": [f"g{i}" for i in range(2 * WINDOW)],
                "x": np.linspace(-1, 1, 2 * WINDOW),
                "y": (np.linspace(-1, 1, 2 * WINDOW) > 0).astype(int),
                "ts": pd.date_range("2030-01-01", periods=2 * WINDOW, freq="s", tz="UTC"),
            }
        )
        good.to_csv(stream / "99-good.csv", index=False)
        config = self.configs[timestamps].model_copy(update={"name": f"case-{self.case}"})
        check = row_check(self.model, config, self.reference)
        source = build_source(
            config.stream, SourceContext(config.name, config.columns, config.window, check)
        )
        clock = SimulatedClock(datetime(2031, 1, 1, tzinfo=UTC))
        started = time.monotonic()
        try:
            runtime = MonitorRuntime(config, source, self.model, self.reference)
            for _ in range(200):
                clock.advance(timedelta(minutes=5))
                outcome = run_cycle(runtime, self.store, clock)
                if outcome.status == "error":
                    return f"a failed cycle: {outcome.error} for {name} {data[:200]!r}", True
                if outcome.status == "waiting":
                    break
        except Exception as exc:
            return f"{type(exc).__name__}: {exc} for {name} {data[:200]!r}"[:800], False
        if time.monotonic() - started > STALL_S:
            return f"cycles took {time.monotonic() - started:.0f}s for {name}", True
        scored = self._scored(config.name)
        missing = [g for g in good["id"] if g not in scored]
        if len(missing) >= WINDOW:  # a window's worth of good rows never scored: stalled
            return f"{len(missing)} good rows never scored after {name} {data[:200]!r}", True
        return None, False

    def _scored(self, monitor: str) -> set[str]:
        from monitor.store.run_reads import predictions, stored_runs

        with self.store.reading() as session:
            runs = stored_runs(session, monitor)
            return {p.row_id for run in runs for p in predictions(session, run.run.id)}


def summary(tallies: dict[str, Tally]) -> dict[str, Any]:
    return {
        "fuzz_cases": sum(t.cases for t in tallies.values()),
        "tracebacks": sum(t.tracebacks for t in tallies.values()),
        "stalled_monitors": sum(t.stalled for t in tallies.values()),
        "by_target": {name: t.cases for name, t in tallies.items()},
        "examples": {name: t.examples for name, t in tallies.items() if t.examples},
    }


def run_cases(target: Any, cases: int, tally: Tally, seed: int = 0) -> Tally:
    """Draw `cases` inputs from the target's strategy and check each, counting problems
    (nothing raises: a run reports every problem, not the first)."""
    from hypothesis import HealthCheck, Phase, given, settings

    @settings(
        max_examples=cases,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=True,
    )
    @given(target.strategy())
    def one(case: Any) -> None:
        verdict = target.check(case)
        if isinstance(verdict, tuple):
            tally.add(verdict[0], stalled=verdict[1])
        else:
            tally.add(verdict)

    with _quiet_logs():
        one()
    return tally


@contextlib.contextmanager
def _quiet_logs() -> Any:
    """Cycles log each quarantined file and failure; thousands of cases need none of it."""
    import logging

    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(previous)
