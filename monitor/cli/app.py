"""The `driftwarden` command tree: the Typer apps, global options and the option types the
commands share. Commands live in the sibling modules, one module per duty."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand

from monitor import __version__, progress
from monitor.errors import UsageError
from monitor.logs import configure_logging


class Command(TyperCommand):
    """A command whose usage line names its arguments plainly: `report RUN_ID`, not `{run_id}`."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if getattr(param, "param_type_name", "") == "argument":
                name = param.metavar or str(param.name).upper()
                pieces.append(name if param.required else f"[{name}]")
        return pieces


# Plain help (no Rich panels): the same text on a terminal, in a pipe and in the README.
app = typer.Typer(
    name="driftwarden",
    help="Watch a deployed model for drift: scheduled Evidently metrics, stored, exported.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
model_app = typer.Typer(
    help="Fit and manage classifier heads of foundation models.",
    no_args_is_help=True,
    rich_markup_mode=None,
)
app.add_typer(model_app, name="model")

# Set by the global options; read by `main` when it maps an error to a message.
state: dict[str, Any] = {"debug": False, "log_format": "text"}


def flag(*names: str, help: str) -> Any:
    """A boolean option shown without a type (Typer would print `<bool>`)."""
    return typer.Option(*names, help=help, metavar="")


ConfigOption = Annotated[
    Path | None, typer.Option("--config", "-c", help="YAML config file", metavar="FILE")
]
RequiredConfig = Annotated[
    Path, typer.Option("--config", "-c", help="YAML config file", metavar="FILE")
]


def checked_db(url: str | None) -> str | None:
    """`--db` as given, once it is a URL the store can open (backend, driver, and a SQLite
    file's folder); otherwise a usage error (exit 2) before anything runs."""
    if url is None:
        return None
    from monitor.database_urls import store_url_problem  # SQLAlchemy: only when --db is given

    problem = store_url_problem(url)
    if problem is not None:
        raise UsageError(f"--db: {problem}")
    return url


DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLAlchemy URL of the store (default: the config's)",
        metavar="URL",
        callback=checked_db,
    ),
]
MonitorOption = Annotated[
    str | None, typer.Option("--monitor", "-m", help="only this monitor", metavar="NAME")
]
JsonOption = Annotated[bool, flag("--json", help="machine-readable output")]


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"driftwarden {__version__}")
        raise typer.Exit()


@app.callback()
def _global(
    debug: Annotated[bool, flag("--debug", help="print the traceback of an error")] = False,
    log_format: Annotated[
        str,
        typer.Option(
            "--log-format", help="log lines as text or as JSON objects", metavar="text|json"
        ),
    ] = "text",
    verbose: Annotated[bool, flag("--verbose", "-v", help="debug logs")] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="print the version and exit",
            metavar="",
            is_eager=True,
            callback=_show_version,
        ),
    ] = False,
) -> None:
    if log_format not in ("text", "json"):
        raise UsageError(f"--log-format must be text or json, not {log_format!r}")
    state["debug"] = debug
    state["log_format"] = log_format
    configure_logging(log_format, logging.DEBUG if verbose else logging.INFO)
    progress.configure(log_format=log_format)
