"""Daily KPI roll-up tables (maintained by store.kpi from the days the triggers of migration 0003 mark dirty).

``kpi_ticket_daily`` holds, per Anshan calendar day of ``tickets.created_at`` and per grouping
(``dim`` = "" for the whole centre, "board", "department", "district", "leaf"; ``value`` = the group, "" for
none), the sums of the per-ticket measures defined in store.kpi. ``kpi_call_daily`` does the same for
inbound calls per day of ``offered_at``. ``kpi_rollup_state`` records whether the roll-ups are complete
and by which definition (row ``ROLLUP_VERSION``); without that row store.kpi reads the base tables, so
roll-ups built by an older definition are never read (``store.kpi.rebuild_rollups`` brings them up).

Plain Core tables on ``Base.metadata`` (so Alembic sees them): the counter columns are generated from
the measure-name lists below, which store.kpi uses as the one list of what is rolled up.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, Index, Integer, String, Table, text

from store.models import Base, Ticket, UTCDateTime

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
# every change of tickets / calls) and emptied by store.kpi.refresh_rollups. kind: 'ticket' | 'call'.
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
