"""The backend's reads and writes: requests created once per client id, updates in commit order.

Synchronous SQLAlchemy Core; the routes run these in Starlette's thread pool.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from citybackend.errors import Open311Error
from citybackend.tables import requests as requests_t
from citybackend.tables import updates as updates_t

# department action -> status the request moves to (our work order's extended statuses)
ACTIONS: Mapping[str, str] = {
    "accept": "accepted",
    "start": "in_progress",
    "reply": "replied",
    "close": "closed",
    "return": "returned",
    "request_extension": "extension_requested",
}
# a change the hotline reports (POST servicerequestupdates) -> the request's new status, if any
HOTLINE_STATUSES: Mapping[str, str] = {
    "dispatch": "dispatched",
    "reassign": "dispatched",
    "rehandle": "reopened",
    "close": "closed",
    "close_direct": "closed",
    "merge": "closed",
    "archive": "closed",
}


def utc_now() -> datetime:
    return datetime.now(UTC)


def _inserted_id(result: sa.CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    assert key is not None  # a single-row INSERT always reports its key
    return int(key[0])


def insert_once(engine: sa.Engine, values: Mapping[str, object]) -> tuple[int, bool]:
    """Insert the request unless its client id exists; the unique index settles races.

    The insert comes first (one transaction in the common case); a duplicate client id, a retry,
    fails on the unique index and reads the first request's id instead.
    """
    select = sa.select(requests_t.c.service_request_id).where(
        requests_t.c.client_request_id == values["client_request_id"]
    )
    for _attempt in range(3):
        try:
            with engine.begin() as conn:
                return _inserted_id(conn.execute(sa.insert(requests_t).values(**values))), True
        except sa.exc.IntegrityError:
            with engine.connect() as conn:
                found = conn.execute(select).scalar()
            if found is not None:
                return int(found), False
    raise Open311Error(503, "could not store the request, retry")


def fetch_all(engine: sa.Engine, query: sa.Select[Any]) -> list[sa.RowMapping]:
    with engine.connect() as conn:
        return list(conn.execute(query).mappings().all())


@dataclass(frozen=True)
class Update:
    srid: int
    action: str
    description: str
    source: str  # department / hotline
    client_update_id: str | None = None
    extension_days: int | None = None


def append_update(engine: sa.Engine, update: Update) -> int:
    """Record one update (and the request's new status); a repeated hotline update_id returns the first."""
    if update.client_update_id is not None:
        found = update_by_client_id(engine, update.client_update_id)
        if found is not None:
            return found
    if update.source == "department":
        status: str | None = ACTIONS[update.action]
    else:
        status = HOTLINE_STATUSES.get(update.action)
    now = utc_now()
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                # ids become visible in commit order only if inserts are serialised: a reader's cursor
                # must never skip an id that commits after a later one (SQLite has one writer anyway)
                conn.execute(sa.text("LOCK TABLE open311_updates IN SHARE ROW EXCLUSIVE MODE"))
            values: dict[str, object] = {"updated_datetime": now}
            if status is not None:
                values["status"] = status
            changed = conn.execute(
                sa.update(requests_t).where(requests_t.c.service_request_id == update.srid).values(**values)
            ).rowcount
            if not changed:
                raise Open311Error(404, "unknown service_request_id")
            result = conn.execute(
                sa.insert(updates_t).values(
                    service_request_id=update.srid,
                    status=status or "",
                    action=update.action,
                    source=update.source,
                    client_update_id=update.client_update_id,
                    extension_days=update.extension_days,
                    description=update.description,
                    updated_datetime=now,
                )
            )
            return _inserted_id(result)
    except sa.exc.IntegrityError:
        found = update_by_client_id(engine, update.client_update_id) if update.client_update_id else None
        if found is None:
            raise
        return found


def update_by_client_id(engine: sa.Engine, client_update_id: str) -> int | None:
    with engine.connect() as conn:
        found = conn.execute(
            sa.select(updates_t.c.update_id).where(updates_t.c.client_update_id == client_update_id)
        ).scalar()
    return None if found is None else int(found)
