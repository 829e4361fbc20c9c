"""Every KPI of the hotline, defined once, computed with set-based SQL (SQLAlchemy Core).

Period: ``[date_from, date_to)`` on ``tickets.created_at`` (case KPIs) and ``calls.offered_at`` (call
KPIs); dates are Anshan (Asia/Shanghai) calendar days, datetimes are taken as given. Groupings
(``by``): None (the whole centre), ``board``, ``department`` (the lead department, 主办), ``district``,
``leaf``, ``day``. Call KPIs exist for None and ``day`` only (a call has no board or department).
Merged tickets (已并单, duplicates of another ticket) are left out of every case KPI.

Case KPIs (from ``tickets``; satisfaction is the ticket's latest 回访 verdict):

=============================== ====================================== ======================================
KPI                             numerator                              denominator
=============================== ====================================== ======================================
completion_rate 办结率           closed (closed_at set)                 received (tickets, not merged)
on_time_close_rate 按时办结率     closed dispatched with                 closed dispatched tickets with a
                                closed_at <= deadline                  deadline
on_time_reply_rate 按时反馈率     replied with replied_at <= deadline    dispatched tickets with a reply and
                                                                       a deadline
timely_accept_rate 及时签收率     accepted within accept_within_hours    dispatched tickets signed for
                                of dispatched_at                       (accepted_at set)
satisfaction_rate 回访满意率      satisfaction 满意 or 基本满意           evaluated (satisfaction set)
return_rate 回退率               dispatched with return_count > 0       dispatched (dispatched_at set)
rehandle_rate 重办率             closed with rehandle_count > 0         closed
direct_close_share 直接办结占比   closed without dispatch                received
overdue_open 超期未办结           held by the department (已派单/已签收/   tickets the department holds
                                办理中) and deadline < now              (a snapshot at ``now``)
=============================== ====================================== ======================================

Call KPIs (from ``calls``, inbound only: direction = 'in'):

=============================== ====================================== ======================================
answer_rate 接通率               answered (answered_at set)             offered (inbound calls)
service_level 服务水平           answered within service_level_seconds  offered
                                (15 s) of offered_at
abandon_rate 放弃率              ended unanswered, except those the     offered
                                operator rejected as ghost calls
                                (end_reason 'rejected')
aht_seconds 平均通话时长          talk seconds (answered_at → ended_at)  answered calls that ended
=============================== ====================================== ======================================

After-call work is not recorded per call in the schema (only as agent states), so AHT is talk time.

Speed: the per-day sums of every measure are kept in roll-up tables (store/rollups.py) for the whole
centre and per board / department / district / leaf, so a report over a million tickets sums a few
thousand rows. Database triggers (migration 0003) mark the Anshan day of every inserted, deleted or
changed ticket / call in ``kpi_dirty_days`` — whoever writes, ORM or Core, whether or not this module is
imported — at the cost of one INSERT OR IGNORE into a tiny table per change. A report first refreshes
the dirty days (``refresh_rollups``: per day, DELETE its roll-up rows and INSERT ... SELECT them again
from the base tables with the same measure expressions). Reports read the base tables (same
definitions, same result, slower) for datetime bounds, thresholds that are not roll-up buckets
(store.rollups.ACCEPT_BUCKETS_HOURS / SERVICE_LEVEL_BUCKETS_SECONDS), roll-ups not marked built by the
current definition, or when dirty days remain (a refresh that could not run, e.g. a read-only file).
"Overdue open" is always live: a partial index (ix_tickets_open_deadline) over the few tickets still open.

Why mark-and-refresh rather than maintaining the sums in the writer's transaction: the save path stays
one tiny insert (the work moves to the first report after a change, and is per day, not per ticket), no
process has to load hooks, and a refresh recomputes from the base tables, so it cannot drift.
Bulk loads (the history generator) call ``rebuild_rollups`` at the end instead.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import structlog
from sqlalchemy import (
    Connection,
    Float,
    Select,
    String,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    true,
    tuple_,
    union_all,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from store.lifecycle import DEPARTMENT_STATES, MERGED
from store.models import Call, Ticket
from store.rollups import (
    ACCEPT_BUCKETS_HOURS,
    CALL_COUNT_COLUMNS,
    ROLLED_UP_DIMS,
    ROLLUP_VERSION,
    SERVICE_LEVEL_BUCKETS_SECONDS,
    TICKET_COUNT_COLUMNS,
    kpi_call_daily,
    kpi_dirty_days,
    kpi_rollup_state,
    kpi_ticket_daily,
)
from store.workcal import SHANGHAI

log = structlog.get_logger(__name__)

GROUPINGS: tuple[str, ...] = ("board", "department", "district", "leaf", "day")
DEFAULT_SERVICE_LEVEL_SECONDS = 15
DEFAULT_ACCEPT_WITHIN_HOURS = 24
_T = Ticket.__table__
_C = Call.__table__
_EPS = 0.001  # seconds; julianday arithmetic is floating point


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
    t = _T.c
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
        "satisfied": and_(evaluated, t.satisfaction.in_(("满意", "基本满意"))),
    }
    assert tuple(m) == TICKET_COUNT_COLUMNS
    return {name: _flag(cond) for name, cond in m.items()}


def _accept_within(hours: float) -> ColumnElement[int]:
    t = _T.c
    accepted = and_(t.status != MERGED, t.dispatched_at.is_not(None), t.accepted_at.is_not(None))
    return _flag(and_(accepted, seconds_between(t.accepted_at, t.dispatched_at) <= hours * 3600 + _EPS))


def call_measures() -> dict[str, ColumnElement[Any]]:
    """Per-call measures (inbound only); ``talk_seconds`` is a float, the rest 0/1."""
    c = _C.c
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


def _answered_within(seconds: float) -> ColumnElement[int]:
    c = _C.c
    answered = and_(c.direction == "in", c.answered_at.is_not(None))
    return _flag(and_(answered, seconds_between(c.answered_at, c.offered_at) <= seconds + _EPS))


def _overdue_measures(now: dt.datetime) -> dict[str, ColumnElement[int]]:
    t = _T.c
    held = t.status.in_(sorted(DEPARTMENT_STATES))
    return {"held_by_department": _flag(held), "overdue_open": _flag(and_(held, t.deadline < now))}


# --- results -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ratio:
    numerator: int
    denominator: int

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    def as_json(self) -> dict[str, Any]:
        v = self.value
        return {
            "value": None if v is None else round(v, 6),
            "numerator": self.numerator,
            "denominator": self.denominator,
        }


@dataclass(frozen=True)
class CaseKpis:
    received: int
    merged: int
    dispatched: int
    closed: int
    evaluated: int
    completion_rate: Ratio
    on_time_close_rate: Ratio
    on_time_reply_rate: Ratio
    timely_accept_rate: Ratio
    satisfaction_rate: Ratio
    return_rate: Ratio
    rehandle_rate: Ratio
    direct_close_share: Ratio
    overdue_open: Ratio

    @classmethod
    def from_sums(cls, s: Mapping[str, int], accepted_in_time: int) -> CaseKpis:
        r = Ratio
        return cls(
            received=s["received"],
            merged=s["merged"],
            dispatched=s["dispatched"],
            closed=s["closed"],
            evaluated=s["evaluated"],
            completion_rate=r(s["closed"], s["received"]),
            on_time_close_rate=r(s["closed_on_time"], s["closed_dispatched"]),
            on_time_reply_rate=r(s["replied_on_time"], s["replied"]),
            timely_accept_rate=r(accepted_in_time, s["accepted"]),
            satisfaction_rate=r(s["satisfied"], s["evaluated"]),
            return_rate=r(s["returned"], s["dispatched"]),
            rehandle_rate=r(s["rehandled"], s["closed"]),
            direct_close_share=r(s["direct_closed"], s["received"]),
            overdue_open=r(s["overdue_open"], s["held_by_department"]),
        )


@dataclass(frozen=True)
class CallKpis:
    offered: int
    answered: int
    abandoned: int
    rejected: int
    answer_rate: Ratio
    service_level: Ratio
    abandon_rate: Ratio
    talk_calls: int
    aht_seconds: float | None

    @classmethod
    def from_sums(cls, s: Mapping[str, float], answered_in_time: int) -> CallKpis:
        offered = int(s["offered"])
        talk_calls = int(s["talk_calls"])
        return cls(
            offered=offered,
            answered=int(s["answered"]),
            abandoned=int(s["abandoned"]),
            rejected=int(s["rejected"]),
            answer_rate=Ratio(int(s["answered"]), offered),
            service_level=Ratio(answered_in_time, offered),
            abandon_rate=Ratio(int(s["abandoned"]), offered),
            talk_calls=talk_calls,
            aht_seconds=round(float(s["talk_seconds"]) / talk_calls, 3) if talk_calls else None,
        )


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Ratio):
        return obj.as_json()
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    return obj


@dataclass(frozen=True)
class KpiGroup:
    key: str | None  # the board / department / district / leaf / day; None = the whole centre
    cases: CaseKpis
    calls: CallKpis | None

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "cases": {k: _jsonable(getattr(self.cases, k)) for k in self.cases.__dataclass_fields__},
            "calls": None
            if self.calls is None
            else {k: _jsonable(getattr(self.calls, k)) for k in self.calls.__dataclass_fields__},
        }


@dataclass(frozen=True)
class KpiReport:
    date_from: dt.datetime | None
    date_to: dt.datetime | None
    by: str | None
    now: dt.datetime
    service_level_seconds: float
    accept_within_hours: float
    source: str  # "rollup" or "tables"
    total: KpiGroup
    groups: list[KpiGroup] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready dict (``json.dumps(report.as_json(), ensure_ascii=False)``)."""
        iso = lambda d: None if d is None else d.isoformat()  # noqa: E731
        return {
            "from": iso(self.date_from),
            "to": iso(self.date_to),
            "by": self.by,
            "now": iso(self.now),
            "service_level_seconds": self.service_level_seconds,
            "accept_within_hours": self.accept_within_hours,
            "source": self.source,
            "total": self.total.as_json(),
            "groups": [g.as_json() for g in self.groups],
        }

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- computing -----------------------------------------------------------------------------------


