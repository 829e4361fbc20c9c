"""The history generator's bulk writer: rows straight through the driver, ids assigned in memory.

Core's per-value bind processing is the bottleneck at tens of millions of event rows, so a
``Batch`` of rows (dicts per table, tuples in ``EVENT_COLUMNS`` order for the events) goes to the
driver's executemany on SQLite and to COPY on PostgreSQL, with values converted here the way the
store's column types do (``db_time_of``, JSON). Ids are assigned by the generator from ``next_ids``
under ``lock_for_bulk`` (PostgreSQL: no other writer may take ids meanwhile), and
``advance_sequences`` then moves PostgreSQL's sequences past them.
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import JSON, Connection, Table, func, select

from store.models import Base, Call, Caller, Evaluation, Ticket, TicketEvent, UTCDateTime

__all__ = [
    "EVENT_COLUMNS",
    "Batch",
    "DbTime",
    "Ids",
    "advance_sequences",
    "db_time_of",
    "lock_for_bulk",
    "next_ids",
    "write_batch",
]

DbTime = Callable[[dt.datetime], Any]  # a datetime as the driver takes it


def _table(model: type[Base]) -> Table:
    """The Core table of a model (typed as a Table, which ``__table__`` is not)."""
    return Base.metadata.tables[model.__tablename__]


@dataclass
class Ids:
    """The next free id of each table with an integer key (read inside each batch's transaction)."""

    ticket: int
    event: int
    caller: int
    evaluation: int


@dataclass
class Batch:
    """The rows of one batch of the history, by table."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[Any, ...]] = field(default_factory=list)  # in EVENT_COLUMNS order
    calls: list[dict[str, Any]] = field(default_factory=list)
    callers: list[dict[str, Any]] = field(default_factory=list)
    evaluations: list[dict[str, Any]] = field(default_factory=list)


def next_ids(conn: Connection) -> Ids:
    """The next free id of each table the generator fills."""

    def nxt(table: Table) -> int:
        return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one()) + 1

    return Ids(
        ticket=nxt(_table(Ticket)),
        event=nxt(_table(TicketEvent)),
        caller=nxt(_table(Caller)),
        evaluation=nxt(_table(Evaluation)),
    )


_ID_TABLES = ("tickets", "ticket_events", "callers", "evaluations")


def lock_for_bulk(conn: Connection) -> None:
    """PostgreSQL: no other writer may take ids while a batch assigns them (SQLite: BEGIN IMMEDIATE)."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("PRAGMA cache_size = -131072")  # 128 MiB: index inserts stay in memory
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {', '.join(_ID_TABLES)}, calls IN SHARE ROW EXCLUSIVE MODE")


def advance_sequences(conn: Connection) -> None:
    """PostgreSQL: move the id sequences past the ids the generator assigned."""
    if conn.dialect.name == "postgresql":
        for table in _ID_TABLES:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"GREATEST((SELECT COALESCE(MAX(id), 0) FROM {table}), 1))"
            )


EVENT_COLUMNS: tuple[str, ...] = (
    "id",
    "ticket_id",
    "seq",
    "at",
    "actor",
    "actor_role",
    "command",
    "field",
    "old",
    "new",
    "reason",
)


def _utc_text(value: dt.datetime) -> str:
    # the text SQLAlchemy's SQLite DATETIME stores (UTC, as store.models.UTCDateTime hands it over)
    utc = value if value.tzinfo is dt.UTC else value.astimezone(dt.UTC)
    return utc.replace(tzinfo=None).isoformat(" ", "microseconds")


def db_time_of(conn: Connection) -> DbTime:
    """How a datetime is passed to the driver directly (bulk inserts skip SQLAlchemy's bind processing)."""
    return _utc_text if conn.dialect.name == "sqlite" else (lambda v: v)


def _rows_for_driver(
    table: Table, rows: list[dict[str, Any]], db_time: DbTime
) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Column names and value tuples, with datetimes and JSON converted the way the store's types do."""
    names = [c.name for c in table.columns]
    times = [i for i, c in enumerate(table.columns) if isinstance(c.type, UTCDateTime)]
    jsons = [i for i, c in enumerate(table.columns) if isinstance(c.type, JSON)]
    getter = operator.itemgetter(*names)
    out = []
    for row in rows:
        values = list(getter(row))
        for i in times:
            if values[i] is not None:
                values[i] = db_time(values[i])
        for i in jsons:
            if values[i] is not None:
                values[i] = json.dumps(values[i], ensure_ascii=False)
        out.append(tuple(values))
    return names, out


def _insert_sql(conn: Connection, table: Table, columns: Sequence[str]) -> str:
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"


def _bulk_insert(
    conn: Connection, table: Table, columns: Sequence[str], values: list[tuple[Any, ...]]
) -> None:
    """SQLite: the driver's executemany; PostgreSQL: COPY (executemany is ~10x slower there)."""
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in values:
                copy.write_row(row)
        return
    conn.exec_driver_sql(_insert_sql(conn, table, columns), values)


def write_batch(conn: Connection, batch: Batch) -> None:
    """Bulk inserts straight through the driver (Core's per-value bind processing is the bottleneck at
    tens of millions of event rows); values are converted here the way the store's column types do."""
    db_time = db_time_of(conn)
    for table, rows in (
        (_table(Caller), batch.callers),
        (_table(Ticket), batch.tickets),
        (_table(Call), batch.calls),
        (_table(Evaluation), batch.evaluations),
    ):
        if rows:
            names, values = _rows_for_driver(table, rows, db_time)
            _bulk_insert(conn, table, names, values)
    if batch.events:
        _bulk_insert(conn, _table(TicketEvent), EVENT_COLUMNS, batch.events)
