"""Backing up a live SQLite store while another process keeps creating tickets."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from store.backup import BackupError, backup_sqlite
from store.db import open_store

# A console seat: creates tickets (ticket + events + outbox in one transaction) until told to stop.
WRITER = r"""
import datetime as dt, sys, time
from pathlib import Path
from store.db import open_store
from store.tickets import Actor, create_ticket, draft_from
store, stop = open_store(sys.argv[1], migrate=False), Path(sys.argv[2])
draft = draft_from({"nature": "求助", "description": "路灯不亮", "caller_phone": "13812345678"})
made, give_up = 0, time.monotonic() + 60
while not stop.exists() and made < 20000 and time.monotonic() < give_up:
    with store.session() as s:
        create_ticket(s, draft, Actor("seat", "operator"), dt.datetime.now(dt.UTC))
    made += 1
store.close()
print(made)
"""


def consistent(copy: Path) -> int:
    """Check the copy the way a restore would; return its ticket count."""
    conn = sqlite3.connect(copy)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        tickets = conn.execute("SELECT count(*) FROM tickets").fetchone()[0]
        # one transaction per ticket: a snapshot never holds a ticket without its outbox row or events
        assert conn.execute("SELECT count(*) FROM outbox").fetchone()[0] == tickets
        orphans = conn.execute(
            "SELECT count(*) FROM tickets t WHERE NOT EXISTS "
            "(SELECT 1 FROM ticket_events e WHERE e.ticket_id = t.id)"
        ).fetchone()[0]
        assert orphans == 0
        return int(tickets)
    finally:
        conn.close()


def test_backup_while_a_writer_is_running(tmp_path: Path, sqlite_url: str) -> None:
    open_store(sqlite_url).close()
    db = Path(sqlite_url.removeprefix("sqlite:///"))
    stop = tmp_path / "stop"
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, sqlite_url, str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        give_up = time.monotonic() + 60
        while time.monotonic() < give_up and writer.poll() is None:  # wait until the seat is writing
            with contextlib.closing(sqlite3.connect(db)) as conn:
                if conn.execute("SELECT count(*) FROM tickets").fetchone()[0] >= 20:
                    break
            time.sleep(0.05)
        counts = []
        for i in range(3):
            result = backup_sqlite(sqlite_url, tmp_path / f"copy{i}.sqlite3")
            assert result.dest.exists() and result.bytes > 0 and result.pages > 0
            counts.append(consistent(result.dest))
            time.sleep(0.1)
        assert writer.poll() is None, "the writer must still be running during the backups"
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert 20 <= counts[0] <= counts[-1] <= int(out.strip().splitlines()[-1])
    assert not list(tmp_path.glob("*.part"))  # no temporary file left behind
    restored = open_store(f"sqlite:///{tmp_path / 'copy0.sqlite3'}")  # a copy is a working store
    restored.close()


def test_refuses_postgresql_with_advice() -> None:
    with pytest.raises(BackupError, match="pg_dump"):
        backup_sqlite("postgresql+psycopg://hotline@127.0.0.1:5432/hotline", "/tmp/never-written")


def test_clear_errors(tmp_path: Path, sqlite_url: str) -> None:
    with pytest.raises(BackupError, match="no SQLite store"):
        backup_sqlite(tmp_path / "missing.sqlite3", tmp_path / "out.sqlite3")
    assert not (tmp_path / "missing.sqlite3").exists()  # never created by looking at it
    open_store(sqlite_url).close()
    (tmp_path / "taken.sqlite3").write_bytes(b"keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup_sqlite(sqlite_url, tmp_path / "taken.sqlite3")
    assert (tmp_path / "taken.sqlite3").read_bytes() == b"keep me"
    with pytest.raises(BackupError, match="does not exist"):
        backup_sqlite(sqlite_url, tmp_path / "no" / "dir.sqlite3")
    with pytest.raises(BackupError, match="the store itself"):
        backup_sqlite(sqlite_url, sqlite_url.removeprefix("sqlite:///"))
    assert backup_sqlite(sqlite_url, tmp_path / "taken.sqlite3", overwrite=True).bytes > len(b"keep me")


def test_a_corrupt_source_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database" * 200)
    with pytest.raises(BackupError, match="failed"):
        backup_sqlite(bad, tmp_path / "out.sqlite3")
    assert not (tmp_path / "out.sqlite3").exists()
