"""Every KPI of the hotline, defined once, computed with set-based SQL (SQLAlchemy Core).
Every KPI of the hotline, defined once, computed with set-based SQL (SQLAlchemy Core).

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

``compute_kpis`` reads the daily roll-ups (``store.kpi.rollups``) when they can answer the question
and the base tables otherwise, with the same measures (``store.kpi.measures``); see
``store.kpi.rollups`` for when and why.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from sqlalchemy import Connection, Select, and_, func, literal, select, true
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from store.kpi.measures import (
    ACCEPT_BUCKETS_HOURS,
    CALL_COUNT_COLUMNS,
    CALLS,
    SERVICE_LEVEL_BUCKETS_SECONDS,
    TICKET_COUNT_COLUMNS,
    TICKETS,
    accepted_within,
    answered_within,
    call_measures,
    local_day,
    overdue_measures,
    ticket_measures,
)
from store.kpi.rollups import kpi_call_daily, kpi_ticket_daily, refresh_if_dirty, rollups_built
from store.workcal import SHANGHAI

__all__ = [
    "DEFAULT_ACCEPT_WITHIN_HOURS",
    "DEFAULT_SERVICE_LEVEL_SECONDS",
    "GROUPINGS",
    "CallKpis",
    "CaseKpis",
    "KpiGroup",
    "KpiReport",
    "Ratio",
    "compute_kpis",
    "rollups_match_tables",
]

GROUPINGS: tuple[str, ...] = ("board", "department", "district", "leaf", "day")
DEFAULT_SERVICE_LEVEL_SECONDS = 15
DEFAULT_ACCEPT_WITHIN_HOURS = 24


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
    t = TICKETS.c
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


def _case_sums_from_tables(
    conn: Connection | Session,
    by: str | None,
    start: dt.datetime | None,
    end: dt.datetime | None,
    accept_hours: float,
) -> dict[str, dict[str, float]]:
    g = _group_expr(by)
    cols = [func.sum(m).label(n) for n, m in ticket_measures().items()]
    cols.append(func.sum(accepted_within(accept_hours)).label("accepted_in_time"))
    stmt = select(g.label("g"), *cols).where(*_period(TICKETS.c.created_at, start, end)).group_by(g)
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
    t = TICKETS.c
    g = _group_expr(by)
    cols = [func.sum(m).label(n) for n, m in overdue_measures(now).items()]
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
        conds: list[ColumnElement[bool]] = [true()]
        if day_from is not None:
            conds.append(r.day >= day_from)
        if day_to is not None:
            conds.append(r.day < day_to)
        return _sums(conn, select(g.label("g"), *cols).where(*conds).group_by(g))
    g = local_day(CALLS.c.offered_at) if by == "day" else literal("")
    cols = [func.sum(m).label(n) for n, m in call_measures().items()]
    cols.append(func.sum(answered_within(sl_seconds)).label("answered_in_time"))
    where = and_(CALLS.c.direction == "in", *_period(CALLS.c.offered_at, start, end))
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
        source == "auto" and whole_days and buckets_ok and refresh_if_dirty(conn) and rollups_built(conn)
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


def rollups_match_tables(conn: Connection | Session) -> bool:
    """Whether the roll-ups equal a fresh computation from the base tables (a consistency check)."""
    for by in (None, *GROUPINGS):
        fast = compute_kpis(conn, by=by, now=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
        slow = compute_kpis(conn, by=by, now=dt.datetime(2000, 1, 1, tzinfo=dt.UTC), source="tables")
        if fast.as_json()["groups"] != slow.as_json()["groups"] or fast.total != slow.total:
            return False
    return True