def _bound(value: dt.date | dt.datetime | None) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given as a KPI period bound; use an aware datetime or a date")
        return value
    return dt.datetime.combine(value, dt.time(0), SHANGHAI)


def _day_text(value: dt.date | dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()[:10]


def _group_expr(by: str | None) -> ColumnElement[Any]:
    t = _T.c
    exprs: dict[str | None, ColumnElement[Any]] = {
        None: literal(""),
        "board": func.coalesce(t.board, ""),
        "department": func.coalesce(t.department, ""),
        "district": func.coalesce(t.district, ""),
        "leaf": func.coalesce(t.leaf_code, ""),
        "day": local_day(t.created_at),
    }
    return exprs[by]


def _period(col: Any, start: dt.datetime | None, end: dt.datetime | None) -> list[ColumnElement[bool]]:
    """The period's conditions; none when unbounded (so SQLite can count from the smallest index)."""
    conds = []
    if start is not None:
        conds.append(col >= start)
    if end is not None:
        conds.append(col < end)
    return conds


def _sums(conn: Connection | Session, stmt: Select[Any]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for row in conn.execute(stmt).mappings():
        out[str(row["g"])] = {k: float(v or 0) for k, v in row.items() if k != "g"}  # PG sums are Decimal
    return out


def rollups_built(conn: Connection | Session) -> bool:
    """Whether the roll-ups are complete and built by the current definition (else reports read tables)."""
    state = kpi_rollup_state.c.name
    return conn.execute(select(state).where(state == ROLLUP_VERSION)).first() is not None


def _case_sums_from_tables(
    conn: Connection | Session,
    by: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    accept_hours: float,
) -> dict[str, dict[str, float]]:
    g = _group_expr(by)
    cols = [func.sum(m).label(n) for n, m in ticket_measures().items()]
    cols.append(func.sum(_accept_within(accept_hours)).label("accepted_in_time"))
    stmt = select(g.label("g"), *cols).where(*_period(_T.c.created_at, start, end)).group_by(g)
    return _sums(conn, stmt)


def _case_sums_from_rollup(
    conn: Connection | Session, by: str | None, day_from: str | None, day_to: str | None, accept_hours: float
) -> dict[str, dict[str, float]]:
    r = kpi_ticket_daily.c
    dim = "" if by in (None, "day") else by
    g = r.day if by == "day" else r.value
    cols = [func.sum(r[n]).label(n) for n in TICKET_COUNT_COLUMNS]
    cols.append(func.sum(r[f"accepted_within_{int(accept_hours)}h"]).label("accepted_in_time"))
    conds = [r.dim == dim]
    if day_from is not None:
        conds.append(r.day >= day_from)
    if day_to is not None:
        conds.append(r.day < day_to)
    return _sums(conn, select(g.label("g"), *cols).where(*conds).group_by(g))


def _overdue_sums(
    conn: Connection | Session,
    by: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    now: dt.datetime,
) -> dict[str, dict[str, float]]:
    t = _T.c
    g = _group_expr(by)
    cols = [func.sum(m).label(n) for n, m in _overdue_measures(now).items()]
    # the literal predicate of the partial index ix_tickets_open_deadline, so the planner can use it
    where = and_(t.closed_at.is_(None), t.dispatched_at.is_not(None), *_period(t.created_at, start, end))
    return _sums(conn, select(g.label("g"), *cols).where(where).group_by(g))


def _call_sums(
    conn: Connection | Session,
    by: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    day_from: str | None,
    day_to: str | None,
    sl_seconds: float,
    use_rollup: bool,
) -> dict[str, dict[str, float]]:
    if use_rollup:
        r = kpi_call_daily.c
        g: ColumnElement[Any] = r.day if by == "day" else literal("")
        cols = [func.sum(r[n]).label(n) for n in (*CALL_COUNT_COLUMNS, "talk_seconds")]
        cols.append(func.sum(r[f"answered_within_{int(sl_seconds)}s"]).label("answered_in_time"))
        conds = [true()]
        if day_from is not None:
            conds.append(r.day >= day_from)
        if day_to is not None:
            conds.append(r.day < day_to)
        return _sums(conn, select(g.label("g"), *cols).where(*conds).group_by(g))
    g = local_day(_C.c.offered_at) if by == "day" else literal("")
    cols = [func.sum(m).label(n) for n, m in call_measures().items()]
    cols.append(func.sum(_answered_within(sl_seconds)).label("answered_in_time"))
    where = and_(_C.c.direction == "in", *_period(_C.c.offered_at, start, end))
    return _sums(conn, select(g.label("g"), *cols).where(where).group_by(g))


_ZERO_CASES = dict.fromkeys(
    (*TICKET_COUNT_COLUMNS, "accepted_in_time", "held_by_department", "overdue_open"), 0
)
_ZERO_CALLS = dict.fromkeys((*CALL_COUNT_COLUMNS, "talk_seconds", "answered_in_time"), 0)


def compute_kpis(
    conn: Connection | Session,
    date_from: dt.date | dt.datetime | None = None,
    date_to: dt.date | dt.datetime | None = None,
    by: str | None = None,
    *,
    now: dt.datetime | None = None,
    service_level_seconds: float = DEFAULT_SERVICE_LEVEL_SECONDS,
    accept_within_hours: float = DEFAULT_ACCEPT_WITHIN_HOURS,
    source: Literal["auto", "tables"] = "auto",
) -> KpiReport:
    """All KPIs for the period [date_from, date_to) (None = unbounded), grouped ``by`` (see the docstring)."""
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r}; expected one of {', '.join(GROUPINGS)}")
    now = now or dt.datetime.now(dt.UTC)
    start, end = _bound(date_from), _bound(date_to)
    whole_days = not isinstance(date_from, dt.datetime) and not isinstance(date_to, dt.datetime)
    day_from, day_to = _day_text(date_from), _day_text(date_to)
    buckets_ok = (
        float(accept_within_hours) in ACCEPT_BUCKETS_HOURS
        and float(service_level_seconds) in SERVICE_LEVEL_BUCKETS_SECONDS
    )
    # refresh first: on a SQLite read transaction the first read fixes the snapshot
    use_rollup = (
        source == "auto" and whole_days and buckets_ok and _refresh_if_dirty(conn) and rollups_built(conn)
    )
    cases_rollup = use_rollup

    if cases_rollup:
        case_sums = _case_sums_from_rollup(conn, by, day_from, day_to, accept_within_hours)
    else:
        case_sums = _case_sums_from_tables(conn, by, start, end, accept_within_hours)
    overdue = _overdue_sums(conn, by, start, end, now)
    with_calls = by in (None, "day")
    call_sums = (
        _call_sums(conn, by, start, end, day_from, day_to, service_level_seconds, use_rollup)
        if with_calls
        else {}
    )

    keys = sorted(set(case_sums) | set(overdue) | set(call_sums))
    totals_cases: dict[str, float] = defaultdict(float)
    totals_calls: dict[str, float] = defaultdict(float)
    groups: list[KpiGroup] = []
    for key in keys:
        if not any(any(part.get(key, {}).values()) for part in (case_sums, overdue, call_sums)):
            continue  # a roll-up row whose tickets all moved elsewhere or were deleted
        cs = {**_ZERO_CASES, **case_sums.get(key, {}), **overdue.get(key, {})}
        for k, v in cs.items():
            totals_cases[k] += v
        calls = None
        if with_calls:
            ks = {**_ZERO_CALLS, **call_sums.get(key, {})}
            for k, v in ks.items():
                totals_calls[k] += v
            calls = CallKpis.from_sums(ks, int(ks["answered_in_time"]))
        groups.append(KpiGroup(key, CaseKpis.from_sums(_ints(cs), int(cs["accepted_in_time"])), calls))
    tc = {**_ZERO_CASES, **totals_cases}
    total = KpiGroup(
        None,
        CaseKpis.from_sums(_ints(tc), int(tc["accepted_in_time"])),
        CallKpis.from_sums({**_ZERO_CALLS, **totals_calls}, int(totals_calls["answered_in_time"]))
        if with_calls
        else None,
    )
    return KpiReport(
        date_from=start,
        date_to=end,
        by=by,
        now=now,
        service_level_seconds=service_level_seconds,
        accept_within_hours=accept_within_hours,
        source="rollup" if cases_rollup else "tables",
        total=total,
        groups=groups if by is not None else [],
    )


def _ints(sums: Mapping[str, float]) -> dict[str, int]:
    return {k: int(v) for k, v in sums.items()}


# --- roll-up maintenance -------------------------------------------------------------------------

_DAY_CHUNK = 50  # days per recompute statement: an OR of that many index ranges stays a cheap plan


def _ticket_rollup_inserts(conn: Connection, where: list[ColumnElement[bool]]) -> None:
    """INSERT ... SELECT of the roll-up rows of the tickets matching ``where``.

    One statement, one pass over the tickets: the measures are summed per (day, board, department,
    district, leaf) in a CTE (a few hundred rows a day), which each dim then sums again (UNION ALL).
    """
    t = _T.c
    keys = {
        "day": local_day(t.created_at),
        "board": func.coalesce(t.board, ""),
        "department": func.coalesce(t.department, ""),
        "district": func.coalesce(t.district, ""),
        "leaf": func.coalesce(t.leaf_code, ""),
    }
    base = (
        select(
            *(k.label(n) for n, k in keys.items()),
            *(func.sum(m).label(n) for n, m in ticket_measures().items()),
        )
        .where(*where)
        .group_by(*keys.values())
        .cte("kpi_base")
    )
    parts = []
    for dim in ROLLED_UP_DIMS:
        value = base.c[dim] if dim else literal("", String())
        groups = (base.c.day, base.c[dim]) if dim else (base.c.day,)
        parts.append(
            select(
                literal(dim, String()),
                base.c.day,
                value,
                *(func.sum(base.c[n]) for n in TICKET_COUNT_COLUMNS),
            ).group_by(*groups)
        )
    stmt = union_all(*parts)
    conn.execute(insert(kpi_ticket_daily).from_select(["dim", "day", "value", *TICKET_COUNT_COLUMNS], stmt))


def _call_rollup_inserts(conn: Connection, where: list[ColumnElement[bool]]) -> None:
    cday = local_day(_C.c.offered_at)
    sums = [func.sum(m) for m in call_measures().values()]
    stmt = select(cday, *sums).where(_C.c.direction == "in", *where).group_by(cday)
    conn.execute(insert(kpi_call_daily).from_select(["day", *CALL_COUNT_COLUMNS, "talk_seconds"], stmt))


def _lock_writers_out(conn: Connection) -> None:
    """PostgreSQL: wait for in-flight writers of tickets/calls and hold new ones off until commit.

    Why: a writer's trigger may have marked its day (or found it already marked: ON CONFLICT DO NOTHING
    takes no lock) before we take the dirty rows, while its change commits only after our recompute
    read the day; the day would then be clean but wrong. SHARE mode conflicts with every writer's ROW
    EXCLUSIVE lock, so once it is granted no uncommitted ticket/call change exists, and any change
    after our commit marks its day dirty again. Refreshers do not block each other (SHARE vs SHARE).
    On SQLite writers are serialized by the database lock (BEGIN IMMEDIATE), which gives the same.
    """
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("LOCK TABLE tickets, calls IN SHARE MODE")


def _take_dirty_days(conn: Connection) -> dict[str, list[str]]:
    d = kpi_dirty_days.c
    if conn.dialect.name == "postgresql":
        # SKIP LOCKED: concurrent refreshers take disjoint sets of days, in a fixed order, without
        # waiting on (or deadlocking with) each other; a day another refresher holds stays visible
        # as dirty until it commits, so a report meanwhile does not trust that day's roll-up.
        taken = select(d.kind, d.day).order_by(d.kind, d.day).with_for_update(skip_locked=True)
        rows = conn.execute(
            delete(kpi_dirty_days).where(tuple_(d.kind, d.day).in_(taken)).returning(d.kind, d.day)
        ).all()
    else:
        rows = conn.execute(select(d.kind, d.day)).all()
        conn.execute(delete(kpi_dirty_days))
    days: dict[str, list[str]] = {"ticket": [], "call": []}
    for kind, day in rows:
        days.setdefault(kind, []).append(day)
    return {k: sorted(v) for k, v in days.items()}


def _day_ranges(col: Any, days: list[str]) -> ColumnElement[bool]:
    """``col`` within any of the Anshan ``days``: index ranges on the UTC column (no function on it)."""
    ranges = []
    for day in days:
        start = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(0), SHANGHAI)
        ranges.append(and_(col >= start, col < start + dt.timedelta(days=1)))
    return or_(*ranges)


