"""`main`: runs the command tree and turns every error into one line and an exit code.

Exit codes: 0 ok, 1 runtime failure, 2 usage or config error. Typer 0.29 carries its own
copy of click: its exit and abort are the public `typer.Exit` and `typer.Abort`, and its
parsing errors derive from the public `typer.exceptions.TyperException` and carry click's
documented attributes (`exit_code`, `format_message()`, `ctx`, `option_name`,
`possibilities`). They are told apart by those types and attributes and by the command
line itself, never by their message text or class names.
"""

from __future__ import annotations

import sys
import traceback

import typer
from typer.exceptions import TyperException

from monitor.cli.app import app, state
from monitor.cli.quick_exit import leave
from monitor.cli.suggest import did_you_mean
from monitor.errors import ConfigError, DriftwardenError

USAGE_EXIT = 2


def _is_cli_error(exc: BaseException) -> bool:
    """A parsing error of Typer's click: bad option, value, argument, command."""
    return (
        isinstance(exc, TyperException)
        and hasattr(exc, "exit_code")
        and callable(getattr(exc, "format_message", None))
    )


def _command_path(exc: BaseException) -> str:
    ctx = getattr(exc, "ctx", None)
    return str(getattr(ctx, "command_path", "") or "driftwarden")


def _option_names(exc: BaseException) -> list[str]:
    ctx = getattr(exc, "ctx", None)
    command = getattr(ctx, "command", None)
    names: list[str] = []
    for param in getattr(command, "params", []):
        names += [o for o in getattr(param, "opts", []) if o.startswith("--")]
    return names


def _command_names(exc: BaseException) -> list[str]:
    ctx = getattr(exc, "ctx", None)
    return list(getattr(getattr(ctx, "command", None), "commands", {}))


def _group_word(exc: BaseException, argv: list[str]) -> tuple[bool, str | None]:
    """Whether the error was raised by a command group, and the word of the command line
    in the group's place (None: the line ends at the group, so its help is wanted).

    A group fails only for a missing or unknown subcommand; the word is read from the
    command line: the group's path (`driftwarden model`) names the words before it.
    """
    ctx = getattr(exc, "ctx", None)
    if ctx is None or not hasattr(ctx.command, "commands"):
        return False, None
    depth = len(str(ctx.command_path).split()) - 1
    words = [word for word in argv if not word.startswith("-")]
    return True, (words[depth] if len(words) > depth else None)


def usage_message(exc: BaseException, argv: list[str]) -> str:
    """One line naming what was wrong, with a "did you mean" where a name is close."""
    where = _command_path(exc)
    option = getattr(exc, "option_name", None)
    _, command = _group_word(exc, argv)
    if command is not None and command in _command_names(exc):
        command = None  # the group knows it: the error is about something else
    # an unknown option is the one error that carries the options it could have meant
    if option and getattr(exc, "possibilities", None) is not None:
        message = f"no such option {option}{did_you_mean(option, _option_names(exc))}"
    elif command is not None:
        message = f"no such command {command!r}{did_you_mean(command, _command_names(exc))}"
    else:
        message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
        message = message[:1].lower() + message[1:].rstrip(".")
    return f"error: {where}: {message}; see '{where} --help'"


def _report(exc: DriftwardenError) -> int:
    typer.echo(f"error: {exc}", err=True)
    if isinstance(exc, ConfigError):
        for line in exc.problems:
            if line != str(exc):
                typer.echo(line, err=True)
    if state["debug"]:
        traceback.print_exc()
    return exc.exit_code


def run_app(argv: list[str] | None) -> int:
    """Run one command line; the exit code, with every error already reported on stderr."""
    try:
        # without standalone mode Typer returns an exit code instead of calling sys.exit
        result = app(args=argv, standalone_mode=False, prog_name="driftwarden")
        return result if isinstance(result, int) else 0
    except DriftwardenError as exc:
        return _report(exc)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except Exception as exc:
        words = list(sys.argv[1:] if argv is None else argv)
        group, word = _group_word(exc, words)
        about_an_option = getattr(exc, "option_name", None) or getattr(exc, "param", None)
        if _is_cli_error(exc) and group and word is None and not about_an_option:
            # a group alone on the command line: its help
            typer.echo(exc.ctx.get_help(), err=True)  # type: ignore[attr-defined]
            return USAGE_EXIT
        if _is_cli_error(exc):
            typer.echo(usage_message(exc, words), err=True)
            code = int(exc.exit_code)  # type: ignore[attr-defined]
            return code if code else USAGE_EXIT
        if state["debug"]:
            raise
        typer.echo(
            f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for the "
            "traceback, and please report it)",
            err=True,
        )
        return 1


def main(argv: list[str] | None = None) -> int:
    """The console script (argv None: the process's own arguments) and the tests' entry.

    As the console script it ends the process itself (`quick_exit.leave`); called with
    arguments, as tests do, it returns the exit code.
    """
    code = run_app(argv)
    if argv is None:
        leave(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
