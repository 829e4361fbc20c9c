"""The proof with real processes: the backend stopped, failing, hanging, resetting, slow; sync workers
killed -9 mid-batch; a process killed -9 right after saving a ticket. Afterwards the backend holds
every ticket exactly once, every department update is applied once and the outbox is empty.

SQLite with one worker; PostgreSQL with two concurrent workers (and the backend on PostgreSQL too).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from helpers.pgserver import free_port
from helpers.syncrig import LEAVES, Backend, Procs, base_env, now, wait_until
from sqlalchemy import func, select

from store.db import Store, open_store
from store.models import OutboxEntry, Ticket, TicketEvent
from store.tickets import Actor, apply_command, create_ticket, draft_from

OPERATOR = Actor("tester", "operator")
HERE = Path(__file__).resolve().parent


def add_tickets(store: Store, prefix: str, n: int) -> None:
    for i in range(n):
        with store.session() as session:
            draft = draft_from(
                {
                    "nature": "投诉",
                    "description": f"测试 {prefix} {i}",
                    "leaf_code": LEAVES[i % 3],
                    "caller_phone": "13800138000",
                    "caller_name": "张三",
                    "channel": "phone",
                }
            )
            create_ticket(session, draft, OPERATOR, now(), client_request_id=f"{prefix}-{i}")


def outbox_count(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxEntry)) or 0)


def local_ids(store: Store) -> set[str]:
    with store.read() as session:
        return set(session.scalars(select(Ticket.client_request_id)))


@pytest.fixture
def rig(
    store_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[tuple[Store, Backend, FaultProxy, Procs]]:
    pg = store_url.startswith("postgresql")
    if pg:
        server = request.getfixturevalue("pg_server")
        backend_db = server.create_db()
        backend_url = server.url(backend_db)
    else:
        backend_url = f"sqlite:///{tmp_path / 'backend.sqlite3'}"
    store = open_store(store_url)
    procs = Procs(tmp_path, {})
    backend = Backend(procs, free_port(), backend_url)
    proxy = FaultProxy(backend.port)
    proxy.start()
    procs.env = base_env(tmp_path, store_url, proxy.url)
    try:
        backend.start()
        yield store, backend, proxy, procs
    finally:
        procs.close()
        proxy.stop()
        store.close()
        if pg:
            server.drop_db(backend_db)


def save_and_die(store_url: str, client_id: str, env: dict[str, str]) -> None:
    proc = subprocess.run(
        [sys.executable, str(HERE / "save_and_die.py"), store_url, client_id, LEAVES[0]],
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]


@pytest.mark.slow
def test_nothing_lost_nothing_twice(rig: tuple[Store, Backend, FaultProxy, Procs], store_url: str) -> None:
    store, backend, proxy, procs = rig
    n_workers = 2 if store.dialect == "postgresql" else 1
    workers = [procs.spawn("sync", name=f"worker{i}") for i in range(n_workers)]
    add_tickets(store, "ok", 15)
    wait_until(lambda: len(backend.client_ids()) >= 15, 30, "the first tickets to arrive")

    # the backend stopped for a while
    backend.kill()
    add_tickets(store, "down", 15)
    time.sleep(2.0)
    backend.start()

    # the link misbehaving, each for a while, with tickets saved meanwhile
    for mode in ("error500", "retry_after", "hang", "reset"):
        proxy.mode = mode
        add_tickets(store, mode, 8)
        time.sleep(1.2)
        proxy.mode = "pass"
        time.sleep(0.3)

    # a slow link, and the workers killed -9 in the middle of their batches, several times
    proxy.mode, proxy.delay = "slow", 0.05
    add_tickets(store, "killed", 30)
    for round_ in range(3):
        seen = len(backend.client_ids())
        wait_until(lambda seen=seen: len(backend.client_ids()) > seen, 20, "a batch in flight")
        for i, proc in enumerate(workers):
            procs.kill9(proc)
            workers[i] = procs.spawn("sync", name=f"worker{i}-{round_}")
    proxy.mode = "pass"

    # a process killed -9 right after it saved a ticket
    for i in range(3):
        save_and_die(store_url, f"died-{i}", dict(procs.env))

    wait_until(lambda: outbox_count(store) == 0, 40, "the outbox to drain")
    expected = local_ids(store)
    assert len(expected) == 15 * 2 + 8 * 4 + 30 + 3
    on_backend = backend.client_ids()
    assert len(on_backend) == len(set(on_backend)), "a ticket reached the backend twice"
    assert set(on_backend) == expected

    # departments act; each update is applied once, through the lifecycle
    with store.session() as session:
        tickets = list(session.scalars(select(Ticket)))
        for ticket in tickets:
            apply_command(session, ticket, "dispatch", OPERATOR, now(), department="城管局")
    wait_until(lambda: outbox_count(store) == 0, 30, "the dispatches to be sent")
    with store.read() as session:
        srids = {t.client_request_id: t.backend_id for t in session.scalars(select(Ticket))}
    assert all(srids.values())
    for i, (_cid, srid) in enumerate(sorted(srids.items())):
        backend.act(srid, "accept")
        if i % 2 == 0:
            backend.act(srid, "reply", description="已处理")
        if i == 3:  # a kill in the middle of the feed too
            for j, proc in enumerate(workers):
                procs.kill9(proc)
                workers[j] = procs.spawn("sync", name=f"worker{j}-feed")

    def applied() -> bool:
        with store.read() as session:
            done = Counter(session.scalars(select(Ticket.status)))
        return done["已答复"] == (len(srids) + 1) // 2 and done["已签收"] == len(srids) // 2

    wait_until(applied, 40, "the department updates to be applied")
    with store.read() as session:
        accepts = Counter(
            session.scalars(
                select(TicketEvent.ticket_id).where(
                    TicketEvent.command == "accept", TicketEvent.field == "status"
                )
            )
        )
        replies = Counter(
            session.scalars(
                select(TicketEvent.ticket_id).where(
                    TicketEvent.command == "reply", TicketEvent.field == "status"
                )
            )
        )
    assert set(accepts.values()) == {1} and len(accepts) == len(srids)
    assert set(replies.values()) == {1} and len(replies) == (len(srids) + 1) // 2
    hotline = Counter(u["client_request_id"] for u in backend.feed() if u["source"] == "hotline")
    assert set(hotline.values()) == {1} and len(hotline) == len(srids)  # each dispatch reported once
    assert outbox_count(store) == 0
    logs = "".join(p.read_text(encoding="utf-8", errors="replace") for p in procs.tmp.glob("*.out"))
    logs += (procs.tmp / "hotline.log").read_text(encoding="utf-8")
    for personal in ("13800138000", "張三", "张三", "测试 "):
        assert personal not in logs, f"personal data {personal!r} in a log"
    assert "Traceback" not in logs
