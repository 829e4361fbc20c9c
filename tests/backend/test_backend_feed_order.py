"""The update feed on PostgreSQL with concurrent writers: a reader following the cursor never skips an
update (an id must never become visible after a later one was read)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from citybackend.app import BackendSettings, Service, build_app
from citybackend.records import Update, append_update
from citybackend.tables import create_engine
from citybackend.tables import requests as requests_t

KEY = "feed-key"
WRITERS, PER_WRITER = 4, 40


@pytest.fixture
def pg_engine(pg_server) -> Iterator[sa.Engine]:  # type: ignore[no-untyped-def]
    name = pg_server.create_db()
    engine = create_engine(pg_server.url(name))
    with engine.begin() as conn:  # widen the window between an id's assignment and its commit
        conn.execute(
            sa.text(
                "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN PERFORM pg_sleep(random() * 0.01); RETURN NEW; END $$"
            )
        )
        conn.execute(
            sa.text(
                "CREATE TRIGGER slow AFTER INSERT ON open311_updates FOR EACH ROW "
                "EXECUTE FUNCTION slow_insert()"
            )
        )
    yield engine
    engine.dispose()
    pg_server.drop_db(name)


@pytest.mark.postgres
def test_a_cursor_reader_sees_every_update_of_concurrent_writers(pg_engine: sa.Engine) -> None:
    now = sa.func.now()
    with pg_engine.begin() as conn:  # one request per writer: no row lock serialises them
        for i in range(WRITERS):
            conn.execute(
                sa.insert(requests_t).values(
                    client_request_id=f"c{i}",
                    service_code="L",
                    status="open",
                    description="",
                    address="",
                    attributes={},
                    requested_datetime=now,
                    updated_datetime=now,
                )
            )
    client = TestClient(
        build_app(BackendSettings(engine=pg_engine, services=[Service("L", "l", "g")], api_keys=[KEY]))
    )
    done = threading.Event()

    def write(srid: int) -> None:
        for _ in range(PER_WRITER):
            append_update(pg_engine, Update(srid, "accept", "", "department"))

    writers = [threading.Thread(target=write, args=(i + 1,)) for i in range(WRITERS)]
    for t in writers:
        t.start()
    seen: list[int] = []
    cursor = 0
    for _ in range(10_000):  # bounded; follows the cursor as a sync worker does
        finished = done.is_set()
        page = client.get("/servicerequestupdates.json", params={"after": cursor, "page_size": 7}).json()
        seen += [int(u["update_id"]) for u in page]
        cursor = seen[-1] if seen else 0
        if finished and not page:
            break
        if not any(t.is_alive() for t in writers):
            done.set()
    for t in writers:
        t.join(30)
    with pg_engine.connect() as conn:
        all_ids = (
            conn.execute(sa.text("SELECT update_id FROM open311_updates ORDER BY update_id")).scalars().all()
        )
    assert len(all_ids) == WRITERS * PER_WRITER
    assert seen == list(all_ids)
