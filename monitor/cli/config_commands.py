"""`check-config`: a config checked without loading anything; `once` and `run` check the same
way before they touch the store."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitor.cli.app import Command, app
from monitor.config import Config, load_config
from monitor.errors import ConfigError, UsageError


def preflight(config: Config, path: Path, *, warn: bool = False) -> None:
    """Check what the config names (files, heads, columns): every error a ConfigError (exit
    2) with the lines `check-config` prints; with `warn`, its warnings on stderr (`once` and
    `run` say those their own way when they read)."""
    from monitor.preflight import check_config

    findings = check_config(config)
    if warn:
        for finding in findings:
            if finding.warning:
                typer.echo(finding.line(), err=True)
    errors = [f.line() for f in findings if not f.warning]
    if errors:
        raise ConfigError(f"{path} is invalid", errors)


@app.command("check-config", cls=Command)
def check_config(
    path: Annotated[Path | None, typer.Argument(help="config file", metavar="FILE")] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="config file (the same as FILE)", metavar="FILE"),
    ] = None,
) -> None:
    """Check a config and the files it points at.

    Validates the config, then what it names (files, folders, heads, columns) without
    loading a model; prints one `path.to.key: message` line per problem and exits 2 on any.
    A stream glob that matches no file yet is a warning. `once` and `run` make the same
    checks before they open the store."""
    if path is not None and config is not None and path != config:
        raise UsageError("give the config once: FILE or --config FILE")
    chosen = path or config
    if chosen is None:
        raise UsageError("give the config file: driftwarden check-config FILE")
    settings = load_config(chosen)
    preflight(settings, chosen, warn=True)
    names = ", ".join(m.name for m in settings.monitors)
    typer.echo(
        f"{chosen}: ok ({len(settings.monitors)} monitor(s): {names}; "
        f"{len(settings.hooks)} hook(s))"
    )
