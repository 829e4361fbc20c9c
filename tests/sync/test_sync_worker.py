"""The sync worker in process, over a real store (SQLite and PostgreSQL) and a real HTTP backend."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest
from faultproxy import FaultProxy
from helpers.syncrig import API_KEY, LEAVES, LiveBackend, now, wait_until
from sqlalchemy import delete, func, select, update

from store.backend_client import RemoteUpdate
from store.db import Store
from store.models import OutboxEntry, SyncCursor, Ticket, TicketEvent
from store.open311_client import Open311Client, create_form, parse_retry_after
from store.sync import CircuitBreaker, RoundResult, SyncSettings, SyncThread, SyncWorker, backoff, sync_status
from store.tickets import Actor, apply_command, create_ticket, draft_from, replay, ticket_fields

OPERATOR = Actor("tester", "operator")
FAST = SyncSettings(
    batch_size=20, interval=0.1, backoff_base=0.05, backoff_max=0.5, breaker_failures=2, breaker_reset=0.5
)


def add(store: Store, cid: str, leaf: str | None = LEAVES[0]) -> None:
    with store.session() as session:
        draft = draft_from(
            {"nature": "求助", "description": "井盖缺失", "leaf_code": leaf, "caller_phone": "13800138000"}
        )
        create_ticket(session, draft, OPERATOR, now(), client_request_id=cid)


def worker_for(store: Store, url: str, settings: SyncSettings = FAST) -> SyncWorker:
    return SyncWorker(store, Open311Client(url, API_KEY, timeout=1.0), settings, rng=random.Random(1))


@pytest.fixture
def worker(store: Store, live_backend: LiveBackend) -> Iterator[SyncWorker]:
    w = worker_for(store, live_backend.url)
    yield w
    w.close()
    w.client.close()


def settle(w: SyncWorker) -> tuple[RoundResult, float]:
    """One round, and the batch it put on the wire recorded too (the SQLite pipeline)."""
    result, delay = w.step(pull=True)
    w.finish_inflight(result)
    return result, delay


# --- pure pieces ----------------------------------------------------------------------------------


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [backoff(a, 1.0, 30.0, rng) for a in range(1, 10)]
    for attempt, d in enumerate(delays, start=1):
        full = min(30.0, 2 ** (attempt - 1))
        assert full / 2 <= d <= full
    assert max(delays) <= 30.0


def test_breaker_opens_after_failures_then_lets_one_probe() -> None:
    t = [0.0]
    breaker = CircuitBreaker(failures=3, reset=10.0, clock=lambda: t[0])
    for _ in range(2):
        breaker.failure()
    assert breaker.state == "closed"
    breaker.failure()
    assert breaker.state == "open" and breaker.wait() == 10.0
    t[0] = 10.0
    assert breaker.state == "half-open" and breaker.wait() == 0
    breaker.failure()  # the probe failed: open again at once
    assert breaker.state == "open"
    t[0] = 21.0
    breaker.success()
    assert breaker.state == "closed"


def test_retry_after_header_forms() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_create_form_carries_the_idempotency_attribute_and_no_phone_without_consent() -> None:
    ticket = {
        "client_request_id": "c-1",
        "leaf_code": "101001",
        "description": "d",
        "district": "铁东区",
        "address": "胜利路",
        "caller_phone": "+8613800138000",
        "callback_consent": False,
        "number": "AS1",
    }
    form = create_form(ticket, "k")
    assert form["attribute[client_request_id]"] == "c-1" and form["service_code"] == "101001"
    assert form["address_string"] == "铁东区 胜利路" and "phone" not in form


# --- against the real backend ---------------------------------------------------------------------


def test_tickets_reach_the_backend_once_and_are_linked(
    store: Store, worker: SyncWorker, live_backend: LiveBackend
) -> None:
    for i in range(25):
        add(store, f"c-{i}")
    result = worker.run_until_idle(deadline_s=30)
    assert result.sent == 25 and result.failed == 0
    assert sorted(live_backend.client_ids()) == sorted(f"c-{i}" for i in range(25))
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(OutboxEntry)) == 0
        linked = session.scalars(select(Ticket.backend_id)).all()
        status = sync_status(session)
    assert all(linked) and len(set(linked)) == 25
    assert status.backlog == 0 and status.attention == 0 and status.last_success is not None
    assert_linked_once_and_audited(store, 25)


def assert_linked_once_and_audited(store: Store, n: int) -> None:
    """Each ticket has one ``link_backend`` event by the backend, and its events rebuild its row."""
    with store.read() as session:
        tickets = session.scalars(select(Ticket)).all()
        assert len(tickets) == n
        for ticket in tickets:
            links = [e for e in ticket.events if e.command == "link_backend"]
            assert [(e.actor, e.field, e.old) for e in links] == [("backend", "backend_id", None)]
            assert ticket.version == 2 and links[0].seq == max(e.seq for e in ticket.events)
            row = ticket_fields(ticket)
            row.pop("id")
            assert replay(ticket.events) == row


def test_a_rejected_entry_needs_attention_without_blocking_others(
    store: Store, worker: SyncWorker, live_backend: LiveBackend
) -> None:
    add(store, "bad", leaf="NO-SUCH-LEAF")
    add(store, "good")
    with store.session() as session:  # a change of the bad ticket waits behind its create
        bad = session.scalars(select(Ticket).where(Ticket.client_request_id == "bad")).one()
        apply_command(session, bad, "dispatch", OPERATOR, now(), department="城管局")
    worker.run_until_idle(deadline_s=30)
    assert live_backend.client_ids() == ["good"]
    with store.read() as session:
        rows = session.execute(
            select(OutboxEntry.kind, OutboxEntry.state, OutboxEntry.last_error).order_by(OutboxEntry.id)
        ).all()
        status = sync_status(session)
    assert [(k, s) for k, s, _ in rows] == [("create", "attention"), ("update", "attention")]
    assert "service_code" in rows[0][2]  # the server's own message
    assert status.attention == 2 and status.backlog == 0


def test_department_updates_are_applied_once(
    store: Store, worker: SyncWorker, live_backend: LiveBackend
) -> None:
    add(store, "u-1")
    worker.run_until_idle(deadline_s=30)
    with store.session() as session:
        ticket = session.scalars(select(Ticket)).one()
        apply_command(session, ticket, "dispatch", OPERATOR, now(), department="城管局")
        srid = ticket.backend_id
    assert srid
    assert live_backend.act(srid, "accept").status_code == 201
    assert (
        live_backend.act(srid, "request_extension", reason="材料未到", extension_days="3").status_code == 201
    )
    worker.run_until_idle(deadline_s=30)
    with store.read() as session:
        ticket = session.scalars(select(Ticket)).one()
        assert (ticket.status, ticket.extension, ticket.extension_days) == ("已签收", "requested", 3)
        events = session.scalar(select(func.count()).select_from(TicketEvent))
    with store.session() as session:  # the cursor lost: the same updates come again and change nothing
        session.execute(delete(SyncCursor).where(SyncCursor.name == "feed"))
    again = worker.run_until_idle(deadline_s=30)
    assert again.pulled >= 2 and again.applied == 0
    with store.read() as session:
        assert session.scalar(select(func.count()).select_from(TicketEvent)) == events


def test_hotline_echoes_and_unknown_requests_are_skipped(store: Store, worker: SyncWorker) -> None:
    add(store, "e-1")
    with store.session() as session:
        from store.sync import _apply_update

        echo = RemoteUpdate("1", "1", "e-1", "dispatch", "hotline", "")
        unknown = RemoteUpdate("2", "999", "nobody", "accept", "department", "")
        assert _apply_update(session, echo, now()) == 0
        assert _apply_update(session, unknown, now()) == 0


def test_server_errors_are_retried_and_retry_after_is_honoured(
    store: Store, live_backend: LiveBackend
) -> None:
    proxy = FaultProxy(int(live_backend.url.rsplit(":", 1)[1]))
    proxy.start()
    w = worker_for(
        store,
        proxy.url,
        SyncSettings(backoff_base=0.05, backoff_max=0.5, breaker_failures=4, breaker_reset=0.5),
    )
    try:
        add(store, "r-1")
        proxy.mode = "retry_after"
        result, delay = settle(w)
        assert result.failed == 1 and delay >= 1.0
        with store.read() as session:
            entry = session.scalars(select(OutboxEntry)).one()
        assert entry.state == "pending" and entry.attempts == 1 and entry.next_attempt_at > now()
        assert "503" in (entry.last_error or "")
        for mode in ("error500", "reset", "hang"):
            proxy.mode = mode
            with store.session() as session:
                session.execute(update(OutboxEntry).values(next_attempt_at=now()))
            result, _ = settle(w)
            assert result.failed == 1 and result.sent == 0, mode
        assert w.breaker.state in ("open", "half-open")
        proxy.mode = "pass"
        wait_until(lambda: w.breaker.wait() == 0, 5, "the breaker to half-open")
        with store.session() as session:
            session.execute(update(OutboxEntry).values(next_attempt_at=now()))
        result, _ = settle(w)  # the probe
        assert result.sent == 1 and w.breaker.state == "closed"
        assert live_backend.client_ids() == ["r-1"]
    finally:
        w.close()
        w.client.close()
        proxy.stop()


def test_a_whole_failed_batch_is_rescheduled_entry_by_entry(store: Store, live_backend: LiveBackend) -> None:
    proxy = FaultProxy(int(live_backend.url.rsplit(":", 1)[1]))
    proxy.start()
    w = worker_for(store, proxy.url)
    try:
        for i in range(6):
            add(store, f"down-{i}")
        with store.session() as session:  # one entry retried before: its own count goes on
            session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == session.scalar(select(func.min(OutboxEntry.id))))
                .values(attempts=3)
            )
        proxy.mode = "error500"
        result, _ = settle(w)
        assert result.failed == 6 and result.sent == 0
        with store.read() as session:
            entries = session.scalars(select(OutboxEntry).order_by(OutboxEntry.id)).all()
        assert [e.attempts for e in entries] == [4, 1, 1, 1, 1, 1]
        assert all(
            e.state == "pending" and e.next_attempt_at > now() and "500" in (e.last_error or "")
            for e in entries
        )
        with store.read() as session:
            assert (
                session.scalar(
                    select(func.count()).select_from(TicketEvent).where(TicketEvent.command == "link_backend")
                )
                == 0
            )
    finally:
        w.close()
        w.client.close()
        proxy.stop()


def test_sync_thread_sends_soon_after_notify(store: Store, live_backend: LiveBackend) -> None:
    thread = SyncThread(worker_for(store, live_backend.url, SyncSettings(interval=30.0)))
    thread.start()
    try:
        add(store, "t-1")
        thread.notify()
        wait_until(lambda: live_backend.client_ids() == ["t-1"], 10, "the ticket to be sent")
    finally:
        thread.stop()


def test_hotline_tickets_create_json_file(
    tmp_path: Path, sqlite_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from console.cli import main
    from store.db import open_store

    config = tmp_path / "config.toml"
    config.touch()
    monkeypatch.setenv("HOTLINE_CONFIG", str(config))
    monkeypatch.setenv("HOTLINE_STORE__URL", sqlite_url)
    monkeypatch.setenv("HOTLINE_LOGGING__FILE", str(tmp_path / "log.jsonl"))
    good = {
        "caller_phone": "13800138000",
        "caller_name": "李四",
        "nature": "投诉",
        "board": "群众诉求",
        "leaf_code": LEAVES[0],
        "district": "铁东区",
        "address": "胜利路1号",
        "description": "噪音扰民",
        "urgency": "一般",
        "channel": "web",
    }
    entries = [
        good,
        {**good, "nature": "抱怨"},
        "not an object",
        {**good, "client_request_id": "web-7"},
        {**good, "description": ""},
    ]
    path = tmp_path / "in.json"
    path.write_text(json.dumps(entries, ensure_ascii=False), encoding="utf-8")
    assert main(["tickets", "create", "--json-file", str(path)]) == 1
    out, err = capsys.readouterr()
    numbers = json.loads(out)
    assert len(numbers) == 2
    assert "entry 1:" in err and "entry 2:" in err and "entry 4:" in err and "entry 0" not in err
    assert main(["tickets", "create", "--json-file", str(path)]) == 1  # web-7 again: the same ticket
    again = json.loads(capsys.readouterr()[0])
    assert again[1] == numbers[1] and again[0] != numbers[0]
    store = open_store(sqlite_url)
    try:
        with store.read() as session:
            assert session.scalar(select(func.count()).select_from(Ticket)) == 3
            assert session.scalar(select(func.count()).select_from(OutboxEntry)) == 3
    finally:
        store.close()
    path.write_text("{broken", encoding="utf-8")
    assert main(["tickets", "create", "--json-file", str(path)]) == 1
    assert "cannot read" in capsys.readouterr()[1]


class CountingClient(Open311Client):
    """Records every create it sends (list.append is atomic under the GIL)."""

    def __init__(self, url: str, sent: list[str]) -> None:
        super().__init__(url, API_KEY, timeout=5.0)
        self.sent = sent

    def create(self, ticket):  # type: ignore[no-untyped-def]
        self.sent.append(ticket["client_request_id"])
        return super().create(ticket)


@pytest.mark.postgres
def test_two_workers_on_postgresql_never_send_an_entry_twice(pg_url: str, live_backend: LiveBackend) -> None:
    import threading

    from store.db import open_store

    store = open_store(pg_url)
    sent: list[str] = []
    workers = [
        SyncWorker(store, CountingClient(live_backend.url, sent), SyncSettings(batch_size=5, senders=2))
        for _ in range(2)
    ]
    try:
        for i in range(60):
            add(store, f"pg-{i}")
        threads = [threading.Thread(target=w.run_until_idle, kwargs={"deadline_s": 60}) for w in workers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(90)
        with store.read() as session:
            left = session.scalar(select(func.count()).select_from(OutboxEntry))
        assert left == 0
        assert sorted(sent) == sorted(f"pg-{i}" for i in range(60))  # each exactly once
        assert_linked_once_and_audited(store, 60)
    finally:
        for w in workers:
            w.close()
            w.client.close()
        store.close()
