"""The ringing pop: what the store knows about a number while its call rings.

``caller_history(s, phone, now, days=30, exclude_call_id=None) -> CallerHistory``: the number's
previous tickets (open ones first, then newest), its calls in the last ``days`` days and
``repeat_caller`` (another call or a ticket of this number within those days). It runs in a read
transaction (``store.read()``) and returns frozen dataclasses, never ORM rows, so they are safe
after the session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from store.callers import mask_phone
from store.calls import MAX_LIST, phone_or_none
from store.models import Call, Caller, Ticket
from store.vocabulary import OPEN_STATES

__all__ = ["CallSummary", "CallerHistory", "TicketSummary", "caller_history"]


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
    e164 = phone_or_none(phone)
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
