"""Agent states are stored by their ASCII identity (store.vocabulary.AgentState), not their label

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

The rows of agent_state_changes held the Chinese labels (就绪, 示忙 ...); the labels now come from
the locale files, keyed by the identity. No trigger, roll-up or backend message reads this column.
The map is written out here (not imported) so the migration keeps meaning what it meant.
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

IDENTITY_OF_LABEL = {
    "就绪": "ready",
    "示忙": "paused",
    "振铃": "ringing",
    "通话中": "talking",
    "保持": "held",
    "话后整理": "wrap_up",
    "离线": "offline",
}


def _rename(pairs: dict[str, str]) -> None:
    statement = sa.text("UPDATE agent_state_changes SET state = :new WHERE state = :old")
    for old, new in pairs.items():
        op.execute(statement.bindparams(old=old, new=new))


def upgrade() -> None:
    _rename(IDENTITY_OF_LABEL)


def downgrade() -> None:
    _rename({new: old for old, new in IDENTITY_OF_LABEL.items()})
