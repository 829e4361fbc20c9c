"""The sync worker: drains the outbox to the city backend and applies the backend's update feed.

Sending. Entries are claimed oldest first, only the oldest pending entry of each ticket (so one
ticket's changes reach the backend in order and a batch can be sent in parallel). On PostgreSQL the
claim is ``FOR UPDATE SKIP LOCKED`` inside a transaction held while the batch is sent: any number of
workers never send one entry twice, and a worker killed mid-batch releases its rows (they are sent
again, and the backend de-duplicates on the idempotency key). On SQLite the claim is a plain read
and the result is written in a short transaction afterwards (never holding the write lock across
the network): safe with one worker. Both are pipelined (batch k+1 on the wire while batch k is
recorded). A sent entry is deleted in the transaction that records the backend's id on the ticket
(``link_backend``, audited; a batch's links are written together by ``tickets.link_backend_many``).

Failures. ``BackendUnavailable`` (5xx, timeouts, refused/reset connections) is retried forever:
an entry the server answered (5xx/429) is rescheduled (exponential backoff with jitter, or the
server's ``Retry-After``), one without an answer (down, timeout, reset) is not; the worker backs
off as a whole, and after ``breaker_failures`` failed rounds a circuit breaker stops
all traffic for ``breaker_reset`` seconds, then lets one probe through. ``BackendRejected`` (a 4xx
retrying cannot fix) puts the entry in ``attention`` with the server's message; the ticket's other
entries and every other ticket carry on.

Receiving. The feed is read after a cursor kept in ``sync_cursor``; a page of updates is applied,
each through the lifecycle as the ``backend`` actor, in ONE transaction that also moves the cursor,
after checking that the cursor did not move meanwhile (another worker applied the page): each update
is applied once. An update the lifecycle refuses (e.g. 签收 of a ticket not dispatched) is logged
and skipped. Logs carry ids, numbers and commands only, never a citizen's data.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import CursorResult, Result, delete, exists, func, select, update
from sqlalchemy.exc import DatabaseError, IntegrityError, OperationalError
from sqlalchemy.orm import Session, aliased

from store.backend_client import BackendClient, BackendRejected, BackendUnavailable, RemoteUpdate
from store.db import Store, StoreError, utcnow
from store.lifecycle import LifecycleError
from store.models import OutboxEntry, SyncCursor, Ticket
from store.tickets import Actor, apply_command, link_backend_many
from store.vocabulary import OutboxKind

log = structlog.get_logger(__name__)

BACKEND_ACTOR = Actor("backend", "backend")
FEED_CURSOR = "feed"
LAST_SUCCESS = "status.last_success"
BREAKER_STATE = "status.breaker"
PENDING, ATTENTION = "pending", "attention"
MAX_ERROR_CHARS = 1000
# the department actions of the feed that we apply: each is the lifecycle command of that name
FEED_COMMANDS: frozenset[str] = frozenset(
    {"accept", "start", "reply", "close", "return", "request_extension"}
)


@dataclass(frozen=True)
class SyncSettings:
    """The ``[sync]`` section, passed in (config lives in the console)."""

    batch_size: int = 50
    interval: float = 5.0
    backoff_base: float = 2.0
    backoff_max: float = 300.0
    attention_after_attempts: int = 20  # entries retried this often count as "stuck" (still retried)
    breaker_failures: int = 5
    breaker_reset: float = 60.0
    senders: int = 4  # parallel requests within a batch (more only adds GIL contention: bench)
    feed_page: int = 200
    outbox_poll: float = 0.5  # idle: look at the (local) outbox this often; the feed every ``interval``


class CircuitBreaker:
    """closed → (``failures`` failed rounds) → open for ``reset`` s → half-open (one probe) → closed/open."""

    def __init__(self, failures: int, reset: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures, self.reset, self._clock = failures, reset, clock
        self._count = 0
        self._opened_at: float | None = None

    @property
    def state(self) -> str:
        if self._opened_at is None:
            return "closed"
        return "open" if self._clock() - self._opened_at < self.reset else "half-open"

    def wait(self) -> float:
        """Seconds until a probe is allowed (0 when closed or half-open)."""
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset - (self._clock() - self._opened_at))

    def success(self) -> None:
        self._count, self._opened_at = 0, None

    def failure(self) -> None:
        self._count += 1
        if self.state == "half-open" or self._count >= self.failures:
            self._opened_at = self._clock()


def backoff(attempt: int, base: float, cap: float, rng: random.Random) -> float:
    """Exponential backoff with jitter: a random delay in [d/2, d], d = min(cap, base·2^(attempt-1))."""
    delay = min(cap, base * 2 ** min(max(attempt - 1, 0), 30))
    return delay / 2 + rng.random() * delay / 2


@dataclass(frozen=True)
class Job:
    """One claimed outbox entry (plain data: it outlives the claiming session on SQLite)."""

    entry_id: int
    ticket_id: int
    kind: OutboxKind
    key: str
    payload: dict[str, Any]
    attempts: int
    backend_id: str | None
    blocked_by_attention: bool


@dataclass(frozen=True)
class Outcome:
    job: Job
    backend_id: str | None = None  # set when done
    rejected: str | None = None
    unavailable: str | None = None
    retry_after: float | None = None
    answered: bool = False  # the server answered (5xx/429): back this entry off, not only the worker

    @property
    def done(self) -> bool:
        return self.rejected is None and self.unavailable is None


@dataclass(frozen=True)
class _Batch:
    """A batch on the wire, and (PostgreSQL) the transaction holding its claimed rows."""

    outcomes: Future[list[Outcome]]
    session: Session | None


@dataclass
class RoundResult:
    """What one round (a batch and a feed page) did."""

    claimed: int = 0
    sent: int = 0
    attention: int = 0
    failed: int = 0
    applied: int = 0
    pulled: int = 0
    retry_after: float | None = None
    reached: bool = False  # the backend answered something (a sent entry, a 4xx, a feed page)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SyncStatus:
    """For the console's status bar and ``hotline sync --status``."""

    backlog: int
    attention: int
    stuck: int
    oldest_pending_at: dt.datetime | None
    last_success: dt.datetime | None
    breaker: str


