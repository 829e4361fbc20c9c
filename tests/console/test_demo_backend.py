"""The demo's city backend holds the seeded history: a 回访 recorded on a seeded ticket reaches the
backend like any other change, instead of waiting forever for a backend id (walkthrough item 14).

Real parts: a seeded SQLite store, the reference backend on loopback (uvicorn in a thread) and the
sync worker speaking Open311 to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from console.commands._demo_ui import (
    LoopbackBackend,
    publish_history,
    seed_demo_store,
    start_backend,
    with_backend,
)
from console.commands.sync import build_worker
from console.config import Config
from store.db import Store, open_store
from store.evaluations import record_evaluation
from store.models import Ticket, TicketEvent
from store.sync import attention_entries, sync_status
from store.tickets import Actor
from store.vocabulary import CLOSED
from taxonomy.model import Taxonomy, load_taxonomy


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@pytest.fixture
def seeded(tmp_path: Path, taxonomy: Taxonomy) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'demo.sqlite3'}")
    seed_demo_store(store, Config(), taxonomy, 80)
    yield store
    store.close()


@pytest.fixture
def backend(tmp_path: Path, taxonomy: Taxonomy) -> Iterator[LoopbackBackend]:
    running = start_backend(tmp_path, taxonomy)
    yield running
    running.stop()
    assert running.engine is not None
    running.engine.dispose()


def _visit_a_closed_ticket(store: Store) -> int:
    """满意 on a seeded 已办结 ticket, as the worklists record it: writes an outbox update."""
    with store.session() as s:
        ticket = s.scalars(select(Ticket).where(Ticket.status == CLOSED).order_by(Ticket.id)).first()
        assert ticket is not None, "the seed has closed tickets waiting for their 回访"
        record_evaluation(s, ticket, "满意", Actor("demo", "operator"), dt.datetime.now(dt.UTC))
        return ticket.id


def _sync(store: Store, backend: LoopbackBackend) -> None:
    worker = build_worker(store, with_backend(Config(), backend))
    try:
        worker.run_until_idle(deadline_s=30)
    finally:
        worker.close()


def test_the_seeded_history_is_at_the_backend_and_a_visit_syncs(
    seeded: Store, backend: LoopbackBackend
) -> None:
    assert backend.engine is not None
    assert publish_history(seeded, backend.engine) == 80
    with seeded.read() as s:
        linked = dict(s.execute(select(Ticket.client_request_id, Ticket.backend_id)).all())
        link_events = s.scalar(
            select(sa.func.count()).select_from(TicketEvent).where(TicketEvent.command == "link_backend")
        )
    with backend.engine.connect() as conn:
        at_backend: dict[str, int] = dict(
            conn.execute(sa.text("SELECT client_request_id, service_request_id FROM open311_requests")).all()
        )
    assert len(linked) == 80 and {k: str(v) for k, v in at_backend.items()} == linked
    assert link_events == 80  # audited like the sync worker's links
    assert publish_history(seeded, backend.engine) == 0  # a second start publishes nothing again

    ticket_id = _visit_a_closed_ticket(seeded)
    _sync(seeded, backend)
    with seeded.read() as s:
        status = sync_status(s)
        assert attention_entries(s) == [] and status.attention == 0 and status.backlog == 0
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None and ticket.backend_id is not None
        backend_id = ticket.backend_id
    with backend.engine.connect() as conn:
        updates = (
            conn.execute(
                sa.text("SELECT action FROM open311_updates WHERE service_request_id = :id"),
                {"id": int(backend_id)},
            )
            .scalars()
            .all()
        )
    assert updates, "the 回访 reached the backend"


def test_without_the_history_at_the_backend_the_visit_needs_attention(
    seeded: Store, backend: LoopbackBackend
) -> None:
    """The defect the demo had: the same 回访 on a ticket the backend never saw is stuck."""
    _visit_a_closed_ticket(seeded)
    _sync(seeded, backend)
    with seeded.read() as s:
        stuck = attention_entries(s)
    assert len(stuck) == 1 and "no backend id" in str(stuck[0])
