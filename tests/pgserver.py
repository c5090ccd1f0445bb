"""A throwaway PostgreSQL server for the tests: Debian's binaries, found by glob, run as the
`postgres` user (PostgreSQL refuses to run as root) in a temporary data directory it owns, on
127.0.0.1 and a free port. Nothing is installed here: scripts/test.sh installs Debian's
`postgresql` package where /usr/lib/postgresql/*/bin/initdb is missing.

    with postgres_server() as server:
        url = server.url            # postgresql://postgres@127.0.0.1:PORT/postgres
        server.stop(); server.start()
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

PG_USER = "postgres"


def pg_bin_dir() -> Path:
    """The newest /usr/lib/postgresql/<version>/bin holding initdb, pg_ctl and postgres."""
    found = [Path(p).parent for p in glob.glob("/usr/lib/postgresql/*/bin/initdb")]
    found = [d for d in found if (d / "pg_ctl").exists() and (d / "postgres").exists()]
    if not found:
        raise RuntimeError("PostgreSQL is not installed (no /usr/lib/postgresql/*/bin/initdb): "
                           "apt-get install -y postgresql (scripts/test.sh does)")
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    bin_dir: Path
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql://{PG_USER}@127.0.0.1:{self.port}/postgres"

    def fresh_database(self) -> str:
        """A new, empty database on this server; its URL (each test its own tables)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def _as_postgres(self, *args: str, timeout: float = 60) -> None:
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", PG_USER, "--", *cmd]
        done = subprocess.run(cmd, timeout=timeout, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{Path(args[0]).name} failed ({done.returncode}): "
                               f"{(done.stderr or done.stdout).strip()[-2000:]}")

    def start(self) -> None:
        # no unix socket (its default directory may not exist or be writable); TCP on loopback
        opts = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off -c full_page_writes=off"
        self._as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-w",
                          "-t", "60", "-o", opts, "-l", str(self.data_dir / "server.log"),
                          "start")

    def stop(self) -> None:
        self._as_postgres(str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-w",
                          "-m", "fast", "stop")


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """initdb in a new directory under the system's temp dir (pytest's own are root's, mode
    700, which `postgres` cannot enter), owned by `postgres`; start it; stop and remove it."""
    try:
        user = pwd.getpwnam(PG_USER)
    except KeyError:
        raise RuntimeError(f"No '{PG_USER}' user: Debian's postgresql package creates it "
                           "(apt-get install -y postgresql)") from None
    bin_dir = pg_bin_dir()
    base = Path(tempfile.mkdtemp(prefix="gptviz-pg-"))
    data = base / "pgdata"
    data.mkdir()
    for d in (base, data):
        os.chown(d, user.pw_uid, user.pw_gid)
    os.chmod(data, 0o700)
    server = PostgresServer(bin_dir, data, _free_port())
    server._as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-U", PG_USER,
                        "--auth=trust", "-E", "UTF8", "--no-sync", timeout=120)
    server.start()
    try:
        yield server
    finally:
        with suppress(RuntimeError, subprocess.SubprocessError):
            server.stop()
        shutil.rmtree(base, ignore_errors=True)
