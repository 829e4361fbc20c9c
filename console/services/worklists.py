"""The worklists of an operator: 漏接回拨 (missed calls to call back) and 回访 (follow-up calls).

    service = WorklistService(store, dial=line.dial, actor=Actor("alice", "operator", 7),
                              deadlines=DeadlineCalculator(config.deadlines))
    page = service.missed_page(0)                 # rows of store.worklists.missed_calls, paged
    placed = service.call_back(page.rows[0])      # dials the citizen, returns the call id
    service.record_callback(page.rows[0], "reached", by_call_id=placed.call_id)
    due = service.due_page(0)                     # tickets closed yesterday (store.worklists.callbacks_due)
    held = service.sync_page(0)                   # supervisors: outbox entries the backend refused
    service.requeue(held.rows[0])                 # ... sent again after the ticket was fixed
    placed = service.call_for_visit(due.rows[0])
    service.record_visit(due.rows[0].ticket_id, "不满意", reason="…", department_at_fault=True,
                         call_id=placed.call_id)  # -> 重办 through the lifecycle

``dial(number) -> call_id`` is whatever places an outbound call (``console.bootstrap`` passes a
wrapper of the seat's ``Line.dial`` that also tells its CallLog); the number handed to it is national digits (``13812345678``,
``04122345678`` for a landline), prefixed with ``dial_prefix`` when the PBX needs one for an outside
line. Rows carry numbers as the actor's role may see them (``store.callers.phone_for``: in full for
the roles that phone citizens, masked for a trainer), and a trainer can neither dial nor record: the
numbers are read from the store only when dialling. A placed call (``PlacedCall``) carries the
callee's number as stored and the ticket it is about, so the desk can show that callee's history.

Store work is short transactions; call these methods from a thread worker, not the UI loop. Refusals
raise ``WorklistError`` whose ``key`` the screen translates; store refusals (``EvaluationError``,
``LifecycleError``) are ValueErrors with an English line. This module imports no Textual.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import phonenumbers
import structlog

from store import calls, evaluations, sync, worklists
from store.callers import PhoneError, mask_phone, normalise_phone, sees_full_number
from store.db import Store, utcnow
from store.lifecycle import HOTLINE, SUPERVISORS, DeadlineCalculator
from store.models import Ticket
from store.tickets import Actor
from store.workcal import SHANGHAI

log = structlog.get_logger(__name__)

__all__ = [
    "DueRow",
    "MissedRow",
    "Page",
    "PlacedCall",
    "SyncRow",
    "WorklistError",
    "WorklistService",
    "dialable_number",
]

T = TypeVar("T")
U = TypeVar("U")
Dial = Callable[[str], str]
DEFAULT_PAGE_SIZE = 20
MAX_ROWS = 1000  # rows read per list; pages are cut from them


class WorklistError(ValueError):
    """A worklist action refused; ``key`` names the text to show (``err.<key>`` in console/locales/*.toml)."""

    def __init__(self, key: str, **values: object) -> None:
        self.key, self.values = key, values
        super().__init__(f"{key} {values}" if values else key)


@dataclass(frozen=True)
class MissedRow:
    """One number to call back. ``key`` is stable while the number is on the list."""

    key: str
    call_id: str  # the latest missed call of the number
    phone: str  # as the role may see it
    name: str | None
    last_at: dt.datetime  # when the citizen hung up on the latest missed call
    missed: int  # missed calls of the number
    end_reason: str | None
    tries: int  # callback tries so far (no answer)
    kind: worklists.MissedKind  # rang at a seat, or gave up waiting (store.worklists.missed_kind)
    offered_at: dt.datetime  # when that call came in (entered the queue)


@dataclass(frozen=True)
class DueRow:
    """One ticket waiting for its 回访."""

    key: str
    ticket_id: int
    number: str
    caller: str | None
    phone: str | None  # as the role may see it
    leaf_code: str | None
    department: str | None
    closed_at: dt.datetime
    failed_attempts: int


@dataclass(frozen=True)
class SyncRow:
    """An outbox entry the city backend refused (4xx): it waits for a supervisor (待处理)."""

    key: str
    entry_id: int
    number: str  # the ticket's number
    kind: str  # create / update
    attempts: int
    error: str  # the server's message
    created_at: dt.datetime


@dataclass(frozen=True)
class Page(Generic[T]):
    rows: tuple[T, ...]
    page: int  # 0-based, clamped to the pages that exist
    pages: int  # at least 1
    total: int
    first: int  # 0-based position of rows[0] in the whole list
    truncated: bool = False  # more than MAX_ROWS: ``total`` counts only the first MAX_ROWS

    def with_rows(self, rows: tuple[U, ...]) -> Page[U]:
        """The same page of other rows (the store's entries turned into the screen's rows)."""
        return Page(rows, self.page, self.pages, self.total, self.first, self.truncated)


@dataclass(frozen=True)
class PlacedCall:
    """An outbound worklist call: ``kind`` ``missed`` (ref: the missed call id) or ``visit`` (ref: ticket id).

    ``number`` is the callee's number as the store holds it (what ``store.caller_history`` looks up:
    the desk shows that callee's history, not the last caller's); ``name`` the callee's name when
    known; ``ticket_id`` the ticket the call is about (the 回访's ticket; None for a missed call).
    """

    call_id: str
    kind: str
    ref: str
    phone: str  # as the role may see it
    at: dt.datetime
    number: str = ""
    name: str | None = None
    ticket_id: int | None = None

    @property
    def history_number(self) -> str:
        """The number to look the callee's history up by (the shown one if none was stored)."""
        return self.number or self.phone


def dialable_number(raw: str, prefix: str = "") -> str:
    """The digits to dial for ``raw``: national form for mainland numbers (trunk 0 for landlines),
    00 + country code otherwise, digits-only extensions as they are."""
    text = (raw or "").strip()
    try:
        e164 = normalise_phone(text)
    except PhoneError:
        if text.isdigit() and 3 <= len(text) <= 15:
            return prefix + text
        raise WorklistError("not_dialable", phone=mask_phone(text) or "-") from None
    number = phonenumbers.parse(e164)
    if number.country_code == 86:
        national = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
        return prefix + "".join(ch for ch in national if ch.isdigit())
    return prefix + "00" + e164[1:]


def paginate(items: Sequence[T], page: int, size: int, limit: int = MAX_ROWS) -> Page[T]:
    """One page of ``items`` (at most ``limit`` of them; read ``limit + 1`` to learn there are more)."""
    truncated = len(items) > limit
    items = items[:limit]
    pages = max(1, -(-len(items) // size))
    page = min(max(page, 0), pages - 1)
    first = page * size
    return Page(tuple(items[first : first + size]), page, pages, len(items), first, truncated)


class WorklistService:
    """What the worklists screen does, with no widgets (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        dial: Dial,
        actor: Actor,
        *,
        clock: Callable[[], dt.datetime] = utcnow,
        deadlines: DeadlineCalculator | None = None,
        missed_window: dt.timedelta = dt.timedelta(days=2),
        page_size: int = DEFAULT_PAGE_SIZE,
        dial_prefix: str = "",
        backlog: bool = False,
    ) -> None:
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.store = store
        self.dial = dial
        self.actor = actor
        self.clock = clock
        self.deadlines = deadlines
        self.missed_window = missed_window
        self.page_size = page_size
        self.dial_prefix = dial_prefix
        self.backlog = backlog

    @property
    def reveal_phones(self) -> bool:
        """The people who call citizens see numbers in full, trainers masked (``store.callers.phone_for``)."""
        return sees_full_number(self.actor.role)

    @property
    def can_act(self) -> bool:
        return self.actor.role in HOTLINE

    def _shown(self, phone: str | None) -> str | None:
        if not phone:
            return phone
        if not self.reveal_phones:
            return mask_phone(phone)
        try:
            return dialable_number(phone)
        except WorklistError:
            return phone

    # --- reading ----------------------------------------------------------------------------------

    def missed_page(self, page: int = 0) -> Page[MissedRow]:
        now = self.clock()
        with self.store.read() as s:
            entries = worklists.missed_calls(
                s, now - self.missed_window, now + dt.timedelta(seconds=1), limit=MAX_ROWS + 1
            )
            first = paginate(entries, page, self.page_size)
            tries = evaluations.callback_tries(s, [e.call_id for e in first.rows])
        rows = tuple(
            MissedRow(
                f"c{e.caller_id}" if e.caller_id is not None else f"n{e.remote_number}",
                e.call_id,
                self._shown(e.remote_number) or "-",
                e.display_name,
                e.hung_up_at,
                e.attempts,
                e.end_reason,
                tries.get(e.call_id, 0),
                e.kind,
                e.offered_at,
            )
            for e in first.rows
        )
        return first.with_rows(rows)

    def due_page(self, page: int = 0) -> Page[DueRow]:
        today = self.clock().astimezone(SHANGHAI).date()
        with self.store.read() as s:
            entries = worklists.callbacks_due(s, today, backlog=self.backlog, limit=MAX_ROWS + 1)
        cut = paginate(entries, page, self.page_size)
        rows = tuple(
            DueRow(
                f"t{e.ticket_id}",
                e.ticket_id,
                e.number,
                e.caller_name,
                self._shown(e.caller_phone),
                e.leaf_code,
                e.department,
                e.closed_at,
                e.failed_attempts,
            )
            for e in cut.rows
        )
        return cut.with_rows(rows)

    @property
    def sees_sync(self) -> bool:
        """Supervisors see the entries the backend refused and queue them again."""
        return self.actor.role in SUPERVISORS

    def sync_page(self, page: int = 0) -> Page[SyncRow]:
        """Outbox entries needing attention (store.sync.attention_entries), oldest first."""
        with self.store.read() as s:
            entries = sync.attention_entries(s, limit=MAX_ROWS + 1)
        cut = paginate(entries, page, self.page_size)
        rows = tuple(
            SyncRow(
                f"o{e['id']}",
                e["id"],
                e["number"],
                e["kind"],
                e["attempts"],
                e["error"] or "",
                dt.datetime.fromisoformat(e["created_at"]),
            )
            for e in cut.rows
        )
        return cut.with_rows(rows)

    # --- acting -----------------------------------------------------------------------------------

    def requeue(self, row: SyncRow) -> int:
        """Send a refused entry again (after its ticket was fixed); 0 when it already left the list."""
        if not self.sees_sync:
            raise WorklistError("not_supervisor", role=self.actor.role)
        with self.store.session() as s:
            queued = sync.retry_attention(s, [row.entry_id])
        log.info(
            "worklist.sync_requeued", entry=row.entry_id, ticket=row.number, by=self.actor.name, queued=queued
        )
        if not queued:
            raise WorklistError("gone")
        return queued

    def _check_can_act(self) -> None:
        if not self.can_act:
            raise WorklistError("read_only", role=self.actor.role)

    def _place(
        self, raw: str, kind: str, ref: str, *, name: str | None = None, ticket_id: int | None = None
    ) -> PlacedCall:
        number = dialable_number(raw, self.dial_prefix)
        try:
            call_id = self.dial(number)
        except Exception as exc:  # the line's refusal (LineCommandError, not registered...) in one line
            log.warning("worklist.dial_failed", kind=kind, phone=mask_phone(raw), error=str(exc))
            raise WorklistError("dial_failed", error=str(exc) or type(exc).__name__) from exc
        at = self.clock()
        log.info("worklist.dialed", kind=kind, ref=ref, call_id=call_id, phone=mask_phone(raw))
        return PlacedCall(call_id, kind, ref, self._shown(raw) or "-", at, raw, name, ticket_id)

    def call_back(self, row: MissedRow) -> PlacedCall:
        """Dial the number of a missed call (read from the store, never from the row)."""
        self._check_can_act()
        with self.store.read() as s:
            call = calls.get_call(s, row.call_id)
            raw = call.remote_number if call is not None else None
            name = call.display_name if call is not None else None
        if raw is None:
            raise WorklistError("gone")
        return self._place(raw, "missed", row.call_id, name=name)

    def record_callback(
        self, row: MissedRow, outcome: str, *, by_call_id: str | None = None
    ) -> evaluations.CallbackRecord:
        """The outcome of calling back (``reached`` / ``no_answer`` / ``wrong_number``)."""
        self._check_can_act()
        with self.store.session() as s:
            return evaluations.record_callback(
                s, row.call_id, outcome, self.clock(), by_call_id=by_call_id, user_id=self.actor.user_id
            )

    def call_for_visit(self, row: DueRow) -> PlacedCall:
        """Dial the citizen of a ticket due for 回访."""
        self._check_can_act()
        with self.store.read() as s:
            ticket = s.get(Ticket, row.ticket_id)
            raw = ticket.caller_phone if ticket is not None else None
            name = ticket.caller_name if ticket is not None else None
        if not raw:
            raise WorklistError("no_phone", number=row.number)
        return self._place(raw, "visit", str(row.ticket_id), name=name, ticket_id=row.ticket_id)

    def record_visit(
        self,
        ticket_id: int,
        result: str,
        *,
        reason: str | None = None,
        department_at_fault: bool | None = None,
        call_id: str | None = None,
    ) -> evaluations.EvaluationRecord:
        """满意 / 基本满意 / 不满意 (+ reason, + department at fault) / 未接通 for the ticket."""
        self._check_can_act()
        reason = (reason or "").strip() or None
        if reason is not None and len(reason) > evaluations.MAX_COMMENT:
            raise WorklistError("reason_too_long", length=len(reason), limit=evaluations.MAX_COMMENT)
        if result == "不满意":
            if reason is None:
                raise WorklistError("need_reason")
            if department_at_fault is None:
                raise WorklistError("need_fault")
        else:
            department_at_fault = None  # only 不满意 names a fault
        with self.store.session() as s:
            ticket = s.get(Ticket, ticket_id)
            if ticket is None:
                raise WorklistError("gone")
            return evaluations.record_evaluation(
                s,
                ticket,
                result,
                self.actor,
                self.clock(),
                reason=reason,
                department_at_fault=department_at_fault,
                call_id=call_id,
                deadlines=self.deadlines,
            )
