"""The `driftwarden` command. Exit codes: 0 ok, 1 runtime failure, 2 usage or config error.

`app` is the command tree (one module per duty registers its commands on it); `main` runs
it and maps every error to one line and an exit code.
"""

# first: its exit handler must be registered before those of the libraries commands load
from monitor.cli import quick_exit  # noqa: F401

# isort: split
from monitor.cli import (  # noqa: F401  (importing a module registers its commands)
    backtest_command,
    config_commands,
    cycle_commands,
    health_commands,
    history_commands,
    init_command,
    label_requests_command,
    model_commands,
)
from monitor.cli.app import app
from monitor.cli.entry import main

__all__ = ["app", "main"]
