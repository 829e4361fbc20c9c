"""Calls in the store: the life of each call, the ringing pop, the worklists, agent states.

Every function works inside the caller's ONE transaction (``with store.session() as s`` for writes,
``store.read()`` for the queries) and takes plain values: this module never imports telephony.
Times are aware datetimes (the store refuses naive ones); calendar days are Anshan (Asia/Shanghai).

The life of a call (each write is idempotent, because a line may repeat an event after a restart):

- ``open_call(s, call_id=, direction="in"|"out", remote_number=, display_name=, at=, user_id=, queue=)``
  creates the ``Call`` (links or creates the ``Caller`` when the number is a valid phone number) and
  its first event (``offered`` / ``dialed``); for a known ``call_id`` it returns the existing row.
- ``answer_call(s, call_id, at, user_id=None)``; ``end_call(s, call_id, at, reason)`` with the
  line's reasons (``remote_bye``, ``local_hangup``, ``cancelled``, ``rejected``, ``failed``) or
  ``abandoned`` / ``transferred``; the first answer and the first end win, later ones are ignored.
- ``add_call_event(s, call_id, kind, at, data=None)``: one ``CallEvent`` row (``held``, ``resumed``,
  ``dtmf``, ``transferred``, ``ringing``...); an identical event (same kind, time and data) is not
  written twice.
- ``link_ticket(s, call_id, ticket_id)``, ``set_disposition(s, call_id, text)``,
  ``set_recording(s, call_id, path)``.

Queries (each returns frozen dataclasses, never ORM rows, so they are safe after the session):

- ``caller_history(s, phone, now, days=30, exclude_call_id=None) -> CallerHistory``: the ringing pop:
  the number's previous tickets (open ones first, then newest), its calls in the last ``days`` days
  and ``repeat_caller`` (another call or a ticket of this number within those days).
- ``missed_calls(s, since, until=None) -> list[MissedCall]`` (漏接回拨): inbound calls that ended
  unanswered (not refused with ``rejected`` unless ``include_rejected``), not marked called back and
  not followed by an answered call with that number; one entry per number, newest first, with all
  its missed call ids. ``mark_called_back(s, call_id, at, by_call_id=None)`` closes the entry
  (every missed call of that number up to ``at``).
- ``callbacks_due(s, day) -> list[CallbackDue]`` (回访): tickets closed (已办结) on the day before
  ``day``, not yet evaluated, whose caller consented to a callback; ``backlog=True`` adds the ones
  closed earlier and still waiting.

Agent sessions and states (``agent_sessions`` / ``agent_state_changes``):
``start_agent_session(s, user_id, at, seat="")``, ``end_agent_session(s, session_id, at)`` (writes
离线), ``set_agent_state(s, user_id, state, at, reason=None, session_id=None)`` with a state of
``AGENT_STATES`` (a repeat of the current state and reason writes nothing),
``current_agent_state(s, user_id) -> AgentState | None``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import structlog
from sqlalchemy import and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from store.callers import PhoneError, caller_id_for, mask_phone, normalise_phone
from store.lifecycle import CLOSED, OPEN_STATES
from store.models import AgentSession, AgentStateChange, Call, Caller, CallEvent, Evaluation, Ticket
from store.workcal import SHANGHAI

log = structlog.get_logger(__name__)

__all__ = [
    "AGENT_STATES",
    "END_REASONS",
    "AgentState",
    "CallError",
    "CallSummary",
    "CallbackDue",
    "CallerHistory",
    "MissedCall",
    "TicketSummary",
    "add_call_event",
    "answer_call",
    "call_events",
    "callbacks_due",
    "caller_history",
    "current_agent_state",
    "end_agent_session",
    "end_call",
    "get_call",
    "link_ticket",
    "mark_called_back",
    "missed_calls",
    "open_call",
    "set_agent_state",
    "set_disposition",
    "set_recording",
    "start_agent_session",
]

Direction = Literal["in", "out"]
END_REASONS: tuple[str, ...] = (
    "remote_bye",
    "local_hangup",
    "cancelled",
    "rejected",
    "failed",
    "abandoned",
    "transferred",
)
# 就绪 ready, 示忙 busy (with a reason), 振铃 ringing, 通话中 talking, 保持 on hold, 话后整理 wrap-up
AGENT_STATES: tuple[str, ...] = ("就绪", "示忙", "振铃", "通话中", "保持", "话后整理", "离线")
MAX_LIST = 1000


class CallError(ValueError):
    """A call request that cannot apply (unknown call, bad value), in one line."""


# --- the life of a call -------------------------------------------------------------------------


def _phone_or_none(raw: str) -> str | None:
    """The E.164 form of a caller's number, or None (extensions, ``anonymous``, garbage)."""
    try:
        return normalise_phone(raw)
    except PhoneError:
        return None


