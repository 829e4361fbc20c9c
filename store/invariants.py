"""The invariants every reachable work order keeps, as a check of a ticket's fields.

``violations(row)`` lists every way ``row`` (a mapping of the ticket's fields, as
``store.tickets.ticket_as_dict`` or the history generator hold them) breaks them; empty means a valid
ticket. The invariants are those ``store.lifecycle`` documents; tests run every reachable state
through it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from store.lifecycle import EXTENSION_STATES
from store.vocabulary import (
    ACCEPTED,
    ARCHIVED,
    BOARDS,
    CLOSED,
    DEPARTMENT_STATES,
    DISPATCHED,
    EVALUATED,
    IN_PROGRESS,
    MERGED,
    NATURES,
    RECEIVED,
    REPLIED,
    RETURNED,
    SATISFACTIONS,
    STATUSES,
    URGENCIES,
)

__all__ = ["violations"]


def violations(row: Mapping[str, Any]) -> list[str]:
    """Every way ``row`` breaks the work order's invariants (empty: a valid ticket)."""
    out: list[str] = []
    status = row.get("status")

    def need(cond: bool, text: str) -> None:
        if not cond:
            out.append(text)

    need(status in STATUSES, f"unknown status {status!r}")
    need(row.get("nature") in NATURES, f"nature {row.get('nature')!r} not in {NATURES}")
    need(row.get("urgency") in URGENCIES, f"urgency {row.get('urgency')!r} not in {URGENCIES}")
    need(row.get("board") is None or row.get("board") in BOARDS, f"board {row.get('board')!r} unknown")
    for counter in ("urge_count", "return_count", "rehandle_count", "extension_days"):
        need(isinstance(row.get(counter), int) and row[counter] >= 0, f"{counter} must be >= 0")
    need(bool(row.get("number")) and bool(row.get("client_request_id")), "number and client_request_id set")
    need(row.get("created_at") is not None, "created_at set")
    merged = row.get("parent_id") is not None
    closed = row.get("closed_at") is not None
    dispatched = row.get("dispatched_at") is not None
    need(merged == (status == MERGED or (status == ARCHIVED and merged)), "parent_id set iff merged")
    need(row.get("parent_id") is None or row.get("parent_id") != row.get("id"), "not its own parent")
    if status in (CLOSED, EVALUATED) or (status == ARCHIVED and not merged):
        need(closed, f"closed_at must be set when {status}")
    else:
        need(not closed, f"closed_at must be empty when {status}")
    need(dispatched == (row.get("department") is not None), "dispatched_at set iff a department is set")
    if status in (RECEIVED,) or (status == MERGED and not dispatched):
        need(not dispatched and row.get("deadline") is None, f"no dispatch and no deadline when {status}")
    if status in DEPARTMENT_STATES | {REPLIED, RETURNED}:
        need(dispatched, f"dispatched_at must be set when {status}")
    need(row.get("deadline") is None or dispatched, "a deadline only after dispatch")
    if status in (ACCEPTED, IN_PROGRESS):
        need(row.get("accepted_at") is not None, f"accepted_at must be set when {status}")
    if status == DISPATCHED:
        need(row.get("accepted_at") is None, "accepted_at must be empty when 已派单")
    replied = row.get("replied_at") is not None
    if status == REPLIED:
        need(replied, "replied_at must be set when 已答复")
    elif status in (CLOSED, EVALUATED):
        need(replied == dispatched, "replied_at set iff the ticket was dispatched (not 直接办结)")
    elif status in (RECEIVED, DISPATCHED, ACCEPTED, IN_PROGRESS, RETURNED):
        need(not replied, f"replied_at must be empty when {status}")
    if status in (REPLIED, CLOSED, EVALUATED):
        need(bool(row.get("answer")), f"answer must be set when {status}")
    ext, days = row.get("extension"), row.get("extension_days")
    need(ext is None or ext in EXTENSION_STATES, f"unknown extension state {ext!r}")
    need(
        (ext in ("requested", "approved")) == (isinstance(days, int) and days > 0),
        "extension_days > 0 iff an extension is requested or approved",
    )
    if ext == "requested":
        need(status in (ACCEPTED, IN_PROGRESS), "an extension can only be pending while the department works")
    need(row.get("satisfaction") is None or row.get("satisfaction") in SATISFACTIONS, "unknown satisfaction")
    if status == EVALUATED:
        need(row.get("satisfaction") is not None, "satisfaction must be set when 已回访")
    if row.get("supervised"):
        need(row.get("deadline") is not None, "a supervised ticket has a deadline")
    if (row.get("return_count") or 0) > 0 or (row.get("rehandle_count") or 0) > 0:
        need(dispatched, "returned or re-handled tickets were dispatched")
    return out
