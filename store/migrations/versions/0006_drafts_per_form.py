"""A draft belongs to its form and its call: one row per form instead of one per user

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

The single per-user draft followed the operator from one call into the next. Drafts are now keyed
by the form (form_id, the form's client request id, which the draft's data already holds) and keep
the call they were written for. Rows written before get form_id "legacy-<id>". SQLite's unique
constraint of 0001 has no name: batch mode names it by convention so it can be dropped; PostgreSQL
named it drafts_user_id_key.
"""
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_NAMES = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def _batch() -> Any:
    sqlite = op.get_bind().dialect.name == "sqlite"
    return op.batch_alter_table("drafts", naming_convention=SQLITE_NAMES if sqlite else None)


def _old_unique() -> str:
    return "uq_drafts_user_id" if op.get_bind().dialect.name == "sqlite" else "drafts_user_id_key"


def upgrade() -> None:
    op.add_column("drafts", sa.Column("form_id", sa.String(length=36), nullable=True))
    op.execute("UPDATE drafts SET form_id = 'legacy-' || CAST(id AS VARCHAR(20))")
    with _batch() as batch:
        batch.alter_column("form_id", existing_type=sa.String(length=36), nullable=False)
        batch.drop_constraint(_old_unique(), type_="unique")
        batch.create_unique_constraint("uq_drafts_user_form", ["user_id", "form_id"])
    op.create_index("ix_drafts_user_call", "drafts", ["user_id", "call_id"])


def downgrade() -> None:
    # one draft per user again: the newest of each user's drafts is kept
    op.execute(
        "DELETE FROM drafts WHERE EXISTS (SELECT 1 FROM drafts n WHERE n.user_id = drafts.user_id AND "
        "(n.updated_at > drafts.updated_at OR (n.updated_at = drafts.updated_at AND n.id > drafts.id)))"
    )
    op.drop_index("ix_drafts_user_call", table_name="drafts")
    with _batch() as batch:
        batch.drop_constraint("uq_drafts_user_form", type_="unique")
        batch.create_unique_constraint(_old_unique(), ["user_id"])
        batch.drop_column("form_id")
