"""The history generator: a realistic, reproducible hotline history for demos and benchmarks.

``seed(store, tickets=N, days=D, seed=S)`` simulates N work orders created over the D days before
``until`` (default: now) and writes them with their callers, inbound calls (answered, abandoned,
ghost calls rejected by the operator), outbound 回访 calls, evaluations and every TicketEvent.

* Arrivals follow a day/night curve (quiet 0-6 h, peaks mid-morning and mid-afternoon), fewer at
  weekends, more heating complaints in the heating season; some callers call again and again.
* Each ticket is driven through the real lifecycle (``store.lifecycle.plan``, the same pure function
  the ticket service uses), so its events replay to its row: 直接办结 from the knowledge base, or
  派单 → 签收 → 办理中 → 答复 → 办结 → 回访, with late acceptances and replies, 退单 → 改派, 延期
  requested and approved or refused, 催办 and 督办, 不满意 → 重办, 并单 and 归档. Steps whose time is
  after ``until`` do not happen, so recent tickets are still open, as in a live centre.
* Deadlines come from a ``DeadlineCalculator`` (the configured policy plus each leaf's limit).

The simulator is ``store.seed_history``, the data it draws from ``store.seed_data``, the bulk writer
``store.seed_writer``; this module runs them.

Speed: everything is simulated in memory and bulk-inserted through the driver, a batch of tickets
per transaction; ids are assigned here (tables locked per batch on PostgreSQL, whose sequences are then
moved past them), ticket numbers are reserved through ``store.numbering.reserve_numbers`` so the ticket
service continues after them, and the KPI roll-ups are rebuilt once at the end. The seeded history is
treated as already synchronised: no outbox rows.

The default leaf tree (``store.seed_data.PLACEHOLDER_LEAVES``) is a placeholder; pass ``leaves=``
(``leaves_from_taxonomy``) to use the real dispatch catalogue.

``unsent_tickets`` / ``link_seeded`` let a demo put the seeded history into its own city backend
and record the backend ids, so later changes of a seeded ticket (a 回访, a 重办) sync like any other.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import structlog
from sqlalchemy import Connection, exists, select
from sqlalchemy.orm import Session

from store.db import Store
from store.deadlines import DeadlineCalculator, DeadlinePolicy
from store.kpi.rollups import rebuild_rollups
from store.models import Caller, OutboxEntry, Ticket
from store.numbering import DEFAULT_PREFIX, format_number, reserve_numbers
from store.seed_data import PLACEHOLDER_LEAVES, TICKETS_PER_DAY, SeedLeaf
from store.seed_history import Encoder, History, Simulator, arrivals, intake_calls
from store.seed_writer import Batch, Ids, advance_sequences, db_time_of, lock_for_bulk, next_ids, write_batch
from store.tickets import Actor, link_backend_many
from store.workcal import SHANGHAI

log = structlog.get_logger(__name__)

__all__ = ["SeedReport", "UnsentTicket", "link_seeded", "seed", "unsent_tickets"]


@dataclass
class SeedReport:
    """What ``seed`` wrote, and how long it took."""

    tickets: int = 0
    events: int = 0
    calls: int = 0
    callers: int = 0
    evaluations: int = 0
    refused_steps: int = 0  # simulated steps the lifecycle refused (skipped)
    seconds: float = 0.0
    by_status: Counter[str] = field(default_factory=Counter)


def seed(
    store: Store,
    tickets: int = 1000,
    days: int | None = None,
    seed: int = 0,
    *,
    leaves: Sequence[SeedLeaf] = PLACEHOLDER_LEAVES,
    taxonomy_version: str | None = None,
    policy: DeadlinePolicy | None = None,
    until: dt.datetime | None = None,
    prefix: str = DEFAULT_PREFIX,
    batch_size: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> SeedReport:
    """Write a simulated history of ``tickets`` work orders over the ``days`` days before ``until``
    (default: the seed platform's pace of about 1,400 a day)."""
    days = days if days is not None else max(1, -(-tickets // TICKETS_PER_DAY))
    if tickets < 0 or days < 1:
        raise ValueError("tickets must be >= 0 and days >= 1")
    if not leaves:
        raise ValueError("no leaves to seed from")
    started = time.perf_counter()
    rng = random.Random(seed)
    until = (until or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    calc = DeadlineCalculator(policy, leaf_limits={leaf.code: leaf.limit for leaf in leaves if leaf.limit})
    if taxonomy_version is None and leaves is PLACEHOLDER_LEAVES:
        taxonomy_version = "placeholder-1"
    history = History(rng, calc, leaves, until, tickets, taxonomy_version)
    report = SeedReport()
    encode = Encoder()
    times = arrivals(rng, tickets, days, until)
    seen_callers: dict[int, int] = {}  # caller index → id
    run = uuid.UUID(int=rng.getrandbits(128)).hex[:12]
    for start in range(0, tickets, batch_size):
        chunk = times[start : start + batch_size]
        with store.engine.begin() as conn:
            lock_for_bulk(conn)
            ids = next_ids(conn)
            numbers = _reserve(conn, chunk, prefix)
            batch = Batch()
            sim = Simulator(rng, calc, until, batch, ids, encode, db_time_of(conn))
            who = [history.caller_index() for _ in chunk]
            _assign_callers(conn, history, who, chunk, seen_callers, ids, batch)
            for i, at in enumerate(chunk):
                idx = who[i]
                caller_id = seen_callers[idx]
                ticket_id = ids.ticket
                ids.ticket += 1
                history.story(sim, ticket_id, numbers[i], f"seed-{run}-{start + i}", at, caller_id, idx)
                if sim.row["channel"] == "phone":
                    intake_calls(rng, batch, caller_id, history.phone(idx), at, ticket_id)
                batch.tickets.append(sim.ticket_row())
                report.by_status[sim.row["status"]] += 1
            write_batch(conn, batch)
            advance_sequences(conn)
        report.refused_steps += sim.refused_steps
        report.evaluations += sim.evaluations
        report.tickets += len(batch.tickets)
        report.events += len(batch.events)
        report.calls += len(batch.calls)
        report.callers += len(batch.callers)
        if progress:
            progress(report.tickets, tickets)
    # the triggers of migration 0003 marked every seeded day dirty: one rebuild (one pass over the
    # tickets) clears them, so the first report after a seed reads the roll-ups at once
    with store.engine.begin() as conn:
        rebuild_rollups(conn)
    report.seconds = time.perf_counter() - started
    log.info(
        "seed.done",
        tickets=report.tickets,
        events=report.events,
        calls=report.calls,
        seconds=round(report.seconds, 1),
    )
    return report


def _assign_callers(
    conn: Connection,
    history: History,
    who: list[int],
    chunk: Sequence[dt.datetime],
    seen: dict[int, int],
    ids: Ids,
    batch: Batch,
) -> None:
    """Caller ids for the chunk: known ones, ones already in the store (same phone: the same citizen
    calling again, e.g. from an earlier seed), or new rows."""
    first_call: dict[int, dt.datetime] = {}
    for idx, at in zip(who, chunk, strict=True):
        if idx not in seen:
            first_call.setdefault(idx, at)
    phones = {history.phone(idx): idx for idx in first_call}
    names = list(phones)
    for i in range(0, len(names), 5000):
        part = names[i : i + 5000]
        for phone, caller_id in conn.execute(select(Caller.phone, Caller.id).where(Caller.phone.in_(part))):
            seen[phones.pop(phone)] = caller_id
    for phone, idx in phones.items():
        seen[idx] = ids.caller
        batch.callers.append(
            {
                "id": ids.caller,
                "phone": phone,
                "name": history.caller_name(idx),
                "created_at": first_call[idx],
            }
        )
        ids.caller += 1


def _reserve(conn: Connection, chunk: Sequence[dt.datetime], prefix: str) -> list[str]:
    """Ticket numbers for the chunk, reserved from the per-day counters the ticket service uses."""
    # reserve_numbers works on a session: bind one to this connection
    per_day = Counter(at.astimezone(SHANGHAI).date() for at in chunk)
    with Session(bind=conn) as session:
        ranges = {day: iter(reserve_numbers(session, day, n, prefix)) for day, n in sorted(per_day.items())}
    out = []
    for at in chunk:
        day = at.astimezone(SHANGHAI).date()
        out.append(format_number(prefix, day.strftime("%Y%m%d"), next(ranges[day])))
    return out


# --- the demo's city backend -----------------------------------------------------------------------


@dataclass(frozen=True)
class UnsentTicket:
    """A ticket the city backend has never seen and will not be sent (no backend id, no outbox
    entry): the seeded history, which is written as if already synchronised."""

    ticket_id: int
    client_request_id: str
    leaf_code: str | None
    status: str
    description: str
    address: str
    created_at: dt.datetime
    updated_at: dt.datetime


def unsent_tickets(store: Store) -> list[UnsentTicket]:
    """Every ticket without a backend id and without an outbox entry, oldest first."""
    queued = exists().where(OutboxEntry.ticket_id == Ticket.id)
    stmt = (
        select(
            Ticket.id,
            Ticket.client_request_id,
            Ticket.leaf_code,
            Ticket.status,
            Ticket.description,
            Ticket.address,
            Ticket.created_at,
            Ticket.updated_at,
        )
        .where(Ticket.backend_id.is_(None), ~queued)
        .order_by(Ticket.id)
    )
    with store.read() as session:
        return [
            UnsentTicket(r[0], r[1], r[2], r[3], r[4] or "", r[5] or "", r[6], r[7])
            for r in session.execute(stmt)
        ]


def link_seeded(store: Store, links: dict[int, str], *, chunk: int = 500) -> int:
    """Record the backend ids of tickets put straight into the backend (``link_backend`` events by
    the backend actor, as the sync worker writes them); returns how many were linked."""
    actor = Actor("backend", "backend")
    linked = 0
    ids = sorted(links)
    for start in range(0, len(ids), chunk):
        part = {i: links[i] for i in ids[start : start + chunk]}
        with store.session() as session:
            linked += link_backend_many(session, part, actor, dt.datetime.now(dt.UTC))
    return linked
