"""Outcomes of the two worklists: 回访 results and 漏接回拨 attempts.

回访 (the follow-up call after 办结): ``record_evaluation(s, ticket, result, actor, now, ...)``.

- 满意 / 基本满意 / 不满意 run the lifecycle command ``evaluate`` through ``store.tickets.apply_command``
  (audited as ticket events; apply_command also writes the ``Evaluation`` row and the outbox row).
  不满意 needs a reason and ``department_at_fault``; with ``department_at_fault=True`` the lifecycle
  sends the ticket to 重办 (办理中, rehandle_count+1, the deadline restarts when ``deadlines`` is given).
- 未接通 (the citizen could not be reached) changes nothing on the ticket: it writes one ``Evaluation``
  row with that result, which ``store.worklists.callbacks_due`` counts as ``failed_attempts``; the
  ticket stays on the worklist.

A ``call_id`` (our outbound call) is stored on the evaluation; when the call log has not written that
call yet, ``ensure_outbound_call`` records it first (idempotently) so the foreign key holds.

漏接回拨 (calling back a missed call): ``record_callback(s, call_id, outcome, at, ...)`` with outcome

- ``reached``: the citizen answered; the number leaves the list (``store.worklists.mark_called_back``);
- ``wrong_number``: nobody to call back (空号/错号); the number leaves the list;
- ``no_answer``: the number stays on the list; after ``MAX_CALLBACK_TRIES`` unanswered tries it leaves
  it (the centre gave up, visible in the events).

Every try writes a ``callback`` event on the number's latest missed call, ``{"outcome", "by_call_id",
"user_id", "tries"}``; ``callback_tries(s, call_ids)`` counts them per missed call.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

import structlog
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store import calls, worklists
from store.lifecycle import HOTLINE, DeadlineCalculator
from store.models import CallEvent, Evaluation, Ticket
from store.tickets import Actor, apply_command
from store.vocabulary import CLOSED, NOT_REACHED, SATISFACTIONS, UNSATISFIED

log = structlog.get_logger(__name__)

__all__ = [
    "CALLBACK_OUTCOMES",
    "MAX_CALLBACK_TRIES",
    "RESULTS",
    "CallbackOutcome",
    "CallbackRecord",
    "EvaluationError",
    "EvaluationRecord",
    "callback_tries",
    "ensure_outbound_call",
    "evaluations_of",
    "record_callback",
    "record_evaluation",
]

RESULTS: tuple[str, ...] = (*SATISFACTIONS, NOT_REACHED)
CallbackOutcome = Literal["reached", "no_answer", "wrong_number"]
CALLBACK_OUTCOMES: tuple[str, ...] = get_args(CallbackOutcome)
MAX_CALLBACK_TRIES = 3  # unanswered callbacks of one number before it leaves the list
MAX_COMMENT = 500


class EvaluationError(ValueError):
    """A 回访 or callback record that cannot be written, in one line; nothing was changed."""


@dataclass(frozen=True)
class EvaluationRecord:
    """What a 回访 wrote: the evaluation row and where the ticket ended up."""

    evaluation_id: int
    ticket_id: int
    number: str
    result: str
    status: str
    rehandled: bool
    department: str | None
    call_id: str | None
    at: dt.datetime


@dataclass(frozen=True)
class CallbackRecord:
    """What a callback try wrote: whether the number left the list and the calls it closed."""

    call_id: str
    outcome: str
    tries: int
    closed: bool
    marked: tuple[str, ...]


def ensure_outbound_call(
    session: Session, call_id: str, number: str, at: dt.datetime, user_id: int | None = None
) -> None:
    """Make sure our outbound call ``call_id`` has a row (the call log may not have written it yet)."""
    if calls.get_call(session, call_id) is not None:
        return
    try:
        with session.begin_nested():  # another writer (the call log) racing us only undoes this
            calls.open_call(
                session,
                call_id=call_id,
                direction="out",
                remote_number=number,
                display_name=None,
                at=at,
                user_id=user_id,
            )
    except IntegrityError:
        if calls.get_call(session, call_id) is None:
            raise


def _comment(reason: str | None) -> str | None:
    text = (reason or "").strip()
    if len(text) > MAX_COMMENT:
        raise EvaluationError(f"the reason is {len(text)} characters; at most {MAX_COMMENT}")
    return text or None


def record_evaluation(
    session: Session,
    ticket: Ticket,
    result: str,
    actor: Actor,
    now: dt.datetime,
    *,
    reason: str | None = None,
    department_at_fault: bool | None = None,
    call_id: str | None = None,
    dialed_number: str | None = None,
    deadlines: DeadlineCalculator | None = None,
) -> EvaluationRecord:
    """Record the 回访 of ``ticket`` (see the module docstring). Raises EvaluationError or the
    lifecycle's LifecycleError (both ValueError) and changes nothing when refused."""
    if result not in RESULTS:
        raise EvaluationError(f"result must be one of {'/'.join(RESULTS)}, not {result!r}")
    comment = _comment(reason)
    if result != UNSATISFIED and department_at_fault:
        raise EvaluationError("department_at_fault only applies to 不满意")
    if result == NOT_REACHED:
        if ticket.status != CLOSED:
            raise EvaluationError(f"ticket {ticket.number} is {ticket.status}, not {CLOSED}: no 回访 is due")
        if actor.role not in HOTLINE:
            raise EvaluationError(f"role {actor.role} may not record a 回访")
    if call_id is not None:
        ensure_outbound_call(session, call_id, dialed_number or ticket.caller_phone or "", now, actor.user_id)
    if result == NOT_REACHED:
        row = Evaluation(
            ticket_id=ticket.id,
            at=now,
            user_id=actor.user_id,
            call_id=call_id,
            result=result,
            department_at_fault=False,
            comment=comment,
        )
        session.add(row)
        session.flush()
        log.info("evaluation.not_reached", number=ticket.number, actor=actor.name)
        return EvaluationRecord(
            row.id, ticket.id, ticket.number, result, ticket.status, False, ticket.department, call_id, now
        )
    args: dict[str, object] = {"satisfaction": result, "call_id": call_id}
    if comment is not None:
        args["reason"] = comment
    if result == UNSATISFIED and department_at_fault is not None:
        args["department_at_fault"] = department_at_fault
    changes = apply_command(session, ticket, "evaluate", actor, now, deadlines=deadlines, **args)
    row_id = session.scalar(select(func.max(Evaluation.id)).where(Evaluation.ticket_id == ticket.id))
    rehandled = any(c.field == "rehandle_count" for c in changes)
    log.info(
        "evaluation.recorded", number=ticket.number, result=result, rehandled=rehandled, actor=actor.name
    )
    return EvaluationRecord(
        int(row_id or 0),
        ticket.id,
        ticket.number,
        result,
        ticket.status,
        rehandled,
        ticket.department,
        call_id,
        now,
    )


