"""A throwaway PostgreSQL server from Debian's binaries, for tests and benchmarks.

    with PostgresServer() as server:
        url = server.create_database("gradebook")   # postgresql+psycopg2://postgres@127.0.0.1:PORT/gradebook

The server lives in a temporary folder (its data, and its socket beside them), listens on
127.0.0.1 only, on a free port, trusts local connections (initdb -A trust: nobody else can
reach it), and is stopped and deleted at the end. PostgreSQL refuses to run as root: as root,
initdb and pg_ctl run as the `postgres` user (Debian's package makes it), which owns the folder.
URLs name the driver, psycopg2 (the course's psycopg2-binary): SQLAlchemy 2.1 reads a bare
postgresql:// as psycopg 3. The binaries are those of TINYTORCH_POSTGRES_BIN, else of the newest /usr/lib/postgresql/*/bin,
else pg_ctl on the PATH.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

USER = "postgres"  # the database role initdb makes, and the system user to run as under root


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries (or no user to run them as)."""


def binaries() -> Path:
    """The folder holding initdb and pg_ctl."""
    named = os.environ.get("TINYTORCH_POSTGRES_BIN")
    candidates = [named] if named else sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name)
        if Path(p).parent.name.isdigit() else 0, reverse=True)
    if not named and shutil.which("pg_ctl"):
        candidates.append(str(Path(shutil.which("pg_ctl")).parent))
    for folder in candidates:
        if all((Path(folder) / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    raise PostgresUnavailable(
        "PostgreSQL's server binaries (initdb, pg_ctl) were not found in "
        f"{named or '/usr/lib/postgresql/*/bin or on the PATH'}: install Debian's `postgresql` "
        "package (apt-get install postgresql), or set TINYTORCH_POSTGRES_BIN to their folder")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.bin = binaries()
        self.as_root = os.geteuid() == 0
        if self.as_root:
            try:
                self.owner = pwd.getpwnam(USER)
            except KeyError:
                raise PostgresUnavailable(f"running as root, and there is no `{USER}` user to run "
                                          "PostgreSQL as (Debian's postgresql package makes it)")
        self.folder: Path | None = None
        self.port: int | None = None

    def run(self, tool: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n"
                               f"{done.stdout}\n{done.stderr}")
        return done

    def start(self) -> "PostgresServer":
        # Under /tmp (not pytest's private tmp folder, which the postgres user cannot enter).
        self.folder = Path(tempfile.mkdtemp(prefix="tinytorch-postgres-"))
        if self.as_root:
            os.chown(self.folder, self.owner.pw_uid, self.owner.pw_gid)
        data = self.folder / "data"
        self.run("initdb", "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8",
                 "--no-locale", "--no-sync")
        for attempt in range(3):  # the free port may be taken between finding and binding it
            self.port = free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                       "-c fsync=off -c full_page_writes=off")
            try:
                self.run("pg_ctl", "-D", str(data), "-l", str(self.folder / "server.log"),
                         "-o", options, "-w", "-t", "60", "start")
                return self
            except RuntimeError:
                if attempt == 2:
                    log = self.folder / "server.log"
                    raise RuntimeError(f"PostgreSQL did not start:\n"
                                       f"{log.read_text() if log.exists() else ''}")
                time.sleep(0.5)
        return self

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg2://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        engine.dispose()
        return self.url(name)

    def stop(self) -> None:
        if self.folder is None:
            return
        try:
            if (self.folder / "data" / "postmaster.pid").exists():
                self.run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w",
                         "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def __enter__(self) -> "PostgresServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
