"""KPI roll-up tables and the open-deadline index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28

Counter columns are listed here explicitly (a migration must not change when the code does); they
match store/rollups.py at this revision. On an empty store the roll-ups are complete by construction,
so they are marked built (store.rollups.ROLLUP_VERSION at this revision: 'built-v1'); otherwise store.kpi
reads the base tables until ``store.kpi.rebuild_rollups``.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TICKET_COUNTS = (
    "received", "merged", "direct_closed", "dispatched", "closed", "closed_dispatched", "closed_on_time",
    "replied", "replied_on_time", "accepted", "accepted_within_1h", "accepted_within_2h", "accepted_within_4h",
    "accepted_within_8h", "accepted_within_12h", "accepted_within_24h", "accepted_within_48h",
    "accepted_within_72h", "returned", "rehandled", "evaluated", "satisfied",
)
CALL_COUNTS = (
    "offered", "answered", "answered_within_5s", "answered_within_10s", "answered_within_15s",
    "answered_within_20s", "answered_within_30s", "answered_within_60s", "abandoned", "rejected", "talk_calls",
)
OPEN_DEADLINE = "closed_at IS NULL AND dispatched_at IS NOT NULL"


def _count(name: str) -> sa.Column:
    return sa.Column(name, sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False)


def upgrade() -> None:
    op.create_table(
        'kpi_ticket_daily',
        sa.Column('dim', sa.String(length=16), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('value', sa.String(length=64), nullable=False),
        *[_count(n) for n in TICKET_COUNTS],
        sa.PrimaryKeyConstraint('dim', 'day', 'value'),
    )
    op.create_table(
        'kpi_call_daily',
        sa.Column('day', sa.String(length=10), nullable=False),
        *[_count(n) for n in CALL_COUNTS],
        sa.Column('talk_seconds', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('day'),
    )
    op.create_table(
        'kpi_rollup_state',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    # overdue open tickets: a small partial index instead of scanning every past deadline
    op.create_index(
        'ix_tickets_open_deadline', 'tickets', ['deadline'],
        sqlite_where=sa.text(OPEN_DEADLINE), postgresql_where=sa.text(OPEN_DEADLINE),
    )
    bind = op.get_bind()
    empty = bind.execute(sa.text("SELECT NOT EXISTS (SELECT 1 FROM tickets) AND NOT EXISTS (SELECT 1 FROM calls)"))
    if empty.scalar():
        bind.execute(sa.text("INSERT INTO kpi_rollup_state (name, at) VALUES ('built-v1', CURRENT_TIMESTAMP)"))


def downgrade() -> None:
    op.drop_index('ix_tickets_open_deadline', table_name='tickets')
    op.drop_table('kpi_rollup_state')
    op.drop_table('kpi_call_daily')
    op.drop_table('kpi_ticket_daily')