def refresh_rollups(conn: Connection) -> int:
    """Recompute the roll-up rows of every day marked dirty by the triggers; returns the days done.

    Run it in a write transaction (it is short: a few statements per 50 dirty days). Set-based: per
    chunk of days, DELETE their roll-up rows and INSERT ... SELECT them again from the base tables with
    the measures above (the same statements as ``rebuild_rollups``).
    """
    _lock_writers_out(conn)
    days = _take_dirty_days(conn)
    for kind, table, col, inserts in (
        ("ticket", kpi_ticket_daily, _T.c.created_at, _ticket_rollup_inserts),
        ("call", kpi_call_daily, _C.c.offered_at, _call_rollup_inserts),
    ):
        todo = days.get(kind, [])
        for i in range(0, len(todo), _DAY_CHUNK):
            chunk = todo[i : i + _DAY_CHUNK]
            conn.execute(delete(table).where(table.c.day.in_(chunk)))
            inserts(conn, [_day_ranges(col, chunk)])
    done = sum(len(v) for v in days.values())
    if done:
        log.debug("kpi.rollups_refreshed", days=done)
    return done


def _dirty(conn: Connection | Session) -> bool:
    return conn.execute(select(exists().select_from(kpi_dirty_days))).scalar_one()


def _refresh_if_dirty(conn: Connection | Session) -> bool:
    """Bring the roll-ups up to date before a report; False when they cannot be trusted for it.

    A write transaction refreshes inside it (a savepoint: a failure leaves the caller's work alone). A
    read-only one (Store.read: on SQLite a deferred BEGIN that must not take the write lock) checks and
    refreshes on a connection of its own that commits, before this connection reads anything, so its
    snapshot then includes the refresh; a last check on it catches a change committed in between.
    """
    c = conn.connection() if isinstance(conn, Session) else conn
    try:
        if c.info.get("write", True):
            if _dirty(c):
                with c.begin_nested():
                    refresh_rollups(c)
        else:
            with c.engine.connect() as probe:
                probe.info["write"] = False
                dirty = _dirty(probe)
            if dirty:
                with c.engine.begin() as writer:
                    refresh_rollups(writer)
    except DBAPIError as exc:  # a read-only file, a busy lock: report from the tables this time
        log.warning("kpi.refresh_failed", error=str(exc.orig))
        return False
    return not _dirty(c)


