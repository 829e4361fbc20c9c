"""Shared fixtures: a fresh store on SQLite and on a real PostgreSQL server.

``store_url`` / ``store`` are parametrised over both backends; PostgreSQL cases carry the
``postgres`` mark. Without PostgreSQL binaries they are skipped, unless HOTLINE_REQUIRE_PG=1 (set
by .ci/run), where a missing server is an error.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.pgserver import PgServer, find_pg_bin, running_pg

from store.db import Store, make_engine, open_store, upgrade


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    if find_pg_bin() is None and not os.environ.get("HOTLINE_TEST_PG_URL"):
        if os.environ.get("HOTLINE_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL is required (HOTLINE_REQUIRE_PG=1) but initdb/pg_ctl are missing")
        pytest.skip("PostgreSQL binaries not installed")
    with running_pg() as server:
        yield server


@pytest.fixture(scope="session")
def pg_template(pg_server: PgServer) -> str:
    """A database migrated once; each test clones it (CREATE DATABASE ... TEMPLATE)."""
    name = pg_server.create_db()
    engine = make_engine(pg_server.url(name))
    upgrade(engine)
    engine.dispose()
    return name


@pytest.fixture
def pg_url(pg_server: PgServer, pg_template: str) -> Iterator[str]:
    name = pg_server.create_db(template=pg_template)
    yield pg_server.url(name)
    pg_server.drop_db(name)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hotline.sqlite3'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hotline.sqlite3'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[Store]:
    s = open_store(sqlite_url)
    yield s
    s.close()