def get_call(session: Session, call_id: str) -> Call | None:
    return session.get(Call, call_id)


def _call(session: Session, call_id: str) -> Call:
    call = session.get(Call, call_id)
    if call is None:
        raise CallError(f"no call {call_id!r} in the store")
    return call


def open_call(
    session: Session,
    *,
    call_id: str,
    direction: Direction,
    remote_number: str,
    display_name: str | None,
    at: dt.datetime,
    user_id: int | None = None,
    queue: str | None = None,
) -> Call:
    """The ``Call`` row for a call offered to us (``in``) or dialled by us (``out``); idempotent."""
    if direction not in ("in", "out"):
        raise CallError(f"direction must be 'in' or 'out', not {direction!r}")
    if not call_id or len(call_id) > 36:
        raise CallError("a call id is 1 to 36 characters")
    call = session.get(Call, call_id)
    if call is not None:
        if user_id is not None and call.user_id is None:
            call.user_id = user_id
        return call
    phone = _phone_or_none(remote_number)
    caller_id = caller_id_for(session, phone, at, name=display_name or None) if phone else None
    call = Call(
        id=call_id,
        direction=direction,
        caller_id=caller_id,
        remote_number=(remote_number or "")[:64],
        display_name=(display_name or None) and display_name[:128],
        user_id=user_id,
        queue=queue,
        offered_at=at,
        callback_done=False,
    )
    session.add(call)
    session.flush()
    _add_event(session, call_id, "offered" if direction == "in" else "dialed", at, {})
    log.info("call.opened", call_id=call_id, direction=direction, remote=mask_phone(remote_number))
    return call


def _add_event(
    session: Session, call_id: str, kind: str, at: dt.datetime, data: Mapping[str, Any]
) -> CallEvent:
    found = session.scalars(
        select(CallEvent).where(CallEvent.call_id == call_id, CallEvent.kind == kind, CallEvent.at == at)
    ).all()
    for event in found:
        if event.data == dict(data):
            return event
    event = CallEvent(call_id=call_id, kind=kind, at=at, data=dict(data))
    session.add(event)
    session.flush()
    return event


def add_call_event(
    session: Session, call_id: str, kind: str, at: dt.datetime, data: Mapping[str, Any] | None = None
) -> CallEvent:
    """One event of a known call; an identical one (kind, at, data) already stored is returned."""
    if not kind or len(kind) > 32:
        raise CallError("an event kind is 1 to 32 characters")
    _call(session, call_id)
    return _add_event(session, call_id, kind, at, data or {})


def answer_call(session: Session, call_id: str, at: dt.datetime, *, user_id: int | None = None) -> Call:
    """Mark the call answered at ``at`` (the first answer wins) by ``user_id`` if given."""
    call = _call(session, call_id)
    if call.answered_at is None and call.ended_at is None:
        call.answered_at = at
        if user_id is not None and call.user_id is None:
            call.user_id = user_id
        _add_event(session, call_id, "answered", at, {})
    return call


def end_call(session: Session, call_id: str, at: dt.datetime, reason: str, detail: str = "") -> Call:
    """Mark the call ended at ``at`` with ``reason`` (one of END_REASONS); the first end wins."""
    if reason not in END_REASONS:
        raise CallError(f"unknown end reason {reason!r}; known: {', '.join(END_REASONS)}")
    call = _call(session, call_id)
    if call.ended_at is None:
        call.ended_at = at
        call.end_reason = reason
        _add_event(
            session, call_id, "ended", at, {"reason": reason, **({"detail": detail} if detail else {})}
        )
        log.info("call.ended", call_id=call_id, reason=reason, answered=call.answered_at is not None)
    return call