def rebuild_rollups(conn: Connection) -> None:
    """Recompute every roll-up from the base tables and mark them built (after bulk loads, upgrades).

    Run it in a write transaction; on PostgreSQL the tickets and calls tables are locked against
    writers for its duration so no concurrent change is counted twice or lost.
    """
    _lock_writers_out(conn)
    for table in (kpi_ticket_daily, kpi_call_daily, kpi_rollup_state, kpi_dirty_days):
        conn.execute(delete(table))
    _ticket_rollup_inserts(conn, [])
    _call_rollup_inserts(conn, [])
    conn.execute(insert(kpi_rollup_state).values(name=ROLLUP_VERSION, at=dt.datetime.now(dt.UTC)))
    log.info("kpi.rollups_rebuilt")


def rollups_match_tables(conn: Connection | Session) -> bool:
    """Whether the roll-ups equal a fresh computation from the base tables (a consistency check)."""
    for by in (None, *GROUPINGS):
        fast = compute_kpis(conn, by=by, now=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        slow = compute_kpis(conn, by=by, now=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), source="tables")
        if fast.as_json()["groups"] != slow.as_json()["groups"] or fast.total != slow.total:
            return False
    return True


__all__ = [
    "CallKpis",
    "CaseKpis",
    "KpiGroup",
    "KpiReport",
    "Ratio",
    "call_measures",
    "compute_kpis",
    "rebuild_rollups",
    "refresh_rollups",
    "rollups_built",
    "rollups_match_tables",
    "ticket_measures",
]