def evaluations_of(session: Session, ticket_id: int) -> list[Evaluation]:
    """The ticket's 回访 rows, oldest first (未接通 tries included)."""
    stmt = select(Evaluation).where(Evaluation.ticket_id == ticket_id).order_by(Evaluation.at, Evaluation.id)
    return list(session.scalars(stmt))


def callback_tries(session: Session, call_ids: Iterable[str]) -> dict[str, int]:
    """How many callback tries (events ``callback``) each of ``call_ids`` has; absent ids have none."""
    ids = list(dict.fromkeys(call_ids))
    if not ids:
        return {}
    rows = session.execute(
        select(CallEvent.call_id, func.count(CallEvent.id))
        .where(CallEvent.call_id.in_(ids), CallEvent.kind == "callback")
        .group_by(CallEvent.call_id)
    ).all()
    return {r[0]: int(r[1]) for r in rows}


def record_callback(
    session: Session,
    call_id: str,
    outcome: str,
    at: dt.datetime,
    *,
    by_call_id: str | None = None,
    dialed_number: str | None = None,
    user_id: int | None = None,
    max_tries: int = MAX_CALLBACK_TRIES,
) -> CallbackRecord:
    """One callback try of the missed call ``call_id`` (the latest of its number) and its outcome."""
    if outcome not in CALLBACK_OUTCOMES:
        raise EvaluationError(f"outcome must be one of {'/'.join(CALLBACK_OUTCOMES)}, not {outcome!r}")
    missed = calls.get_call(session, call_id)
    if missed is None:
        raise EvaluationError(f"no call {call_id!r} in the store")
    if missed.direction != "in" or missed.answered_at is not None:
        raise EvaluationError(f"call {call_id} was not a missed inbound call")
    if by_call_id is not None:
        ensure_outbound_call(session, by_call_id, dialed_number or missed.remote_number, at, user_id)
    tries = callback_tries(session, [call_id]).get(call_id, 0) + 1
    data = {
        k: v
        for k, v in (("outcome", outcome), ("by_call_id", by_call_id), ("user_id", user_id), ("tries", tries))
        if v is not None
    }
    calls.add_call_event(session, call_id, "callback", at, data)
    closed = outcome != "no_answer" or tries >= max_tries
    marked = (
        worklists.mark_called_back(session, call_id, at, by_call_id=by_call_id, user_id=user_id)
        if closed
        else []
    )
    log.info("callback.recorded", call_id=call_id, outcome=outcome, tries=tries, closed=closed)
    return CallbackRecord(call_id, outcome, tries, closed, tuple(marked))
