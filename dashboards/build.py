"""Writes driftwarden's Grafana dashboards, Prometheus rules, monitoring mixin and
kube-prometheus manifests from the code in this folder (one source for all of them).

    python -m dashboards.build            # (re)write every generated file under dashboards/
    python -m dashboards.build --check    # exit 1 if a committed file is not what the code makes

Requires grafana-foundation-sdk==1769699379!11.6.0 (types for Grafana 11.6, schemaVersion 41).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

if __package__ in (None, ""):
    # Run as `python dashboards/build.py`: make the repository root importable so the
    # `dashboards.*` imports below resolve the same way as under `python -m`.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.models.dashboard import Dashboard

from dashboards import monitor_detail, overview, packaging, rules

OUTPUT_DIR = Path(__file__).resolve().parent
DASHBOARD_DIR = "grafana/dashboards"

# File name -> builder. The file names are what Grafana's file provider loads.
DASHBOARDS: dict[str, Callable[[str], Dashboard]] = {
    "overview.json": overview.build,
    "monitor.json": monitor_detail.build,
}


def render(board: Dashboard) -> str:
    """Stable JSON text: sorted keys and a final newline keep diffs of regenerations minimal."""
    return json.dumps(board, cls=JSONEncoder, indent=2, sort_keys=True) + "\n"


def generate(settings: packaging.Settings | None = None) -> dict[str, str]:
    """Path under dashboards/ -> the text the code produces now."""
    settings = settings or packaging.Settings()
    boards = {
        f"{DASHBOARD_DIR}/{name}": render(build(settings.runbook_base))
        for name, build in DASHBOARDS.items()
    }
    return boards | packaging.generate(settings)


def stale_files(
    output_dir: Path = OUTPUT_DIR, settings: packaging.Settings | None = None
) -> dict[str, str]:
    """Path -> unified diff, for each committed file that differs from the code."""
    differences = {}
    for name, expected in generate(settings).items():
        path = output_dir / name
        actual = path.read_text(encoding="utf-8") if path.exists() else ""
        if actual != expected:
            diff = difflib.unified_diff(
                actual.splitlines(keepends=True),
                expected.splitlines(keepends=True),
                fromfile=f"{path} (committed)",
                tofile=f"{path} (generated)",
            )
            differences[name] = "".join(diff)
    return differences


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__)
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the committed JSON differs from the generated JSON",
    )
    parser.add_argument(
        "--out", type=Path, default=OUTPUT_DIR, help="root of the generated files (dashboards/)"
    )
    parser.add_argument(
        "--runbook-base",
        default=rules.RUNBOOK_BASE,
        help="URL of the runbook page (the operating guide's alerts page); each alert's "
        "runbook_url is it plus #<alert name>, and each dashboard links it",
    )
    parser.add_argument(
        "--grafana-base",
        default=rules.GRAFANA_BASE,
        help="URL Grafana serves the dashboards at; each alert's dashboard_url starts with it",
    )
    parser.add_argument(
        "--selector",
        default=rules.SELECTOR,
        help='PromQL matchers that select driftwarden\'s series (default: job="driftwarden")',
    )
    parser.add_argument(
        "--manifest-label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a label for the PrometheusRule and ServiceMonitor (e.g. release=prometheus, "
        "what kube-prometheus-stack selects them by); repeatable",
    )
    args = parser.parse_args(argv)
    labels = {}
    for pair in args.manifest_label:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            parser.error(f"--manifest-label {pair!r}: expected KEY=VALUE")
        labels[key] = value
    settings = packaging.Settings(
        runbook_base=args.runbook_base,
        grafana_base=args.grafana_base,
        selector=args.selector,
        manifest_labels=labels,
    )

    if args.check:
        differences = stale_files(args.out, settings)
        for diff in differences.values():
            sys.stdout.write(diff)
        if differences:
            print(
                f"{len(differences)} file(s) out of date; run `python -m dashboards.build`",
                file=sys.stderr,
            )
            return 1
        return 0

    for name, text in generate(settings).items():
        path = args.out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
