"""A real PostgreSQL server for the tests, on a temporary folder and a Unix socket (no TCP port),
started with the machine's `initdb` and `pg_ctl` and stopped at the end of the session.

PostgreSQL refuses to run as root; when the tests run as root, the server runs as the `postgres`
system account, which owns the temporary folder. `missing()` says why no server can be started
(the tests that need one skip with that reason; `.ci/run` makes sure one can).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from itertools import count
from pathlib import Path

import psycopg

USER = "coda"
_numbers = count(1)


def binaries() -> Path | None:
    """The folder of `initdb` and `pg_ctl`: CODA_PG_BIN, the PATH, or Debian's versioned folder."""
    configured = os.environ.get("CODA_PG_BIN")
    if configured:
        return Path(configured)
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


def missing() -> str:
    """Why no server can be started here ("" when one can)."""
    folder = binaries()
    if folder is None or not (folder / "initdb").exists() or not (folder / "pg_ctl").exists():
        return "PostgreSQL's initdb and pg_ctl are not on this machine (Debian: apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no postgres account to run PostgreSQL as"
    return ""


class Server:
    """One PostgreSQL server in a fresh temporary folder; `database()` makes an empty database."""

    def __init__(self) -> None:
        self.bin = binaries()
        self.root = Path(tempfile.mkdtemp(prefix="coda-pg-"))
        self.data = self.root / "data"
        self.socket = self.root / "socket"
        self.socket.mkdir()
        self._as = []
        if os.geteuid() == 0:  # PostgreSQL will not run as root
            account = pwd.getpwnam("postgres")
            for path in (self.root, self.socket):
                os.chown(path, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def start(self) -> Server:
        self._run("initdb", "-D", self.data, "-U", USER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        options = f"-k {self.socket} -c listen_addresses='' -c fsync=off -c synchronous_commit=off"
        self._run("pg_ctl", "-D", self.data, "-l", self.root / "server.log", "-o", options, "-w", "start")
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@/{database}?host={self.socket}"

    def database(self) -> str:
        """A new, empty database; its URL."""
        name = f"coda_test_{next(_numbers)}"
        with psycopg.connect(host=str(self.socket), user=USER, dbname="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: object) -> None:
        command = [*self._as, str(self.bin / program), *(str(a) for a in args)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}")