class SyncWorker:
    """One worker over one store and one backend client. Not thread-safe: one thread runs it."""

    def __init__(
        self,
        store: Store,
        client: BackendClient,
        settings: SyncSettings | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.store, self.client = store, client
        self.settings = settings or SyncSettings()
        self.breaker = CircuitBreaker(self.settings.breaker_failures, self.settings.breaker_reset, clock)
        self._rng = rng or random.Random()
        self._pool = ThreadPoolExecutor(max_workers=self.settings.senders, thread_name_prefix="sync-send")
        self._batches = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-batch")
        self._sending: _Batch | None = None
        self._inflight: set[int] = set()
        self._failed_rounds = 0
        self._last_breaker = "closed"
        self._last_success_written = 0.0
        self._clock = clock
        self._last_pull: float | None = None
        self._feed_more = False

    def close(self) -> None:
        try:
            self.finish_inflight()
        finally:
            self._batches.shutdown(wait=True)
            self._pool.shutdown(wait=True)

    # --- one round ---------------------------------------------------------------------------------

    def step(self, *, pull: bool = False) -> tuple[RoundResult, float]:
        """One round; returns what it did and how long to wait before the next (0: more is ready).

        The feed is read when ``pull``, every ``interval`` s, or at once after a full page.
        """
        wait = self.breaker.wait()
        if wait > 0:
            return RoundResult(), wait
        probing = self.breaker.state == "half-open"
        result = RoundResult()
        self.drain_once(result, limit=1 if probing else self.settings.batch_size)
        if probing:  # the probe's verdict decides the breaker now, not next round
            self.finish_inflight(result)
        now_m = self._clock()
        due = (
            pull
            or self._feed_more
            or self._last_pull is None
            or now_m - self._last_pull >= self.settings.interval
        )
        if due and (not probing or result.reached):
            self._last_pull = now_m
            self.pull_once(result)
            self._feed_more = result.pulled >= self.settings.feed_page
        delay = self._after_round(result)
        return result, delay

    def _after_round(self, result: RoundResult) -> float:
        s = self.settings
        if result.reached:
            self._failed_rounds = 0
            self.breaker.success()
        elif result.failed or result.errors:
            self._failed_rounds += 1
            self.breaker.failure()
        # else: only a batch put on the wire, no verdict yet
        if (result.failed or result.errors) and not result.reached:
            delay = backoff(self._failed_rounds or 1, s.backoff_base, s.backoff_max, self._rng)
            delay = max(delay, result.retry_after or 0.0, self.breaker.wait())
        elif result.retry_after:
            delay = result.retry_after
        else:
            more = result.claimed >= s.batch_size or self._feed_more or self._sending is not None
            delay = 0.0 if more else min(s.interval, s.outbox_poll)
        self._write_status(result)
        return delay

    def drain_once(self, result: RoundResult | None = None, limit: int | None = None) -> RoundResult:
        """Claim a batch and put it on the wire; record the batch sent before it.

        Pipelined: batch k+1 is on the wire while batch k's outcomes are written. On PostgreSQL each
        batch has its own transaction holding its claimed rows (``FOR UPDATE SKIP LOCKED``) until its
        outcomes are recorded in it; on SQLite the claim is a plain read (one worker) and the outcomes
        are written in a short transaction of their own.
        """
        result = result or RoundResult()
        limit = limit or self.settings.batch_size
        claim_session: Session | None = None
        if self.store.dialect == "postgresql":
            claim_session = self.store.sessions()
            try:
                jobs = _claim(claim_session, limit, utcnow(), lock=True, exclude=self._inflight)
            except Exception:
                claim_session.close()
                raise
        else:
            with self.store.read() as session:
                jobs = _claim(session, limit, utcnow(), lock=False, exclude=self._inflight)
        previous = self._sending
        self._sending = None
        if jobs:
            self._sending = _Batch(self._batches.submit(self._send, jobs), claim_session)
            self._inflight |= {j.entry_id for j in jobs}
        elif claim_session is not None:
            claim_session.close()
        if previous is not None:
            self._record_batch(previous, result)
        result.claimed += len(jobs)
        return result

    def finish_inflight(self, result: RoundResult | None = None) -> RoundResult:
        """Wait for the batch on the wire and record it."""
        result = result or RoundResult()
        if self._sending is not None:
            batch, self._sending = self._sending, None
            self._record_batch(batch, result)
        return result

    def _record_batch(self, batch: _Batch, result: RoundResult) -> None:
        outcomes: list[Outcome] = []
        try:
            outcomes = batch.outcomes.result()
            if batch.session is None:
                with self.store.session() as session:
                    self._record(session, outcomes, result)
            else:
                try:
                    self._record(batch.session, outcomes, result)
                    batch.session.commit()
                except (OperationalError, DatabaseError) as exc:
                    batch.session.rollback()
                    raise StoreError(f"store: recording a sync batch failed: {exc.orig}") from exc
        finally:  # not recorded (store error): still pending in the store, claimable again
            if batch.session is not None:
                batch.session.close()
            self._inflight -= {o.job.entry_id for o in outcomes}

    def _send(self, jobs: Sequence[Job]) -> list[Outcome]:
        if len(jobs) <= 1:
            return [self._send_one(j) for j in jobs]
        return list(self._pool.map(self._send_one, jobs))

    def _send_one(self, job: Job) -> Outcome:
        try:
            if job.kind == "create":
                return Outcome(job, backend_id=self.client.create(job.payload["ticket"]))
            if job.backend_id is None:
                why = (
                    "an earlier change of this ticket needs attention"
                    if job.blocked_by_attention
                    else "the ticket has no backend id (it was never created there)"
                )
                return Outcome(job, rejected=why)
            self.client.update(job.backend_id, job.payload, job.key)
            return Outcome(job, backend_id=job.backend_id)
        except BackendRejected as exc:
            return Outcome(job, rejected=exc.message)
        except BackendUnavailable as exc:
            return Outcome(
                job, unavailable=exc.message, retry_after=exc.retry_after, answered=exc.status is not None
            )

    def _record(self, session: Session, outcomes: Sequence[Outcome], result: RoundResult) -> None:
        now = utcnow()
        done = [o for o in outcomes if o.done]
        # the whole batch's backend ids in a few statements (per ticket it was most of the worker's CPU)
        link_backend_many(
            session,
            {
                o.job.ticket_id: o.backend_id
                for o in done
                if o.job.kind == "create" and o.backend_id is not None
            },
            BACKEND_ACTOR,
            now,
        )
        if done:
            session.execute(delete(OutboxEntry).where(OutboxEntry.id.in_([o.job.entry_id for o in done])))
        attention: list[dict[str, Any]] = []
        retry: list[dict[str, Any]] = []
        for o in outcomes:
            if o.rejected is not None:
                attention.append(
                    {
                        "id": o.job.entry_id,
                        "state": ATTENTION,
                        "attempts": o.job.attempts + 1,
                        "last_error": o.rejected[:MAX_ERROR_CHARS],
                    }
                )
                log.warning("sync.attention", entry=o.job.entry_id, kind=o.job.kind, error=o.rejected[:200])
                result.attention += 1
            elif o.unavailable is not None:
                attempts = o.job.attempts + 1
                # no answer at all (down, timeout): the breaker and the worker's backoff pace the retries,
                # so the queue is not scattered into the future when the backend comes back
                delay = 0.0
                if o.answered:
                    delay = backoff(
                        attempts, self.settings.backoff_base, self.settings.backoff_max, self._rng
                    )
                delay = max(delay, o.retry_after or 0.0)
                retry.append(
                    {
                        "id": o.job.entry_id,
                        "attempts": attempts,
                        "next_attempt_at": now + dt.timedelta(seconds=delay),
                        "last_error": o.unavailable[:MAX_ERROR_CHARS],
                    }
                )
                result.failed += 1
                if o.retry_after is not None:
                    result.retry_after = max(result.retry_after or 0.0, o.retry_after)
        for rows in (attention, retry):
            if rows:  # UPDATE by primary key, one executemany (a whole batch fails while the backend is down)
                session.execute(update(OutboxEntry), rows)
        result.sent += len(done)
        if len(done) + result.attention:
            result.reached = True
        if done or result.failed:
            log.info("sync.batch", sent=len(done), failed=result.failed, attention=result.attention)

    # --- the update feed ---------------------------------------------------------------------------

    def pull_once(self, result: RoundResult | None = None) -> RoundResult:
        """Read one page of the feed and apply it (once, whatever other workers do)."""
        result = result or RoundResult()
        with self.store.read() as session:
            cursor = _cursor(session, FEED_CURSOR)
        if cursor is None:  # a row to lock and compare, so two workers never apply the first page twice
            with self.store.session() as session:
                _set_cursor(session, FEED_CURSOR, "0", utcnow(), only_if_missing=True)
            cursor = "0"
        try:
            updates = self.client.updates_after(cursor, self.settings.feed_page)
        except (BackendUnavailable, BackendRejected) as exc:
            result.errors.append(exc.message)
            if isinstance(exc, BackendUnavailable) and exc.retry_after is not None:
                result.retry_after = max(result.retry_after or 0.0, exc.retry_after)
            return result
        result.reached = True
        result.pulled += len(updates)
        if not updates:
            return result
        with self.store.session() as session:
            if _lock_cursor(session, FEED_CURSOR) != cursor:
                return result  # another worker applied this page meanwhile
            now = utcnow()
            for upd in updates:
                result.applied += _apply_update(session, upd, now)
            _set_cursor(session, FEED_CURSOR, updates[-1].update_id, now)
        log.info("sync.feed", pulled=len(updates), applied=result.applied, cursor=updates[-1].update_id)
        return result

    # --- loops -------------------------------------------------------------------------------------

    def run(self, stop: threading.Event, wake: threading.Event | None = None) -> None:
        """Rounds until ``stop`` is set; ``wake`` cuts a wait short (a ticket was just saved)."""
        wake = wake or threading.Event()
        while not stop.is_set():
            try:
                _result, delay = self.step()
            except StoreError as exc:
                log.warning("sync.store_error", error=str(exc))
                delay = self.settings.interval
            except Exception:  # a bug in one round must not stop the sync for good; it is logged
                log.exception("sync.round_failed")
                delay = self.settings.interval
            if delay > 0:
                wake.wait(delay)
                wake.clear()

    def run_until_idle(self, deadline_s: float | None = None) -> RoundResult:
        """Rounds until nothing is ready (or a round fails, or ``deadline_s`` passes): ``--once``."""
        total = RoundResult()
        start = self._clock()
        first = True
        while True:
            result, _delay = self.step(pull=first)
            first = False
            for name in ("claimed", "sent", "attention", "failed", "applied", "pulled"):
                setattr(total, name, getattr(total, name) + getattr(result, name))
            total.errors += result.errors
            recorded = result.sent + result.attention + result.failed
            idle = result.claimed == 0 and result.pulled == 0 and recorded == 0 and self._sending is None
            failed = bool(result.failed or result.errors)
            if idle or failed or (deadline_s is not None and self._clock() - start > deadline_s):
                self.finish_inflight(total)
                return total

    def _write_status(self, result: RoundResult) -> None:
        breaker = self.breaker.state
        progress = result.sent or result.pulled
        now_m = self._clock()
        write_success = progress and now_m - self._last_success_written > 1.0
        if breaker == self._last_breaker and not write_success:
            return
        now = utcnow()
        try:
            with self.store.session() as session:
                if breaker != self._last_breaker:
                    _set_cursor(session, BREAKER_STATE, breaker, now)
                    log.warning("sync.breaker", state=breaker)
                if write_success:
                    _set_cursor(session, LAST_SUCCESS, now.isoformat(), now)
        except StoreError as exc:
            log.warning("sync.status_not_saved", error=str(exc))
            return
        self._last_breaker = breaker
        if write_success:
            self._last_success_written = now_m


class SyncThread:
    """The worker in a background thread of the console: ``start()``, ``notify()`` after a save, ``stop()``."""

    def __init__(self, worker: SyncWorker) -> None:
        self.worker = worker
        self._stop, self._wake = threading.Event(), threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="sync-worker", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.worker.run(self._stop, self._wake)
        except Exception:  # a bug must not kill the console silently
            log.exception("sync.crashed")

    def notify(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        self.worker.close()
        self.worker.client.close()


# --- queries --------------------------------------------------------------------------------------


def _claim(
    session: Session, limit: int, now: dt.datetime, *, lock: bool, exclude: Iterable[int] = ()
) -> list[Job]:
    earlier = aliased(OutboxEntry)
    blocked = exists().where(
        earlier.ticket_id == OutboxEntry.ticket_id, earlier.id < OutboxEntry.id, earlier.state == PENDING
    )
    attention = aliased(OutboxEntry)
    after_attention = exists().where(
        attention.ticket_id == OutboxEntry.ticket_id,
        attention.id < OutboxEntry.id,
        attention.state == ATTENTION,
    )
    stmt = (
        select(
            OutboxEntry.id,
            OutboxEntry.ticket_id,
            OutboxEntry.kind,
            OutboxEntry.idempotency_key,
            OutboxEntry.payload,
            OutboxEntry.attempts,
            Ticket.backend_id,
            after_attention.label("after_att"),
        )
        .join(Ticket, Ticket.id == OutboxEntry.ticket_id)
        .where(OutboxEntry.state == PENDING, OutboxEntry.next_attempt_at <= now, ~blocked)
        .order_by(OutboxEntry.id)
        .limit(limit)
    )
    excluded = list(exclude)
    if excluded:  # on the wire already (this worker's pipeline)
        stmt = stmt.where(OutboxEntry.id.not_in(excluded))
    if lock:
        stmt = stmt.with_for_update(skip_locked=True, of=OutboxEntry)
    return [
        Job(
            r.id,
            r.ticket_id,
            r.kind,
            r.idempotency_key,
            dict(r.payload),
            r.attempts,
            r.backend_id,
            bool(r.after_att),
        )
        for r in session.execute(stmt)
    ]


def _apply_update(session: Session, upd: RemoteUpdate, now: dt.datetime) -> int:
    """Apply one department update through the lifecycle; 1 if it changed the ticket."""
    if upd.source != "department" or upd.action not in FEED_COMMANDS:
        return 0
    command = upd.action
    stmt = select(Ticket)
    stmt = (
        stmt.where(Ticket.client_request_id == upd.client_request_id)
        if upd.client_request_id
        else stmt.where(Ticket.backend_id == upd.backend_id)
    )
    ticket = session.scalars(stmt).one_or_none()
    if ticket is None:
        log.warning("sync.update_unknown_request", update_id=upd.update_id, backend_id=upd.backend_id)
        return 0
    text = upd.description.strip() or None
    args: dict[str, Any] = {"reason": text}
    if command == "reply":
        args = {"answer": text or "(答复无内容)"}
    elif command == "request_extension":
        args["extension_days"] = upd.extension_days
    try:
        with session.begin_nested():
            changes = apply_command(session, ticket, command, BACKEND_ACTOR, now, **args)
    except LifecycleError as exc:
        log.warning(
            "sync.update_refused",
            update_id=upd.update_id,
            number=ticket.number,
            command=command,
            status=ticket.status,
            why=exc.why,
        )
        return 0
    return 1 if changes else 0


def _cursor(session: Session, name: str) -> str | None:
    return session.scalar(select(SyncCursor.value).where(SyncCursor.name == name))


def _lock_cursor(session: Session, name: str) -> str | None:
    stmt = select(SyncCursor.value).where(SyncCursor.name == name)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


def _rowcount(result: Result[Any]) -> int:
    """The rows an UPDATE or DELETE matched (its result is a CursorResult)."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount or 0)


def _set_cursor(
    session: Session, name: str, value: str, now: dt.datetime, *, only_if_missing: bool = False
) -> None:
    if not only_if_missing:
        changed = _rowcount(
            session.execute(
                update(SyncCursor).where(SyncCursor.name == name).values(value=value, updated_at=now)
            )
        )
        if changed:
            return
    elif _cursor(session, name) is not None:
        return
    try:
        with session.begin_nested():
            session.add(SyncCursor(name=name, value=value, updated_at=now))
    except IntegrityError:  # another worker created it first
        if not only_if_missing:
            session.execute(
                update(SyncCursor).where(SyncCursor.name == name).values(value=value, updated_at=now)
            )


# --- status and supervisors' actions ---------------------------------------------------------------


def sync_status(session: Session, attention_after_attempts: int = 20) -> SyncStatus:
    """Backlog, entries needing attention, entries retried often, last success, breaker state."""
    counts = dict(session.execute(select(OutboxEntry.state, func.count()).group_by(OutboxEntry.state)).all())
    stuck = (
        session.scalar(
            select(func.count())
            .select_from(OutboxEntry)
            .where(OutboxEntry.state == PENDING, OutboxEntry.attempts >= attention_after_attempts)
        )
        or 0
    )
    oldest = session.scalar(select(func.min(OutboxEntry.created_at)).where(OutboxEntry.state == PENDING))
    cursors = dict(
        session.execute(
            select(SyncCursor.name, SyncCursor.value).where(
                SyncCursor.name.in_([LAST_SUCCESS, BREAKER_STATE])
            )
        ).all()
    )
    last = cursors.get(LAST_SUCCESS)
    return SyncStatus(
        backlog=int(counts.get(PENDING, 0)),
        attention=int(counts.get(ATTENTION, 0)),
        stuck=int(stuck),
        oldest_pending_at=oldest,
        last_success=dt.datetime.fromisoformat(last) if last else None,
        breaker=cursors.get(BREAKER_STATE, "closed"),
    )


def attention_entries(session: Session, limit: int = 100) -> list[dict[str, Any]]:
    """The entries a supervisor must look at, with the server's message (no citizen data)."""
    rows = session.execute(
        select(
            OutboxEntry.id,
            OutboxEntry.kind,
            OutboxEntry.attempts,
            OutboxEntry.last_error,
            OutboxEntry.created_at,
            Ticket.number,
        )
        .join(Ticket, Ticket.id == OutboxEntry.ticket_id)
        .where(OutboxEntry.state == ATTENTION)
        .order_by(OutboxEntry.id)
        .limit(limit)
    )
    return [
        {
            "id": r.id,
            "number": r.number,
            "kind": r.kind,
            "attempts": r.attempts,
            "error": r.last_error,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows
    ]


def retry_attention(session: Session, entry_ids: Iterable[int] | None = None) -> int:
    """Put entries needing attention back in the queue (after the ticket was fixed); how many."""
    stmt = update(OutboxEntry).where(OutboxEntry.state == ATTENTION)
    if entry_ids is not None:
        stmt = stmt.where(OutboxEntry.id.in_(list(entry_ids)))
    return _rowcount(session.execute(stmt.values(state=PENDING, next_attempt_at=utcnow())))
