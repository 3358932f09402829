"""A PostgreSQL server of the test session's own, for every test that needs a real one.

Started on 127.0.0.1 (a free port, trust auth, data in a pytest temp dir), with an ICU
collation and a far-from-UTC time zone so that ordering and time-zone slips show. The
`postgres` fixture (tests/conftest.py) starts it at most once per session; tests ask it for
a fresh database each.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count
from pathlib import Path

import pytest

SERVER_USER = "postgres"  # the server refuses to run as root; Debian's package makes this user


def _bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries: Debian's versioned folders, else the PATH."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda folder: int(Path(folder).parent.name.split(".")[0]),
        reverse=True,
    )
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(str(Path(on_path).parent))
    for folder in candidates:
        if all((Path(folder) / name).is_file() for name in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _as_server_user(argv: list[str]) -> list[str]:
    return ["runuser", "-u", SERVER_USER, "--", *argv] if os.geteuid() == 0 else argv


def _let_server_user_in(folder: Path, pytest_root: Path) -> None:
    """As root: the server's folder belongs to its user, and pytest's own 0700 folders above
    it are made traversable (o+x, no listing) so that user can reach it."""
    if os.geteuid() != 0:
        return
    shutil.chown(folder, user=SERVER_USER)
    for parent in folder.parents:
        if parent != pytest_root and pytest_root not in parent.parents:
            break
        mode = parent.stat().st_mode
        if not mode & stat.S_IXOTH:
            parent.chmod(mode | stat.S_IXOTH)


def _user_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass
class Postgres:
    port: int
    names: Iterator[int]

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def fresh_database(self) -> str:
        """The URL of a new, empty database."""
        psycopg = pytest.importorskip("psycopg", reason="pip install 'psycopg[binary]'")
        name = f"dw_{next(self.names)}"
        with psycopg.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _initdb(bindir: Path, data: Path, log: Path) -> None:
    base = [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    base += ["--no-sync", "-E", "UTF8", "--locale=C"]
    # an ICU collation orders "Drift" after "accuracy" (code points put it first); PG < 15 or
    # a build without ICU falls back to the C collation
    for extra in (["--locale-provider=icu", "--icu-locale=en-US"], []):
        shutil.rmtree(data, ignore_errors=True)
        with log.open("a") as out:
            done = subprocess.run(
                _as_server_user(base + extra), stdout=out, stderr=out, timeout=120, check=False
            )
        if done.returncode == 0:
            return
    pytest.fail(f"initdb failed:\n{log.read_text()[-3000:]}")


def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    """A PostgreSQL server of our own for the session, stopped at the end whatever happens."""
    bindir = _bin_dir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found")
    if os.geteuid() == 0 and (shutil.which("runuser") is None or not _user_exists(SERVER_USER)):
        pytest.skip(f"running as root needs runuser and a {SERVER_USER!r} user for the server")
    # Not under pytest's basetemp: a second pytest session on the machine removes the
    # oldest of pytest's temp folders, which would pull the data folder from under a server
    # still in use.
    folder = Path(tempfile.mkdtemp(prefix="driftwarden-postgres-"))
    _let_server_user_in(folder, folder.parent)
    data, log = folder / "data", folder / "server.log"  # the log: written by the server's user
    _initdb(bindir, data, folder / "initdb.log")
    port = _free_port()
    options = (
        f"-h 127.0.0.1 -p {port} -k {folder} -c timezone=Pacific/Chatham -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=16MB"
    )
    pg_ctl = [str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log)]
    try:
        started = subprocess.run(
            _as_server_user([*pg_ctl, "-w", "-t", "60", "-o", options, "start"]),
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        if started.returncode != 0:
            pytest.fail(f"the server did not start: {started.stderr}\n{log.read_text()[-3000:]}")
        yield Postgres(port, count(1))
    finally:
        subprocess.run(
            _as_server_user([*pg_ctl, "-m", "immediate", "-w", "stop"]),
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(folder, ignore_errors=True)