def link_ticket(session: Session, call_id: str, ticket_id: int) -> Call:
    """The ticket this call produced (or was about); the latest link wins."""
    call = _call(session, call_id)
    if session.get(Ticket, ticket_id) is None:
        raise CallError(f"no ticket with id {ticket_id}")
    call.ticket_id = ticket_id
    return call


def set_disposition(session: Session, call_id: str, disposition: str | None) -> Call:
    """How the operator classified the call (ticket, consultation, wrong number, silent...)."""
    if disposition is not None and len(disposition) > 32:
        raise CallError("a disposition is at most 32 characters")
    call = _call(session, call_id)
    call.disposition = disposition or None
    return call


def set_recording(session: Session, call_id: str, path: str) -> Call:
    """Where the call's recording lives (a file path or a base path of the rx/tx pair)."""
    call = _call(session, call_id)
    call.recording_path = path
    return call


def call_events(session: Session, call_id: str) -> list[CallEvent]:
    """The call's events in the order they were written."""
    return list(session.scalars(select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.id)))


# --- the ringing pop ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TicketSummary:
    id: int
    number: str
    status: str
    is_open: bool
    deadline: dt.datetime | None
    leaf_code: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class CallSummary:
    id: str
    direction: str
    offered_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None
    end_reason: str | None
    ticket_id: int | None


@dataclass(frozen=True)
class CallerHistory:
    """What the operator sees while the phone rings. ``phone`` is E.164 (None when not a phone
    number); show ``masked_phone`` where the role does not need the full number."""

    phone: str | None
    masked_phone: str | None
    caller_id: int | None
    name: str | None
    tickets: tuple[TicketSummary, ...]
    calls: tuple[CallSummary, ...]
    repeat_caller: bool

    @property
    def known(self) -> bool:
        return bool(self.tickets or self.calls)

    @property
    def open_tickets(self) -> tuple[TicketSummary, ...]:
        return tuple(t for t in self.tickets if t.is_open)


def caller_history(
    session: Session,
    phone: str,
    now: dt.datetime,
    days: int = 30,
    *,
    exclude_call_id: str | None = None,
    ticket_limit: int = 20,
) -> CallerHistory:
    """The number's tickets (open first, then newest) and calls of the last ``days`` days.

    ``exclude_call_id`` leaves out the call that is ringing now. Two indexed queries
    (ix_tickets_caller, ix_calls_caller_offered) after the caller lookup.
    """
    e164 = _phone_or_none(phone)
    empty = CallerHistory(e164, mask_phone(e164 or phone), None, None, (), (), False)
    if e164 is None:
        return empty
    caller = session.execute(select(Caller.id, Caller.name).where(Caller.phone == e164)).first()
    if caller is None:
        return empty
    since = now - dt.timedelta(days=days)
    is_open = Ticket.status.in_(sorted(OPEN_STATES))
    ticket_rows = session.execute(
        select(Ticket.id, Ticket.number, Ticket.status, Ticket.deadline, Ticket.leaf_code, Ticket.created_at)
        .where(Ticket.caller_id == caller.id)
        .order_by(case((is_open, 0), else_=1), Ticket.created_at.desc())
        .limit(ticket_limit)
    ).all()
    tickets = tuple(
        TicketSummary(
            r.id, r.number, r.status, r.status in OPEN_STATES, r.deadline, r.leaf_code, r.created_at
        )
        for r in ticket_rows
    )
    call_q = select(
        Call.id,
        Call.direction,
        Call.offered_at,
        Call.answered_at,
        Call.ended_at,
        Call.end_reason,
        Call.ticket_id,
    ).where(Call.caller_id == caller.id, Call.offered_at >= since, Call.offered_at <= now)
    if exclude_call_id:
        call_q = call_q.where(Call.id != exclude_call_id)
    calls = tuple(
        CallSummary(*r) for r in session.execute(call_q.order_by(Call.offered_at.desc()).limit(MAX_LIST))
    )
    repeat = bool(calls) or any(since <= t.created_at <= now for t in tickets)
    return CallerHistory(e164, mask_phone(e164), caller.id, caller.name, tickets, calls, repeat)


# --- worklists ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MissedCall:
    """One number to call back (漏接回拨): its latest missed call and every missed call id."""

    call_id: str
    remote_number: str
    masked_number: str | None
    display_name: str | None
    caller_id: int | None
    offered_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str | None
    call_ids: tuple[str, ...]

    @property
    def attempts(self) -> int:
        return len(self.call_ids)


