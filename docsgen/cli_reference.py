"""Every command and option, from the Typer app: each command's own `--help`."""

from __future__ import annotations

from typing import Any

import click
import typer

from monitor.cli import app

#: the help as an 88-column terminal shows it, whatever terminal generates the page
WIDTH: dict[str, Any] = {"terminal_width": 88, "max_content_width": 88}


def commands(group: Any = None, prefix: str = "") -> list[tuple[str, Any]]:
    """(path, click command) for every leaf command, in the order `--help` lists them."""
    group = group if group is not None else typer.main.get_command(app)
    found: list[tuple[str, Any]] = []
    for name, command in group.commands.items():
        path = f"{prefix}{name}"
        if hasattr(command, "commands"):
            found += commands(command, f"{path} ")
        else:
            found.append((path, command))
    return found


def options(command: Any) -> list[str]:
    """Every long option a command takes (for the tests)."""
    return [o for p in command.params for o in getattr(p, "opts", []) if o.startswith("--")]


def help_text(path: str, command: Any) -> str:
    root = typer.main.get_command(app)
    with click.Context(root, info_name="driftwarden", **WIDTH) as parent:
        context = parent
        for part in path.split()[:-1]:
            context = click.Context(
                context.command.commands[part], parent=context, info_name=part, **WIDTH
            )
        with click.Context(command, parent=context, info_name=path.split()[-1], **WIDTH) as ctx:
            return str(command.get_help(ctx))


def cli_page() -> str:
    root = typer.main.get_command(app)
    with click.Context(root, info_name="driftwarden", **WIDTH) as ctx:
        top = str(root.get_help(ctx))
    lines = [
        "# Commands",
        "",
        "Every command's `--help`, as the installed `driftwarden` prints it. Exit codes: 0 ok,",
        "1 a runtime failure, 2 a usage or config error ([exit codes](exit-codes.md)).",
        "",
        "```text",
        top.rstrip(),
        "```",
    ]
    for path, command in commands():
        lines += [
            "",
            f"## `driftwarden {path}`",
            "",
            "```text",
            help_text(path, command).rstrip(),
            "```",
        ]
    return "\n".join(lines) + "\n"
