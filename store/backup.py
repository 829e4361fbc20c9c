"""A consistent copy of a live SQLite store (``hotline db backup PATH``).

Uses sqlite3's online backup API in a single step: the copy is one snapshot of the database, taken
under a read transaction, so in WAL mode consoles keep writing while it runs (a stepwise copy would
restart after every foreign write and could never finish under steady load). The copy is written
to a temporary file next to ``dest``, checked with ``PRAGMA integrity_check``, switched to a
self-contained rollback journal and only then renamed to ``dest``: a failed backup never leaves a
half-written file behind. PostgreSQL stores are refused: that is pg_dump's job.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import structlog
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from store.db import SQLITE_BUSY_TIMEOUT_MS, resolve_url

log = structlog.get_logger(__name__)


class BackupError(Exception):
    """Why a backup was not made, in one line."""


@dataclass(frozen=True)
class BackupResult:
    source: Path
    dest: Path
    bytes: int
    pages: int
    seconds: float


def sqlite_path(url_or_path: str | Path | None) -> Path:
    """The SQLite file behind a store URL, a plain path, or (None) the default store."""
    if isinstance(url_or_path, Path):
        return url_or_path
    text = resolve_url(url_or_path) if url_or_path is None or "://" in url_or_path else None
    if text is None:
        return Path(str(url_or_path))
    try:
        url = make_url(text)
    except ArgumentError:
        raise BackupError(f"backup: not a database URL: {text}") from None
    backend = url.get_backend_name()
    if backend == "postgresql":
        where = url.render_as_string(hide_password=True)
        raise BackupError(
            f"backup: {where} is a PostgreSQL store; back it up with pg_dump "
            f"(e.g. pg_dump -Fc -f hotline.dump {url.database or 'DBNAME'})"
        )
    if backend != "sqlite" or not url.database or url.database == ":memory:":
        raise BackupError(f"backup: only a SQLite file store can be copied, not {backend}")
    return Path(url.database)


def backup_sqlite(
    url_or_path: str | Path | None, dest: str | Path, *, overwrite: bool = False
) -> BackupResult:
    """Copy the live SQLite store at ``url_or_path`` to ``dest``; return what was copied."""
    source = sqlite_path(url_or_path).expanduser()
    target = Path(dest).expanduser()
    if not source.is_file():
        raise BackupError(f"backup: no SQLite store at {source}")
    if target.resolve() == source.resolve():
        raise BackupError("backup: the destination is the store itself")
    if target.exists() and not overwrite:
        raise BackupError(f"backup: {target} already exists; remove it or choose another name")
    if not target.parent.is_dir():
        raise BackupError(f"backup: the folder {target.parent} does not exist")
    started = time.monotonic()
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        pages = _copy(source, tmp)
        os.replace(tmp, target)
    except sqlite3.Error as exc:
        raise BackupError(f"backup: copying {source} failed: {exc}") from None
    except OSError as exc:
        raise BackupError(f"backup: cannot write {target}: {exc.strerror or exc}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    result = BackupResult(
        source=source,
        dest=target,
        bytes=target.stat().st_size,
        pages=pages,
        seconds=time.monotonic() - started,
    )
    log.info("store.backup", source=str(source), dest=str(target), bytes=result.bytes, pages=pages)
    return result


def _copy(source: Path, tmp: Path) -> int:
    # read-only URI: a missing or foreign file is never created or modified by the backup
    src = sqlite3.connect(
        f"{source.resolve().as_uri()}?mode=ro", uri=True, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000
    )
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst, pages=-1)  # one step: one consistent snapshot
            check = dst.execute("PRAGMA integrity_check").fetchone()[0]
            if check != "ok":
                raise sqlite3.DatabaseError(f"the copy failed its integrity check: {check}")
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            pages = int(dst.execute("PRAGMA page_count").fetchone()[0])
        finally:
            dst.close()
    finally:
        src.close()
    return pages
