"""A throwaway PostgreSQL server on a free loopback port, for tests and benchmarks.

Uses Debian's postgresql binaries (initdb, pg_ctl). As root, the server runs as the ``postgres``
system user (initdb refuses root). ``HOTLINE_TEST_PG_URL`` skips all this and uses a given server.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg


def find_pg_bin() -> Path | None:
    for pattern in ("/usr/lib/postgresql/*/bin",):
        for d in sorted(glob.glob(pattern), reverse=True):
            if Path(d, "initdb").exists() and Path(d, "pg_ctl").exists():
                return Path(d)
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    host: str
    port: int
    user: str
    admin_db: str = "postgres"

    def url(self, db: str) -> str:
        return f"postgresql+psycopg://{self.user}@{self.host}:{self.port}/{db}"

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            host=self.host, port=self.port, user=self.user, dbname=self.admin_db, autocommit=True
        )

    def create_db(self, template: str | None = None) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            tpl = f' TEMPLATE "{template}"' if template else ""
            conn.execute(f'CREATE DATABASE "{name}"{tpl}')
        return name

    def drop_db(self, name: str) -> None:
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run_as(user: str | None, args: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    cmd = ["runuser", "-u", user, "--", *args] if user else args
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=120, **kw)  # type: ignore[call-overload]


@contextlib.contextmanager
def running_pg() -> Iterator[PgServer]:
    """Yield a running server; stop it and remove its files afterwards."""
    given = os.environ.get("HOTLINE_TEST_PG_URL")
    if given:
        from sqlalchemy.engine import make_url

        u = make_url(given)
        yield PgServer(
            host=u.host or "127.0.0.1",
            port=u.port or 5432,
            user=u.username or "postgres",
            admin_db=u.database or "postgres",
        )
        return
    bindir = find_pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found; apt-get install postgresql")
    run_user = "postgres" if os.geteuid() == 0 else None
    base = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
    data = base / "data"
    if run_user:
        shutil.chown(base, user=run_user)
    port = free_port()
    db_user = "hotline"
    _run_as(
        run_user,
        [
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            db_user,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
    )
    opts = (
        f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
    )
    _run_as(
        run_user,
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            opts,
            "-l",
            str(base / "log"),
            "-w",
            "-t",
            "60",
            "start",
        ],
    )
    server = PgServer(host="127.0.0.1", port=port, user=db_user)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                server._admin().close()
                break
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield server
    finally:
        with contextlib.suppress(Exception):
            _run_as(run_user, [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(base, ignore_errors=True)
