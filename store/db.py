"""Opening the store: engine creation, SQLite tuning, schema migration and clear errors.

``open_store(url)`` is the one way in. With no url the embedded SQLite file under the user's data
directory is used. Every failure a person can cause (locked, read-only or corrupt file, a schema
newer than this code) raises ``StoreError`` with one readable line and changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

# alembic is imported only when a migration has to run: loading it and the migration scripts costs
# ~0.3 s of every start, and a store already at SCHEMA_HEAD needs neither (tests/store/test_db.py
# checks that SCHEMA_HEAD is the newest migration).
SCHEMA_HEAD = "0006"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 5000


class StoreError(Exception):
    """A store problem explained in one line for the person at the keyboard."""


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def default_sqlite_path() -> Path:
    return Path(platformdirs.user_data_dir("hotline-console", appauthor=False)) / "hotline.sqlite3"


def resolve_url(url: str | None) -> str:
    """The SQLAlchemy URL to use: the configured one, or the default SQLite file."""
    if url:
        return url
    path = default_sqlite_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_connect_hook(busy_timeout_ms: int):  # type: ignore[no-untyped-def]
    def on_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        _sqlite_on_connect(dbapi_conn, busy_timeout_ms)

    return on_connect


def _sqlite_on_connect(dbapi_conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    # Let SQLAlchemy, not pysqlite, control transactions (BEGIN IMMEDIATE below), so writers queue
    # on the busy timeout instead of failing with "database is locked" on lock upgrade.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    cur.execute("PRAGMA foreign_keys = ON")
    # a read-only file cannot switch journal mode; reads still work
    with contextlib.suppress(sqlite3.OperationalError):
        cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def _sqlite_on_begin(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write", True) else "BEGIN")


def make_engine(
    url: str | None, *, echo: bool = False, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> Engine:
    """Create an engine for ``url`` (or the default SQLite file) with our connection settings.

    ``busy_timeout_ms``: how long a SQLite writer waits for another process's lock before failing.
    """
    real = resolve_url(url)
    parsed = make_url(real)
    if parsed.get_backend_name() == "sqlite":
        db = parsed.database
        if db and db.startswith("file:"):  # SQLite URI filename (?mode=ro&uri=true)
            db = db[len("file:") :].split("?", 1)[0]
        if db and db != ":memory:":
            parent = Path(db).expanduser().resolve().parent
            if not parent.exists():
                raise StoreError(f"store: the folder of the SQLite file does not exist: {parent}")
        engine = create_engine(real, echo=echo, connect_args={"timeout": busy_timeout_ms / 1000})
        event.listen(engine, "connect", _sqlite_connect_hook(busy_timeout_ms))
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        real = str(parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False))
    return create_engine(real, echo=echo, pool_pre_ping=True)


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(MIGRATIONS_DIR)).get_current_head()
    assert head is not None
    return head


def _explain(exc: BaseException, url: str) -> StoreError:
    text = str(getattr(exc, "orig", exc) or exc).lower()
    where = make_url(url).render_as_string(hide_password=True)
    if "locked" in text or "busy" in text:
        return StoreError(f"store: the database {where} is locked by another process; try again")
    if "readonly" in text or "read-only" in text or "attempt to write" in text:
        return StoreError(f"store: the database {where} is read-only; check its file permissions")
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return StoreError(f"store: {where} is not a valid SQLite database (corrupt?); restore a backup")
    if "unable to open" in text:
        return StoreError(f"store: cannot open {where}; check the path and permissions")
    detail = " ".join(str(getattr(exc, "orig", exc)).split())  # drivers add multi-line hints
    if "connection" in text or "could not connect" in text:
        return StoreError(f"store: cannot connect to {where}: {detail}")
    return StoreError(f"store: {where}: {detail}")


def upgrade(engine: Engine) -> str:
    """Migrate the schema to the newest revision this code knows; return it.

    Refuses (StoreError) a database whose revision is unknown to this code, e.g. one written by a
    newer release, instead of guessing.
    """
    url = engine.url.render_as_string(hide_password=False)
    try:
        rev = current_revision(engine)
        if rev == SCHEMA_HEAD:
            return rev
        from alembic import command
        from alembic.script import ScriptDirectory

        script = ScriptDirectory(str(MIGRATIONS_DIR))
        if rev is not None and script.get_revision(rev) is None:  # pragma: no cover - alembic raises
            raise StoreError(f"store: schema revision {rev} is newer than this program knows; upgrade it")
        command.upgrade(alembic_config(engine), "head")
    except StoreError:
        raise
    except (OperationalError, DatabaseError) as exc:
        raise _explain(exc, url) from None
    except Exception as exc:  # alembic's CommandError / ResolutionError for unknown revisions
        if "Can't locate revision" in str(exc) or "No such revision" in str(exc):
            raise StoreError(
                f"store: the database schema ({current_revision(engine)}) is newer than this program "
                f"knows ({head_revision()}); install a newer hotline-console"
            ) from None
        raise
    return head_revision()


@dataclass
class Store:
    """An open store: the engine and a session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        url = self.engine.url.render_as_string(hide_password=False)
        try:
            with self.sessions.begin() as session:
                yield session
        except (OperationalError, DatabaseError) as exc:
            raise _explain(exc, url) from exc

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A read-only session (on SQLite a deferred BEGIN, so readers never queue on writers)."""
        with self.engine.connect() as conn:
            conn.info["write"] = False
            try:
                with Session(bind=conn) as session:
                    yield session
            finally:
                conn.info.pop("write", None)

    def close(self) -> None:
        self.engine.dispose()


def open_store(
    url: str | None,
    *,
    migrate: bool = True,
    echo: bool = False,
    busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS,
) -> Store:
    """Open (and by default migrate) the store at ``url`` or the default SQLite file."""
    engine = make_engine(url, echo=echo, busy_timeout_ms=busy_timeout_ms)
    try:
        if migrate:
            upgrade(engine)
        else:
            with engine.connect() as conn:
                inspect(conn).get_table_names()
    except (OperationalError, DatabaseError) as exc:
        engine.dispose()
        raise _explain(exc, engine.url.render_as_string(hide_password=False)) from None
    except StoreError:
        engine.dispose()
        raise
    return Store(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