def _same_number(a: Any, b: Any) -> Any:
    """SQL: two call rows are about the same number (the Caller when known, else the raw number)."""
    return or_(
        and_(a.caller_id.is_not(None), a.caller_id == b.caller_id),
        and_(a.caller_id.is_(None), b.caller_id.is_(None), a.remote_number == b.remote_number),
    )


def _missed_filter(include_rejected: bool) -> list[Any]:
    later = aliased(Call)
    reached = exists().where(
        _same_number(later, Call), later.answered_at.is_not(None), later.offered_at > Call.offered_at
    )
    conds = [
        Call.direction == "in",
        Call.answered_at.is_(None),
        Call.ended_at.is_not(None),
        Call.callback_done.is_(False),
        ~reached,
    ]
    if not include_rejected:
        conds.append(or_(Call.end_reason.is_(None), Call.end_reason != "rejected"))
    return conds


def missed_calls(
    session: Session,
    since: dt.datetime,
    until: dt.datetime | None = None,
    *,
    include_rejected: bool = False,
    limit: int = 200,
) -> list[MissedCall]:
    """Numbers to call back: inbound calls offered in [since, until) that nobody answered.

    A number drops off once it is marked called back or once a later call with it was answered
    (it called again and got through, or our callback reached it). Newest first.
    """
    conds = [Call.offered_at >= since, *_missed_filter(include_rejected)]
    if until is not None:
        conds.append(Call.offered_at < until)
    rows = session.execute(
        select(
            Call.id,
            Call.remote_number,
            Call.display_name,
            Call.caller_id,
            Call.offered_at,
            Call.ended_at,
            Call.end_reason,
        )
        .where(*conds)
        .order_by(Call.offered_at.desc())
        .limit(MAX_LIST * 10)
    ).all()
    grouped: dict[tuple[Any, ...], list[Any]] = {}
    for r in rows:
        key = ("caller", r.caller_id) if r.caller_id is not None else ("raw", r.remote_number)
        grouped.setdefault(key, []).append(r)
    out = []
    for group in grouped.values():
        top = group[0]
        out.append(
            MissedCall(
                top.id,
                top.remote_number,
                mask_phone(top.remote_number),
                top.display_name,
                top.caller_id,
                top.offered_at,
                top.ended_at,
                top.end_reason,
                tuple(r.id for r in group),
            )
        )
        if len(out) >= limit:
            break
    return out


def mark_called_back(
    session: Session,
    call_id: str,
    at: dt.datetime,
    *,
    by_call_id: str | None = None,
    user_id: int | None = None,
) -> list[str]:
    """Take the number of ``call_id`` off the missed list: every missed call of it up to ``at``.

    ``by_call_id`` is our outbound callback, if any. Returns the call ids marked (idempotent: a
    second call returns ``[]``).
    """
    call = _call(session, call_id)
    same = (
        (Call.caller_id == call.caller_id)
        if call.caller_id is not None
        else and_(Call.caller_id.is_(None), Call.remote_number == call.remote_number)
    )
    targets = session.scalars(
        select(Call).where(
            same,
            Call.direction == "in",
            Call.answered_at.is_(None),
            Call.ended_at.is_not(None),
            Call.offered_at <= at,
            Call.callback_done.is_(False),
        )
    ).all()
    data: dict[str, Any] = {
        k: v for k, v in (("by_call_id", by_call_id), ("user_id", user_id)) if v is not None
    }
    for target in targets:
        target.callback_done = True
        _add_event(session, target.id, "called_back", at, data)
    return [t.id for t in targets]


@dataclass(frozen=True)
class CallbackDue:
    """A ticket waiting for its 回访 call. ``failed_attempts``: earlier 未接通 evaluations."""

    ticket_id: int
    number: str
    caller_name: str | None
    caller_phone: str | None
    masked_phone: str | None
    leaf_code: str | None
    department: str | None
    closed_at: dt.datetime
    failed_attempts: int


def local_day_start(day: dt.date) -> dt.datetime:
    """00:00 of ``day`` on the Anshan wall clock, as an aware datetime."""
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI)


