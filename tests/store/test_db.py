"""Opening the store on both backends, and the clear errors for damaged or foreign databases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select, text

from store.db import SCHEMA_HEAD, StoreError, current_revision, head_revision, open_store
from store.models import User


def test_open_migrates_to_head(store) -> None:
    assert current_revision(store.engine) == head_revision()


def test_schema_head_constant_is_the_newest_migration() -> None:
    # open_store skips alembic when the database is at SCHEMA_HEAD: a new migration must move it
    assert head_revision() == SCHEMA_HEAD


def test_datetimes_come_back_aware_utc(store) -> None:
    now = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    with store.session() as s:
        s.add(User(username="u1", display_name="", role="operator", password_hash="x", created_at=now))
    with store.read() as s:
        got = s.scalars(select(User.created_at)).one()
    assert got == now and got.tzinfo is not None


def test_sqlite_pragmas(sqlite_store) -> None:
    with sqlite_store.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert c.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000


def test_corrupt_file_is_refused_and_left_alone(tmp_path: Path) -> None:
    f = tmp_path / "bad.sqlite3"
    f.write_bytes(b"this is not a database" * 100)
    before = f.read_bytes()
    with pytest.raises(StoreError, match="not a valid SQLite database"):
        open_store(f"sqlite:///{f}")
    assert f.read_bytes() == before


def test_newer_schema_is_refused(sqlite_url: str) -> None:
    s = open_store(sqlite_url)
    with s.engine.begin() as c:
        c.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    s.close()
    with pytest.raises(StoreError, match="newer than this program"):
        open_store(sqlite_url)


def test_read_only_database_refuses_writes_clearly(tmp_path: Path) -> None:
    path = tmp_path / "ro.sqlite3"
    s = open_store(f"sqlite:///{path}")
    with s.session() as ses:
        ses.add(
            User(
                username="kept",
                display_name="",
                role="operator",
                password_hash="x",
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    s.close()
    # root ignores file modes, so open the file read-only through SQLite's URI instead
    ro = open_store(f"sqlite:///file:{path}?mode=ro&uri=true", migrate=False)
    with pytest.raises(StoreError, match="read-only"), ro.session() as ses:
        ses.add(
            User(
                username="new",
                display_name="",
                role="operator",
                password_hash="x",
                created_at=dt.datetime.now(dt.UTC),
            )
        )
    ro.close()
    again = open_store(f"sqlite:///{path}")
    with again.read() as ses:
        assert ses.scalars(select(User.username)).all() == ["kept"]
    again.close()


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="does not exist"):
        open_store(f"sqlite:///{tmp_path / 'nope' / 'x.sqlite3'}")
