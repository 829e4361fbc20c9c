"""The KPI measures: one SQL expression per counted fact of one ticket or call.

Every KPI (``store.kpi.report``) is a ratio of sums of these, whether summed from the base tables or
from the daily roll-ups (``store.kpi.rollups``), so both read the one definition here. The name lists
``TICKET_COUNT_COLUMNS`` / ``CALL_COUNT_COLUMNS`` are also the roll-ups' counter columns, and the
buckets are the thresholds the roll-ups can answer (``accepted_within_{h}h``,
``answered_within_{s}s``). ``seconds_between`` and ``local_day`` are portable SQL (SQLite and
PostgreSQL) for the time arithmetic.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Float, String, and_, case, not_, or_
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from store.models import Call, Ticket
from store.vocabulary import DEPARTMENT_STATES, FAIRLY_SATISFIED, MERGED, SATISFIED

__all__ = [
    "ACCEPT_BUCKETS_HOURS",
    "CALLS",
    "CALL_COUNT_COLUMNS",
    "SERVICE_LEVEL_BUCKETS_SECONDS",
    "TICKETS",
    "TICKET_COUNT_COLUMNS",
    "accepted_within",
    "answered_within",
    "call_measures",
    "local_day",
    "overdue_measures",
    "seconds_between",
    "ticket_measures",
]

TICKETS = Ticket.__table__
CALLS = Call.__table__
_EPS = 0.001  # seconds; julianday arithmetic is floating point

ACCEPT_BUCKETS_HOURS: tuple[int, ...] = (1, 2, 4, 8, 12, 24, 48, 72)
SERVICE_LEVEL_BUCKETS_SECONDS: tuple[int, ...] = (5, 10, 15, 20, 30, 60)

TICKET_COUNT_COLUMNS: tuple[str, ...] = (
    "received",
    "merged",
    "direct_closed",
    "dispatched",
    "closed",
    "closed_dispatched",
    "closed_on_time",
    "replied",
    "replied_on_time",
    "accepted",
    *(f"accepted_within_{h}h" for h in ACCEPT_BUCKETS_HOURS),
    "returned",
    "rehandled",
    "evaluated",
    "satisfied",
)
CALL_COUNT_COLUMNS: tuple[str, ...] = (
    "offered",
    "answered",
    *(f"answered_within_{s}s" for s in SERVICE_LEVEL_BUCKETS_SECONDS),
    "abandoned",
    "rejected",
    "talk_calls",
)


# --- dialect-portable SQL pieces -----------------------------------------------------------------


class seconds_between(FunctionElement[float]):
    """``later - earlier`` in seconds (float)."""

    type = Float()
    inherit_cache = True


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


@compiles(seconds_between, "postgresql")
def _seconds_pg(element: seconds_between, compiler: Any, **kw: Any) -> str:
    later, earlier = (compiler.process(c, **kw) for c in element.clauses)
    return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"


class local_day(FunctionElement[str]):
    """The Anshan calendar day (YYYY-MM-DD) of a UTC timestamp column (UTC+8, no DST since 1991)."""

    type = String()
    inherit_cache = True


@compiles(local_day, "sqlite")
def _day_sqlite(element: local_day, compiler: Any, **kw: Any) -> str:
    (col,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"date({col}, '+8 hours')"


@compiles(local_day, "postgresql")
def _day_pg(element: local_day, compiler: Any, **kw: Any) -> str:
    (col,) = (compiler.process(c, **kw) for c in element.clauses)
    return f"to_char({col} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"


def _flag(cond: ColumnElement[bool]) -> ColumnElement[int]:
    return case((cond, 1), else_=0)


# --- the measures: one SQL expression per counted fact of one row ---------------------------------


def ticket_measures() -> dict[str, ColumnElement[int]]:
    """Per-ticket 0/1 measures; every case KPI is a ratio of sums of these (see the docstring)."""
    t = TICKETS.c
    kept = t.status != MERGED
    dispatched = and_(kept, t.dispatched_at.is_not(None))
    closed = and_(kept, t.closed_at.is_not(None))
    closed_dispatched = and_(closed, t.dispatched_at.is_not(None), t.deadline.is_not(None))
    replied = and_(dispatched, t.replied_at.is_not(None), t.deadline.is_not(None))
    accepted = and_(dispatched, t.accepted_at.is_not(None))
    accept_wait = seconds_between(t.accepted_at, t.dispatched_at)
    evaluated = and_(kept, t.satisfaction.is_not(None))
    m: dict[str, ColumnElement[bool]] = {
        "received": kept,
        "merged": t.status == MERGED,
        "direct_closed": and_(closed, t.dispatched_at.is_(None)),
        "dispatched": dispatched,
        "closed": closed,
        "closed_dispatched": closed_dispatched,
        "closed_on_time": and_(closed_dispatched, t.closed_at <= t.deadline),
        "replied": replied,
        "replied_on_time": and_(replied, t.replied_at <= t.deadline),
        "accepted": accepted,
        **{
            f"accepted_within_{h}h": and_(accepted, accept_wait <= h * 3600 + _EPS)
            for h in ACCEPT_BUCKETS_HOURS
        },
        "returned": and_(dispatched, t.return_count > 0),
        "rehandled": and_(closed, t.rehandle_count > 0),
        "evaluated": evaluated,
        "satisfied": and_(evaluated, t.satisfaction.in_((SATISFIED, FAIRLY_SATISFIED))),
    }
    assert tuple(m) == TICKET_COUNT_COLUMNS
    return {name: _flag(cond) for name, cond in m.items()}


def accepted_within(hours: float) -> ColumnElement[int]:
    """1 for a dispatched ticket signed for within ``hours`` of its dispatch."""
    t = TICKETS.c
    accepted = and_(t.status != MERGED, t.dispatched_at.is_not(None), t.accepted_at.is_not(None))
    return _flag(and_(accepted, seconds_between(t.accepted_at, t.dispatched_at) <= hours * 3600 + _EPS))


def call_measures() -> dict[str, ColumnElement[Any]]:
    """Per-call measures (inbound only); ``talk_seconds`` is a float, the rest 0/1."""
    c = CALLS.c
    inbound = c.direction == "in"
    answered = and_(inbound, c.answered_at.is_not(None))
    wait = seconds_between(c.answered_at, c.offered_at)
    unanswered_end = and_(inbound, c.answered_at.is_(None), c.ended_at.is_not(None))
    rejected = c.end_reason == "rejected"
    talk = and_(answered, c.ended_at.is_not(None))
    m: dict[str, ColumnElement[Any]] = {
        "offered": _flag(inbound),
        "answered": _flag(answered),
        **{
            f"answered_within_{s}s": _flag(and_(answered, wait <= s + _EPS))
            for s in SERVICE_LEVEL_BUCKETS_SECONDS
        },
        "abandoned": _flag(and_(unanswered_end, or_(c.end_reason.is_(None), not_(rejected)))),
        "rejected": _flag(and_(unanswered_end, rejected)),
        "talk_calls": _flag(talk),
    }
    assert tuple(m) == CALL_COUNT_COLUMNS
    m["talk_seconds"] = case((talk, seconds_between(c.ended_at, c.answered_at)), else_=0.0)
    return m


def answered_within(seconds: float) -> ColumnElement[int]:
    """1 for an inbound call answered within ``seconds`` of its offer."""
    c = CALLS.c
    answered = and_(c.direction == "in", c.answered_at.is_not(None))
    return _flag(and_(answered, seconds_between(c.answered_at, c.offered_at) <= seconds + _EPS))


def overdue_measures(now: dt.datetime) -> dict[str, ColumnElement[int]]:
    """Tickets a department holds, and those of them past their deadline at ``now``."""
    t = TICKETS.c
    held = t.status.in_(sorted(DEPARTMENT_STATES))
    return {"held_by_department": _flag(held), "overdue_open": _flag(and_(held, t.deadline < now))}
