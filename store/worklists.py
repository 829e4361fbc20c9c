"""The callback worklists: numbers to call back (漏接回拨) and tickets waiting for 回访.

Queries run in a read transaction (``store.read()``) and return frozen dataclasses; the one write
(``mark_called_back``) runs in the caller's session.

- ``missed_calls(s, since, until=None) -> list[MissedCall]`` (漏接回拨): inbound calls that ended
  unanswered (not refused with ``rejected`` unless ``include_rejected``), not marked called back and
  not followed by an answered call with that number; one entry per number, newest first, with all
  its missed call ids. ``mark_called_back(s, call_id, at, by_call_id=None)`` closes the entry
  (every missed call of that number up to ``at``). Each entry says how the latest call was missed
  (``MissedCall.kind``, see ``missed_kind``) and when the citizen hung up (``hung_up_at``: the
  call's end, not the moment it entered the queue).
- ``callbacks_due(s, day) -> list[CallbackDue]`` (回访): tickets closed (已办结) on the day before
  ``day``, not yet evaluated, whose caller consented to a callback; ``backlog=True`` adds the ones
  closed earlier and still waiting. Calendar days are Anshan (Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from store.callers import mask_phone
from store.calls import MAX_LIST, add_call_event, require_call
from store.models import Call, CallEvent, Evaluation, Ticket
from store.vocabulary import CLOSED, NOT_REACHED
from store.workcal import SHANGHAI

__all__ = [
    "SEAT_RINGING",
    "CallbackDue",
    "MissedCall",
    "MissedKind",
    "callbacks_due",
    "local_day_start",
    "mark_called_back",
    "missed_calls",
    "missed_kind",
]

# The call event that says an inbound call rang at an operator's seat (``store.calls.add_call_event``
# with ``{"user_id": …}``), written by the seat when it starts ringing the operator. A call offered
# while every seat was busy waits in the queue first and rings later, or never: only this event
# tells a caller who hung up on a ringing seat from one who gave up waiting, since the line ends
# both as ``cancelled``.
SEAT_RINGING = "seat_ringing"

# how a call was missed: rang at a seat and the caller hung up (振铃挂断), gave up waiting in the
# queue without ever ringing (排队放弃), refused by the operator (拒接), lost by the line (呼叫失败)
MissedKind = Literal["ringing", "queue", "rejected", "failed"]


def missed_kind(end_reason: str | None, rang: bool) -> MissedKind:
    """How an unanswered inbound call was missed, from its end reason and whether it rang at a seat.

    ``abandoned`` is a queue abandon whatever else is known (a PBX queue or the seed says so); a
    call that ended otherwise rang if a ``SEAT_RINGING`` event was written for it.
    """
    if end_reason in ("rejected", "failed"):
        return end_reason  # type: ignore[return-value]
    if end_reason == "abandoned":
        return "queue"
    return "ringing" if rang else "queue"


@dataclass(frozen=True)
class MissedCall:
    """One number to call back (漏接回拨): its latest missed call and every missed call id.

    ``rang``: the latest missed call rang at a seat (a ``SEAT_RINGING`` event); ``kind`` says how it
    was missed, ``hung_up_at`` when the citizen hung up.
    """

    call_id: str
    remote_number: str
    masked_number: str | None
    display_name: str | None
    caller_id: int | None
    offered_at: dt.datetime
    ended_at: dt.datetime | None
    end_reason: str | None
    call_ids: tuple[str, ...]
    rang: bool = False

    @property
    def attempts(self) -> int:
        return len(self.call_ids)

    @property
    def kind(self) -> MissedKind:
        return missed_kind(self.end_reason, self.rang)

    @property
    def hung_up_at(self) -> dt.datetime:
        return self.ended_at or self.offered_at


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
    (it called again and got through, or our callback reached it). The latest hang-up first.
    """
    rang = exists().where(CallEvent.call_id == Call.id, CallEvent.kind == SEAT_RINGING)
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
            rang.label("rang"),
        )
        .where(*conds)
        .order_by(Call.ended_at.desc(), Call.offered_at.desc())
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
                bool(top.rang),
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
    call = require_call(session, call_id)
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
        add_call_event(session, target.id, "called_back", at, data)
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
        .where(Evaluation.ticket_id == Ticket.id, Evaluation.result == NOT_REACHED)
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
