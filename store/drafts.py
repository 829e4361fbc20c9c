"""The operators' unsaved ticket forms (``drafts`` table): one row per form, saved continuously.

The console writes a form here every time the operator pauses typing, so a console that dies in the
middle of a call loses nothing. A draft is keyed by its form (``form_id``: the form's client request
id, which also files the ticket) and belongs to the call it was written for (``call_id``; None: a
form opened with no call). Nothing hands one call's draft to another: ``draft_of_call`` gives back
only that call's newest, and ``list_drafts`` lists a user's unsaved forms (newest first, with the
call's number and time) so the console can offer them back explicitly. A saved ticket clears its
form's draft. Each function works inside the caller's ONE transaction (``with store.session() as s``).
``save_draft`` writes nothing when a ticket with the form's id was already filed: a draft write
racing the save that filed the form must not bring the form back.

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

from store.models import Call, Draft, Ticket

__all__ = [
    "MAX_DRAFT_CHARS",
    "DraftError",
    "SavedDraft",
    "clear_draft",
    "draft_of_call",
    "is_filed",
    "list_drafts",
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
    form_id: str
    call_id: str | None
    data: dict[str, Any]
    updated_at: dt.datetime
    caller: str | None = None  # the call's remote number (list_drafts; None: no call, or no row)
    call_at: dt.datetime | None = None  # when that call was offered


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
    form_id: str,
    data: Mapping[str, Any],
    now: dt.datetime,
    *,
    call_id: str | None = None,
) -> SavedDraft | None:
    """Insert or replace the draft of form ``form_id``; None (nothing written) when a ticket was
    already filed with that id."""
    if is_filed(session, form_id):
        return None
    clean = _checked(data)
    for name, value in (("form id", form_id), ("call id", call_id)):
        if value is not None and not 0 < len(value) <= 36:
            raise DraftError(f"a {name} is 1 to 36 characters")
    where = (Draft.user_id == user_id) & (Draft.form_id == form_id)
    row = session.scalars(select(Draft).where(where)).one_or_none()
    if row is None:
        try:
            with session.begin_nested():  # the same form written twice at once: update that row
                row = Draft(user_id=user_id, form_id=form_id, call_id=call_id, data=clean, updated_at=now)
                session.add(row)
                session.flush()
        except IntegrityError:
            row = session.scalars(select(Draft).where(where)).one()
    row.call_id, row.data, row.updated_at = call_id, clean, now
    session.flush()
    return SavedDraft(user_id, form_id, call_id, clean, now)


def is_filed(session: Session, request_id: str) -> bool:
    """Whether a ticket was filed with this client request id (the form's ``request_id``)."""
    return session.scalar(select(Ticket.id).where(Ticket.client_request_id == request_id)) is not None


def _copy(row: Draft, number: str | None = None, at: dt.datetime | None = None) -> SavedDraft:
    data = dict(row.data) if isinstance(row.data, dict) else {}
    return SavedDraft(row.user_id, row.form_id, row.call_id, data, row.updated_at, number, at)


def load_draft(session: Session, user_id: int, form_id: str) -> SavedDraft | None:
    """The draft of the user's form ``form_id``, or None."""
    row = session.scalars(
        select(Draft).where(Draft.user_id == user_id, Draft.form_id == form_id)
    ).one_or_none()
    return None if row is None else _copy(row)


def draft_of_call(session: Session, user_id: int, call_id: str) -> SavedDraft | None:
    """The user's newest draft written for call ``call_id``, or None."""
    row = session.scalars(
        select(Draft)
        .where(Draft.user_id == user_id, Draft.call_id == call_id)
        .order_by(Draft.updated_at.desc(), Draft.id.desc())
        .limit(1)
    ).first()
    return None if row is None else _copy(row)


def list_drafts(session: Session, user_id: int, *, limit: int = 50) -> list[SavedDraft]:
    """The user's unsaved forms, newest first, each with its call's number and time when it has one."""
    rows = session.execute(
        select(Draft, Call.remote_number, Call.offered_at)
        .outerjoin(Call, Call.id == Draft.call_id)
        .where(Draft.user_id == user_id)
        .order_by(Draft.updated_at.desc(), Draft.id.desc())
        .limit(limit)
    ).all()
    return [_copy(d, number, at) for d, number, at in rows]


def clear_draft(session: Session, user_id: int, form_id: str) -> bool:
    """Forget the draft of the user's form ``form_id``; True if there was one."""
    result = session.execute(delete(Draft).where(Draft.user_id == user_id, Draft.form_id == form_id))
    return bool(getattr(result, "rowcount", 0))
