"""The backend's own tables (SQLAlchemy Core), on SQLite or PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

requests = sa.Table(
    "open311_requests",
    metadata,
    sa.Column("service_request_id", sa.Integer, primary_key=True, autoincrement=True),
    # the client's own id: POST is idempotent on it (unique, so a race cannot store twice)
    sa.Column("client_request_id", sa.String(128), nullable=False, unique=True),
    sa.Column("service_code", sa.String(64), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("address", sa.Text, nullable=False, default=""),
    sa.Column("attributes", sa.JSON, nullable=False, default=dict),
    sa.Column("requested_datetime", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_datetime", sa.DateTime(timezone=True), nullable=False),
)

updates = sa.Table(
    "open311_updates",
    metadata,
    sa.Column("update_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "service_request_id",
        sa.Integer,
        sa.ForeignKey("open311_requests.service_request_id"),
        nullable=False,
        index=True,
    ),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    # "department" (acted here) or "hotline" (a change the hotline sent; its client key is unique)
    sa.Column("source", sa.String(16), nullable=False, default="department"),
    sa.Column("client_update_id", sa.String(128), nullable=True, unique=True),
    sa.Column("extension_days", sa.Integer, nullable=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("updated_datetime", sa.DateTime(timezone=True), nullable=False),
)


def create_engine(url: str) -> sa.Engine:
    """An engine with the tables created (the backend is self-contained: no migrations)."""
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    engine = (
        sa.create_engine(url, future=True, pool_size=20, max_overflow=20)
        if url.startswith("postgresql")
        else sa.create_engine(url, future=True)
    )
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    metadata.create_all(engine)
    return engine


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL: readers never wait for the writer; NORMAL: durable at checkpoints, fast commits
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute("PRAGMA busy_timeout = 10000")
    cur.close()
