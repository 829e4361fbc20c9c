"""The operator's unsaved ticket form (``drafts`` table): one row per user, saved continuously.

The console writes the form here every time the operator pauses typing, so a console that dies in
the middle of a call loses nothing: on restart ``load_draft`` hands the form back. A saved ticket
clears it. Each function works inside the caller's ONE transaction (``with store.session() as s``).
``save_draft(..., unless_filed=request_id)`` writes nothing when a ticket with that client request id
exists: a draft write racing the save that filed the form must not bring the form back.

``data`` is a JSON object of the form's fields (strings, booleans, None, lists of strings); the store
does not interpret it, but it refuses values that are not JSON-able and drafts above ``MAX_DRAFT_CHARS``
(a bound against runaway pastes; the form itself keeps the text either way).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.models import Draft, Ticket

__all__ = [
    "MAX_DRAFT_CHARS",
    "DraftError",
    "SavedDraft",
    "clear_draft",
    "is_filed",
    "load_draft",
    "save_draft",
]

MAX_DRAFT_CHARS = 200_000


class DraftError(ValueError):
    """A draft the store will not keep, in one line."""


@dataclass(frozen=True)
class SavedDraft:
    """A draft as read back (a plain copy, safe after the session closes)."""

    user_id: int
    call_id: str | None
    data: dict[str, Any]
    updated_at: dt.datetime


def _checked(data: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise DraftError("a draft is a mapping of field names to values")
    try:
        text = json.dumps(dict(data), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise DraftError(f"a draft must be JSON-able: {exc}") from None
    if len(text) > MAX_DRAFT_CHARS:
        raise DraftError(f"a draft is at most {MAX_DRAFT_CHARS} characters of JSON (got {len(text)})")
    copy: dict[str, Any] = json.loads(text)  # a deep copy: later changes to the caller's dict do not leak in
    return copy


def save_draft(
    session: Session,
    user_id: int,
    data: Mapping[str, Any],
    now: dt.datetime,
    *,
    call_id: str | None = None,
    unless_filed: str | None = None,
) -> SavedDraft | None:
    """Insert or replace the user's draft; None (nothing written) when ``unless_filed`` names the
    client request id of a ticket already filed."""
    if unless_filed is not None and is_filed(session, unless_filed):
        return None
    clean = _checked(data)
    if call_id is not None and len(call_id) > 36:
        raise DraftError("a call id is at most 36 characters")
    row = session.scalars(select(Draft).where(Draft.user_id == user_id)).one_or_none()
    if row is None:
        try:
            with session.begin_nested():  # another seat of the same user racing: update theirs instead
                row = Draft(user_id=user_id, call_id=call_id, data=clean, updated_at=now)
                session.add(row)
                session.flush()
        except IntegrityError:
            row = session.scalars(select(Draft).where(Draft.user_id == user_id)).one()
    row.call_id, row.data, row.updated_at = call_id, clean, now
    session.flush()
    return SavedDraft(user_id, call_id, clean, now)


def is_filed(session: Session, request_id: str) -> bool:
    """Whether a ticket was filed with this client request id (the form's ``request_id``)."""
    return session.scalar(select(Ticket.id).where(Ticket.client_request_id == request_id)) is not None


def load_draft(session: Session, user_id: int) -> SavedDraft | None:
    row = session.scalars(select(Draft).where(Draft.user_id == user_id)).one_or_none()
    if row is None:
        return None
    data = row.data if isinstance(row.data, dict) else {}
    return SavedDraft(row.user_id, row.call_id, dict(data), row.updated_at)


def clear_draft(session: Session, user_id: int) -> bool:
    """Forget the user's draft; True if there was one."""
    result = session.execute(delete(Draft).where(Draft.user_id == user_id))
    return bool(getattr(result, "rowcount", 0))
