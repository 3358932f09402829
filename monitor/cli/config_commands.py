"""`check-config` and `init`: a config checked without loading anything, or written for you."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import Command, app
from monitor.config import load_config
from monitor.errors import ConfigError


@app.command("check-config", cls=Command)
def check_config(
    path: Annotated[Path, typer.Argument(help="config file", metavar="FILE")],
) -> None:
    """Check a config and the files it points at.

    Validates the config, then what it names (files, folders, heads, columns) without
    loading a model; prints one `path.to.key: message` line per problem and exits 2 on any.
    A stream glob that matches no file yet is a warning."""
    from monitor.preflight import check_config

    config = load_config(path)
    findings = check_config(config)
    errors = [f.line() for f in findings if not f.warning]
    for finding in findings:
        if finding.warning:
            typer.echo(finding.line(), err=True)
    if errors:
        raise ConfigError(f"{path} is invalid", errors)
    names = ", ".join(m.name for m in config.monitors)
    typer.echo(
        f"{path}: ok ({len(config.monitors)} monitor(s): {names}; {len(config.hooks)} hook(s))"
    )
