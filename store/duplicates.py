"""Likely repeats of a request being filed: open tickets of the same caller, or of the same leaf and
address, created since a moment (the console's duplicate window).

A merged or archived ticket is done and never offered. The ticket being filed itself (by its client
request id: a retried save) is left out. Works inside the caller's session.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from store.models import Ticket
from store.vocabulary import ARCHIVED, MERGED

__all__ = ["MAX_DUPLICATES", "Duplicate", "find_duplicates"]

MAX_DUPLICATES = 8


@dataclass(frozen=True)
class Duplicate:
    """A possible repeat, and why: the same caller, the same place (leaf and address), or both."""

    ticket_id: int
    number: str
    status: str
    created_at: dt.datetime
    leaf_code: str | None
    address: str | None
    same_caller: bool
    same_place: bool


def find_duplicates(
    session: Session,
    *,
    phone: str | None,
    leaf_code: str | None,
    address: str | None,
    since: dt.datetime,
    exclude_request_id: str | None = None,
    limit: int = MAX_DUPLICATES,
) -> list[Duplicate]:
    """Open tickets created at or after ``since`` from ``phone`` (normalised), or for ``leaf_code`` at
    ``address`` (both needed), newest first, at most ``limit``; none when neither is given."""
    conditions: list[ColumnElement[bool]] = []
    if phone:
        conditions.append(Ticket.caller_phone == phone)
    if leaf_code and address:
        conditions.append((Ticket.leaf_code == leaf_code) & (Ticket.address == address))
    if not conditions:
        return []
    stmt = (
        select(Ticket)
        .where(
            or_(*conditions),
            Ticket.created_at >= since,
            Ticket.status.not_in((MERGED, ARCHIVED)),
        )
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    if exclude_request_id is not None:
        stmt = stmt.where(Ticket.client_request_id != exclude_request_id)
    return [
        Duplicate(
            t.id,
            t.number,
            t.status,
            t.created_at,
            t.leaf_code,
            t.address,
            same_caller=bool(phone) and t.caller_phone == phone,
            same_place=bool(leaf_code) and t.leaf_code == leaf_code and t.address == address,
        )
        for t in session.scalars(stmt)
    ]
