"""`main`: runs the command tree and turns every error into one line and an exit code.

Exit codes: 0 ok, 1 runtime failure, 2 usage or config error. Typer 0.29 carries its own
copy of click, whose exceptions are not `click.ClickException`s, and older Typers raise
click's own; both are recognised here by their shape (an `exit_code` and a
`format_message()`), never by importing either class.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import sys
import traceback

import typer

from monitor.cli.app import app, state
from monitor.cli.suggest import did_you_mean
from monitor.errors import ConfigError, DriftwardenError

USAGE_EXIT = 2


def _is_exit(exc: BaseException) -> bool:
    """`typer.Exit`, click's `Exit` (what `typer.Exit` was before Typer 0.29)."""
    return type(exc).__name__ == "Exit" and hasattr(exc, "exit_code")


def _is_abort(exc: BaseException) -> bool:
    return type(exc).__name__ == "Abort"


def _is_cli_error(exc: BaseException) -> bool:
    """A parsing error of click or of Typer's copy of it: bad option, value, argument."""
    return hasattr(exc, "exit_code") and callable(getattr(exc, "format_message", None))


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


def _unknown_command(exc: BaseException) -> str | None:
    match = re.match(r"No such command '(.+?)'", str(getattr(exc, "message", "")))
    return match[1] if match else None


def _command_names(exc: BaseException) -> list[str]:
    ctx = getattr(exc, "ctx", None)
    return list(getattr(getattr(ctx, "command", None), "commands", {}))


def usage_message(exc: BaseException) -> str:
    """One line naming what was wrong, with a "did you mean" where a name is close."""
    where = _command_path(exc)
    option = getattr(exc, "option_name", None)
    command = _unknown_command(exc)
    if type(exc).__name__ == "NoSuchOption" and option:
        message = f"no such option {option}{did_you_mean(option, _option_names(exc))}"
    elif command is not None:
        message = f"no such command {command!r}{did_you_mean(command, _command_names(exc))}"
    else:
        message = " ".join(str(exc.format_message()).split())  # type: ignore[attr-defined]
        # click's "Did you mean 'runs'?" / "(Possible options: ...)" in our own words
        message = re.sub(r"\.? Did you mean (.+)\?$", r" (did you mean \1?)", message)
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
    except Exception as exc:
        if _is_exit(exc):
            return int(exc.exit_code)  # type: ignore[attr-defined]
        if _is_abort(exc):
            typer.echo("aborted", err=True)
            return 1
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message(), err=True)  # type: ignore[attr-defined]
            return USAGE_EXIT
        if _is_cli_error(exc):
            typer.echo(usage_message(exc), err=True)
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


def _leave_now(code: int) -> None:
    """Exit without tearing the interpreter down.

    Once torch, ONNX Runtime and Evidently are loaded, Python's own finalisation (module
    teardown and its garbage collections, seen in gdb as `finalize_modules`) takes 4-11 s
    after the work is done, so a stopped daemon lingered that long. Every command has
    closed its store and files by then: the exit handlers run, the streams are flushed,
    and the process leaves at once.
    """
    atexit._run_exitfuncs()
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to say
            stream.flush()
    os._exit(code)


def main(argv: list[str] | None = None) -> int:
    """The console script (argv None: the process's own arguments) and the tests' entry.

    As the console script it ends the process itself (see `_leave_now`); called with
    arguments, as tests do, it returns the exit code.
    """
    code = run_app(argv)
    if argv is None:
        _leave_now(code)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