def callbacks_due(
    session: Session, day: dt.date, *, backlog: bool = False, limit: int = 500
) -> list[CallbackDue]:
    """回访 worklist for ``day``: tickets closed the (Anshan) day before, not yet evaluated, with the
    caller's consent; oldest closure first. ``backlog`` also lists those closed earlier."""
    end = local_day_start(day)
    conds = [Ticket.status == CLOSED, Ticket.callback_consent.is_(True), Ticket.closed_at < end]
    if not backlog:
        conds.append(Ticket.closed_at >= local_day_start(day - dt.timedelta(days=1)))
    failed = (
        select(func.count(Evaluation.id))
        .where(Evaluation.ticket_id == Ticket.id, Evaluation.result == "未接通")
        .correlate(Ticket)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Ticket.id,
            Ticket.number,
            Ticket.caller_name,
            Ticket.caller_phone,
            Ticket.leaf_code,
            Ticket.department,
            Ticket.closed_at,
            failed.label("failed"),
        )
        .where(*conds)
        .order_by(Ticket.closed_at, Ticket.id)
        .limit(limit)
    ).all()
    return [
        CallbackDue(
            r.id,
            r.number,
            r.caller_name,
            r.caller_phone,
            mask_phone(r.caller_phone),
            r.leaf_code,
            r.department,
            r.closed_at,
            int(r.failed or 0),
        )
        for r in rows
    ]


# --- agent sessions and states ------------------------------------------------------------------


@dataclass(frozen=True)
class AgentState:
    user_id: int
    state: str
    reason: str | None
    at: dt.datetime
    session_id: int | None


def start_agent_session(session: Session, user_id: int, at: dt.datetime, seat: str = "") -> AgentSession:
    """A login of ``user_id`` at ``seat``; the user's sessions still open are ended at ``at`` first."""
    for stale in session.scalars(
        select(AgentSession).where(AgentSession.user_id == user_id, AgentSession.ended_at.is_(None))
    ):
        stale.ended_at = at
    row = AgentSession(user_id=user_id, seat=seat[:64], started_at=at)
    session.add(row)
    session.flush()
    log.info("agent.login", user_id=user_id, seat=seat, session_id=row.id)
    return row


def end_agent_session(session: Session, session_id: int, at: dt.datetime) -> AgentSession:
    """Logout: the session ends and the user goes 离线 (idempotent)."""
    row = session.get(AgentSession, session_id)
    if row is None:
        raise CallError(f"no agent session {session_id}")
    if row.ended_at is None:
        row.ended_at = at
        set_agent_state(session, row.user_id, "离线", at, session_id=row.id)
        log.info("agent.logout", user_id=row.user_id, session_id=row.id)
    return row


def current_agent_state(session: Session, user_id: int) -> AgentState | None:
    row = session.execute(
        select(AgentStateChange)
        .where(AgentStateChange.user_id == user_id)
        .order_by(AgentStateChange.at.desc(), AgentStateChange.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    return AgentState(row.user_id, row.state, row.reason, row.at, row.session_id)


def set_agent_state(
    session: Session,
    user_id: int,
    state: str,
    at: dt.datetime,
    *,
    reason: str | None = None,
    session_id: int | None = None,
) -> AgentState:
    """Record that ``user_id`` is now in ``state`` (示忙 may carry a reason, e.g. 培训 / 用餐).

    Without ``session_id`` the user's open session is used. The same state and reason as the
    current one writes nothing.
    """
    if state not in AGENT_STATES:
        raise CallError(f"unknown agent state {state!r}; known: {', '.join(AGENT_STATES)}")
    reason = (reason or "").strip()[:64] or None
    if reason and state != "示忙":
        raise CallError("only 示忙 carries a reason")
    current = current_agent_state(session, user_id)
    if current is not None and (current.state, current.reason) == (state, reason):
        return current
    if session_id is None:
        session_id = session.scalar(
            select(AgentSession.id)
            .where(AgentSession.user_id == user_id, AgentSession.ended_at.is_(None))
            .order_by(AgentSession.started_at.desc())
            .limit(1)
        )
    row = AgentStateChange(session_id=session_id, user_id=user_id, state=state, reason=reason, at=at)
    session.add(row)
    session.flush()
    return AgentState(user_id, state, reason, at, session_id)
