"""KPI dirty days: triggers mark the Anshan day of every changed ticket and call

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28

Every INSERT / DELETE of tickets and calls, and every UPDATE of a column the KPI measures read (or a
grouping column), records ``(kind, day)`` in ``kpi_dirty_days``; store.kpi.refresh_rollups recomputes
those days. The day expressions are those of store.kpi.local_day (SQLite stores UTC datetimes as
'YYYY-MM-DD HH:MM:SS.ffffff' text). Column lists are fixed here (a migration must not change when the
code does); tests/store/test_kpi.py checks they cover the columns the measures read.

Existing roll-ups were kept by ORM events that some writers bypassed, so they are emptied, every day
that has tickets or calls is marked dirty and the roll-ups are marked built (store.rollups.ROLLUP_VERSION
at this revision: 'built-v1'): the first report after the upgrade recomputes every day once.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, kind, day column, columns whose UPDATE can change a roll-up row)
WATCHED = (
    ("tickets", "ticket", "created_at",
     ("created_at", "status", "dispatched_at", "accepted_at", "replied_at", "closed_at", "deadline",
      "return_count", "rehandle_count", "satisfaction", "board", "department", "district", "leaf_code")),
    ("calls", "call", "offered_at", ("offered_at", "direction", "answered_at", "ended_at", "end_reason")),
)


def _sqlite_day(col: str) -> str:
    return f"date({col}, '+8 hours')"


def _pg_day(col: str) -> str:
    return f"to_char({col} AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"


def _sqlite_triggers(table: str, kind: str, col: str, watched: Sequence[str]) -> list[str]:
    def mark(row: str) -> str:
        return f"INSERT OR IGNORE INTO kpi_dirty_days (kind, day) VALUES ('{kind}', {_sqlite_day(f'{row}.{col}')});"

    return [
        f"CREATE TRIGGER kpi_dirty_{table}_insert AFTER INSERT ON {table} BEGIN {mark('NEW')} END",
        f"CREATE TRIGGER kpi_dirty_{table}_delete AFTER DELETE ON {table} BEGIN {mark('OLD')} END",
        f"CREATE TRIGGER kpi_dirty_{table}_update AFTER UPDATE OF {', '.join(watched)} ON {table} "
        f"BEGIN {mark('OLD')} {mark('NEW')} END",
    ]


def _pg_triggers(table: str, kind: str, col: str, watched: Sequence[str]) -> list[str]:
    # INSERT and DELETE: statement-level with a transition table, so a bulk insert (the history
    # generator) marks its few days with one statement instead of one per row. UPDATE: row-level, as
    # PostgreSQL allows no transition table on a trigger with a column list (UPDATE OF ...).
    def from_rows(rows: str) -> str:
        return (f"INSERT INTO kpi_dirty_days (kind, day) SELECT DISTINCT '{kind}', {_pg_day(col)} "
                f"FROM {rows} ON CONFLICT DO NOTHING;")

    return [
        f"""CREATE FUNCTION kpi_dirty_{table}_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN {from_rows('new_rows')}
    ELSE {from_rows('old_rows')}
    END IF;
    RETURN NULL;
END $$""",
        f"""CREATE FUNCTION kpi_dirty_{table}_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_dirty_days (kind, day) VALUES ('{kind}', {_pg_day(f'OLD.{col}')}) ON CONFLICT DO NOTHING;
    IF NEW.{col} IS DISTINCT FROM OLD.{col} THEN
        INSERT INTO kpi_dirty_days (kind, day) VALUES ('{kind}', {_pg_day(f'NEW.{col}')})
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$""",
        f"CREATE TRIGGER kpi_dirty_{table}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION kpi_dirty_{table}_rows()",
        f"CREATE TRIGGER kpi_dirty_{table}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows "
        f"FOR EACH STATEMENT EXECUTE FUNCTION kpi_dirty_{table}_rows()",
        f"CREATE TRIGGER kpi_dirty_{table}_update AFTER UPDATE OF {', '.join(watched)} ON {table} "
        f"FOR EACH ROW EXECUTE FUNCTION kpi_dirty_{table}_update()",
    ]


def upgrade() -> None:
    op.create_table(
        'kpi_dirty_days',
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint('kind', 'day'),
    )
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    for table, kind, col, watched in WATCHED:
        for ddl in (_sqlite_triggers if sqlite else _pg_triggers)(table, kind, col, watched):
            bind.exec_driver_sql(ddl)
        day = _sqlite_day(col) if sqlite else _pg_day(col)
        bind.exec_driver_sql(f"INSERT INTO kpi_dirty_days (kind, day) SELECT DISTINCT '{kind}', {day} FROM {table}")
    bind.exec_driver_sql("DELETE FROM kpi_ticket_daily")
    bind.exec_driver_sql("DELETE FROM kpi_call_daily")
    bind.exec_driver_sql("DELETE FROM kpi_rollup_state")
    bind.exec_driver_sql("INSERT INTO kpi_rollup_state (name, at) VALUES ('built-v1', CURRENT_TIMESTAMP)")


def downgrade() -> None:
    bind = op.get_bind()
    for table, _kind, _col, _watched in WATCHED:
        for what in ("insert", "delete", "update"):
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS kpi_dirty_{table}_{what}"
                                 + ("" if bind.dialect.name == "sqlite" else f" ON {table}"))
        if bind.dialect.name != "sqlite":
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS kpi_dirty_{table}_rows()")
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS kpi_dirty_{table}_update()")
    op.drop_table('kpi_dirty_days')
