"""The command hook: run an argv (never a shell) with the event JSON on stdin and in the env.

The program gets a minimal environment (`BASE_ENV`), the names its config passes through
(`pass_env`) and the values it sets (`env`), never the daemon's whole environment.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from typing import Any

from monitor.hooks.base import AttemptResult, Hook, HookContext
from monitor.hooks.specs import CommandHook

EVENT_ENV = "DRIFTWARDEN_EVENT"
# What a program needs to run as it would from a login shell, and nothing that could be a
# secret: the daemon's own environment (tokens, database passwords) stays with the daemon.
BASE_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR")


def command_environment(config: CommandHook, event_json: str) -> dict[str, str]:
    """The minimal environment, the names `pass_env` lets through, `env`, and the event."""
    passed = [name for name in (*BASE_ENV, *config.pass_env) if name in os.environ]
    env = {name: os.environ[name] for name in passed}
    env.update({name: value.get_secret_value() for name, value in config.env.items()})
    env[EVENT_ENV] = event_json
    return env


class Command(Hook):
    """Exit status 0 delivers; another status or the timeout is a failed attempt.

    The command runs in its own process group, so the timeout kills whatever it started
    too. Its output is discarded: a daemon's log is not the place for a script's chatter
    (nor for what it might echo); a script that needs a log writes its own.
    """

    config: CommandHook

    def __init__(self, name: str, config: CommandHook, context: HookContext) -> None:
        super().__init__(name, config, context)

    def secrets(self) -> list[str]:
        return [value.get_secret_value() for value in self.config.env.values()]

    def deliver(self, event: dict[str, Any]) -> AttemptResult:
        body = json.dumps(event, sort_keys=True)
        env = command_environment(self.config, body)
        try:
            process = subprocess.Popen(
                self.config.argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            # the same file will be missing next time: not retried
            reason = exc.strerror or type(exc).__name__
            return AttemptResult(False, False, detail=f"cannot run {self.config.argv[0]}: {reason}")
        try:
            process.communicate(body.encode("utf-8"), timeout=self.timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            process.wait()
            return AttemptResult(
                False,
                True,
                exit_status=process.returncode,
                detail=f"timed out after {self.timeout:g}s; killed",
            )
        status = process.returncode
        if status == 0:
            return AttemptResult(True, exit_status=0, detail="exit status 0")
        return AttemptResult(False, True, exit_status=status, detail=f"exit status {status}")


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        process.kill()
