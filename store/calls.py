"""The life of each call in the store: opened, answered, events, ended, linked to its ticket.

Every function works inside the caller's ONE transaction (``with store.session() as s``) and takes
plain values: this module never imports telephony. Times are aware datetimes (the store refuses
naive ones). Each write is idempotent, because a line may repeat an event after a restart:

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

What a call leads to lives beside it: the ringing pop in ``store.caller_history``, the callback
worklists in ``store.worklists``, the operators' sessions and states in ``store.agents``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Literal

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.callers import PhoneError, caller_id_for, mask_phone, normalise_phone
from store.models import Call, CallEvent, Ticket

log = structlog.get_logger(__name__)

__all__ = [
    "END_REASONS",
    "MAX_LIST",
    "CallError",
    "Direction",
    "add_call_event",
    "answer_call",
    "call_events",
    "end_call",
    "get_call",
    "link_ticket",
    "open_call",
    "phone_or_none",
    "require_call",
    "set_disposition",
    "set_recording",
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
MAX_LIST = 1000  # the bound of a list query (missed_calls reads ten times that to group by number)


class CallError(ValueError):
    """A call request that cannot apply (unknown call, bad value), in one line."""


def phone_or_none(raw: str) -> str | None:
    """The E.164 form of a caller's number, or None (extensions, ``anonymous``, garbage)."""
    try:
        return normalise_phone(raw)
    except PhoneError:
        return None


def get_call(session: Session, call_id: str) -> Call | None:
    """The call ``call_id``, or None."""
    return session.get(Call, call_id)


def require_call(session: Session, call_id: str) -> Call:
    """The call ``call_id``, or ``CallError`` when the store has none."""
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
    phone = phone_or_none(remote_number)
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
    require_call(session, call_id)
    return _add_event(session, call_id, kind, at, data or {})


def answer_call(session: Session, call_id: str, at: dt.datetime, *, user_id: int | None = None) -> Call:
    """Mark the call answered at ``at`` (the first answer wins) by ``user_id`` if given."""
    call = require_call(session, call_id)
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
    call = require_call(session, call_id)
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
    call = require_call(session, call_id)
    if session.get(Ticket, ticket_id) is None:
        raise CallError(f"no ticket with id {ticket_id}")
    call.ticket_id = ticket_id
    return call


def set_disposition(session: Session, call_id: str, disposition: str | None) -> Call:
    """How the operator classified the call (ticket, consultation, wrong number, silent...)."""
    if disposition is not None and len(disposition) > 32:
        raise CallError("a disposition is at most 32 characters")
    call = require_call(session, call_id)
    call.disposition = disposition or None
    return call


def set_recording(session: Session, call_id: str, path: str) -> Call:
    """Where the call's recording lives (a file path or a base path of the rx/tx pair)."""
    call = require_call(session, call_id)
    call.recording_path = path
    return call


def call_events(session: Session, call_id: str) -> list[CallEvent]:
    """The call's events in the order they were written."""
    return list(session.scalars(select(CallEvent).where(CallEvent.call_id == call_id).order_by(CallEvent.id)))
