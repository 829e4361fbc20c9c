"""Daily KPI roll-ups: the tables, and keeping them equal to the base tables.

``kpi_ticket_daily`` holds, per Anshan calendar day of ``tickets.created_at`` and per grouping
(``dim`` = "" for the whole centre, "board", "department", "district", "leaf"; ``value`` = the group,
"" for none), the sums of the per-ticket measures of store.kpi.measures. ``kpi_call_daily`` does the
same for inbound calls per day of ``offered_at``. ``kpi_rollup_state`` records whether the roll-ups
are complete and by which definition (row ``ROLLUP_VERSION``); without that row store.kpi.report
reads the base tables, so roll-ups built by an older definition are never read (``rebuild_rollups``
brings them up).

Plain Core tables on ``Base.metadata`` (so Alembic sees them): the counter columns are generated from
the measure-name lists of store.kpi.measures, the one list of what is rolled up.

Speed: the per-day sums of every measure are kept in these tables for the whole centre
and per board / department / district / leaf, so a report over a million tickets sums a few
thousand rows. Database triggers (migration 0003) mark the Anshan day of every inserted, deleted or
changed ticket / call in ``kpi_dirty_days`` — whoever writes, ORM or Core, whether or not this package is
imported — at the cost of one INSERT OR IGNORE into a tiny table per change. A report first refreshes
the dirty days (``refresh_rollups``: per day, DELETE its roll-up rows and INSERT ... SELECT them again
from the base tables with the same measure expressions). Reports read the base tables (same
definitions, same result, slower) for datetime bounds, thresholds that are not roll-up buckets
(store.kpi.measures.ACCEPT_BUCKETS_HOURS / SERVICE_LEVEL_BUCKETS_SECONDS), roll-ups not marked built by the
current definition, or when dirty days remain (a refresh that could not run, e.g. a read-only file).
"Overdue open" is always live: a partial index (ix_tickets_open_deadline) over the few tickets still open.

Why mark-and-refresh rather than maintaining the sums in the writer's transaction: the save path stays
one tiny insert (the work moves to the first report after a change, and is per day, not per ticket), no
process has to load hooks, and a refresh recomputes from the base tables, so it cannot drift.
Bulk loads (the history generator) call ``rebuild_rollups`` at the end instead.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    Index,
    Integer,
    String,
    Table,
    and_,
    delete,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from store.kpi.measures import (
    CALL_COUNT_COLUMNS,
    CALLS,
    TICKET_COUNT_COLUMNS,
    TICKETS,
    call_measures,
    local_day,
    ticket_measures,
)
from store.models import Base, Ticket, UTCDateTime
from store.workcal import SHANGHAI

log = structlog.get_logger(__name__)

__all__ = [
    "OPEN_DEADLINE_WHERE",
    "ROLLED_UP_DIMS",
    "ROLLUP_VERSION",
    "kpi_call_daily",
    "kpi_dirty_days",
    "kpi_rollup_state",
    "kpi_ticket_daily",
    "rebuild_rollups",
    "refresh_if_dirty",
    "refresh_rollups",
    "rollups_built",
]

# Which ticket groupings are rolled up ("" = the whole centre); call groupings other than day read tables.
ROLLED_UP_DIMS: tuple[str, ...] = ("", "board", "department", "district", "leaf")
# Change it whenever the measures or the dims change: stores built by another definition read tables.
ROLLUP_VERSION = "built-v1"

_Count = BigInteger().with_variant(Integer(), "sqlite")


def _counters(names: tuple[str, ...]) -> list[Column[int]]:
    return [Column(name, _Count, nullable=False, default=0) for name in names]


kpi_ticket_daily = Table(
    "kpi_ticket_daily",
    Base.metadata,
    Column("dim", String(16), primary_key=True),  # first: every query names one grouping
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD on the Asia/Shanghai clock
    Column("value", String(64), primary_key=True),
    *_counters(TICKET_COUNT_COLUMNS),
)

kpi_call_daily = Table(
    "kpi_call_daily",
    Base.metadata,
    Column("day", String(10), primary_key=True),
    *_counters(CALL_COUNT_COLUMNS),
    Column("talk_seconds", Float, nullable=False, default=0.0),
)

# Days whose roll-up rows are out of date: written only by the database triggers of migration 0003 (on
# every change of tickets / calls) and emptied by refresh_rollups. kind: 'ticket' | 'call'.
kpi_dirty_days = Table(
    "kpi_dirty_days",
    Base.metadata,
    Column("kind", String(8), primary_key=True),
    Column("day", String(10), primary_key=True),  # YYYY-MM-DD on the Asia/Shanghai clock
)

kpi_rollup_state = Table(
    "kpi_rollup_state",
    Base.metadata,
    Column("name", String(32), primary_key=True),
    Column("at", UTCDateTime(), nullable=False),
)

# Overdue open tickets: a small partial index over the tickets a department still holds, instead of
# scanning every past deadline (created by migration 0002; declared here so autogenerate agrees).
OPEN_DEADLINE_WHERE = "closed_at IS NULL AND dispatched_at IS NOT NULL"
Index(
    "ix_tickets_open_deadline",
    Ticket.__table__.c.deadline,
    sqlite_where=text(OPEN_DEADLINE_WHERE),
    postgresql_where=text(OPEN_DEADLINE_WHERE),
)


# --- roll-up maintenance -------------------------------------------------------------------------

_DAY_CHUNK = 50  # days per recompute statement: an OR of that many index ranges stays a cheap plan


def _ticket_rollup_inserts(conn: Connection, where: list[ColumnElement[bool]]) -> None:
    """INSERT ... SELECT of the roll-up rows of the tickets matching ``where``.

    One statement, one pass over the tickets: the measures are summed per (day, board, department,
    district, leaf) in a CTE (a few hundred rows a day), which each dim then sums again (UNION ALL).
    """
    t = TICKETS.c
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
    cday = local_day(CALLS.c.offered_at)
    sums = [func.sum(m) for m in call_measures().values()]
    stmt = select(cday, *sums).where(CALLS.c.direction == "in", *where).group_by(cday)
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
        ("ticket", kpi_ticket_daily, TICKETS.c.created_at, _ticket_rollup_inserts),
        ("call", kpi_call_daily, CALLS.c.offered_at, _call_rollup_inserts),
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


def rollups_built(conn: Connection | Session) -> bool:
    """Whether the roll-ups are complete and built by the current definition (else reports read tables)."""
    state = kpi_rollup_state.c.name
    return conn.execute(select(state).where(state == ROLLUP_VERSION)).first() is not None


def _dirty(conn: Connection | Session) -> bool:
    return conn.execute(select(exists().select_from(kpi_dirty_days))).scalar_one()


def refresh_if_dirty(conn: Connection | Session) -> bool:
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
