"""The ticket service: every write to a ticket goes through here.

Each call works inside the caller's ONE transaction (``with store.session() as s``): it validates
the command with the pure ``store.lifecycle.plan``, applies the changes to the row, writes one
``TicketEvent`` per changed field (``seq`` increasing per ticket), bumps ``version``/``updated_at``
and writes an ``OutboxEntry`` for the city backend (idempotency key ``{client_request_id}:{version}``).
Changes that come FROM the backend (actor role ``backend``) and ``link_backend`` (recording the
backend's id for a ticket) write no outbox row: echoing them back would be a loop. A ``note`` (备注)
changes no field: one event row (field ``lifecycle.NOTE_FIELD``, the text as reason), the same
version, no outbox row.

Event values are JSON with one stable encoding (``encode_value``): datetimes as UTC ISO 8601 with
microseconds, keys sorted, no ASCII escaping. ``replay(events)`` rebuilds the row's replayed fields
(``models.TICKET_REPLAYED_FIELDS``) from the events alone.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.callers import PhoneError, caller_id_for, mask_phone, normalise_phone
from store.lifecycle import (
    ALL_ROLES,
    INTAKE_FIELDS,
    NOTE_FIELD,
    DeadlineCalculator,
    FieldChange,
    LifecycleError,
    plan,
)
from store.models import TICKET_REPLAYED_FIELDS, Evaluation, OutboxEntry, Ticket, TicketEvent, UTCDateTime
from store.numbering import DEFAULT_PREFIX, allocate_number
from store.vocabulary import BOARDS, DEFAULT_BOARD, DEFAULT_URGENCY, NATURES, STATUSES, URGENCIES, OutboxKind

log = structlog.get_logger(__name__)

__all__ = [
    "Actor",
    "LifecycleError",
    "TicketDraft",
    "TicketError",
    "apply_command",
    "create_ticket",
    "decode_value",
    "draft_from",
    "edit_ticket",
    "encode_value",
    "find_ticket",
    "link_backend_many",
    "list_tickets",
    "mask_phone",
    "replay",
    "ticket_as_dict",
    "ticket_fields",
]

DATETIME_FIELDS = frozenset(c.name for c in Ticket.__table__.columns if isinstance(c.type, UTCDateTime))
# what the city backend needs to open a request (Open311 attributes plus our extensions)
BACKEND_FIELDS: tuple[str, ...] = (
    "number",
    "client_request_id",
    "status",
    "channel",
    "nature",
    "board",
    "leaf_code",
    "taxonomy_version",
    "district",
    "street",
    "address",
    "description",
    "urgency",
    "caller_name",
    "caller_phone",
    "callback_consent",
    "created_at",
)
MAX_LIST_LIMIT = 10_000
LOCAL_COMMANDS = frozenset({"link_backend", "note"})  # sync bookkeeping, desk remarks: nothing to send


class TicketError(ValueError):
    """A ticket request a person got wrong, in one line."""


@dataclass(frozen=True)
class Actor:
    """Who makes a change: a username (or "backend"/"system") and a lifecycle role."""

    name: str
    role: str
    user_id: int | None = None

    def __post_init__(self) -> None:
        if self.role not in ALL_ROLES:
            raise TicketError(f"unknown role {self.role!r}; known: {', '.join(ALL_ROLES)}")
        if not self.name:
            raise TicketError("an actor needs a name")


class TicketDraft(BaseModel):
    """What the operator typed at intake (五要素 + classification), validated."""

    model_config = ConfigDict(str_strip_whitespace=True, extra="forbid", frozen=True)

    nature: str
    description: str = Field(min_length=1, max_length=4000)
    board: str | None = DEFAULT_BOARD
    leaf_code: str | None = Field(default=None, max_length=32)
    taxonomy_version: str | None = Field(default=None, max_length=32)
    district: str | None = Field(default=None, max_length=32)
    street: str | None = Field(default=None, max_length=64)
    address: str | None = Field(default=None, max_length=500)
    urgency: str = DEFAULT_URGENCY
    channel: str = Field(default="phone", min_length=1, max_length=16)
    caller_name: str | None = Field(default=None, max_length=64)
    caller_phone: str | None = Field(default=None, max_length=32)
    callback_consent: bool = True

    @field_validator(
        "leaf_code",
        "taxonomy_version",
        "district",
        "street",
        "address",
        "caller_name",
        "caller_phone",
        "board",
        mode="before",
    )
    @classmethod
    def _empty_is_none(cls, v: Any) -> Any:
        return None if isinstance(v, str) and not v.strip() else v

    @field_validator("nature")
    @classmethod
    def _nature(cls, v: str) -> str:
        return _one_of("nature", v, NATURES)

    @field_validator("urgency")
    @classmethod
    def _urgency(cls, v: str) -> str:
        return _one_of("urgency", v, URGENCIES)

    @field_validator("board")
    @classmethod
    def _board(cls, v: str | None) -> str | None:
        return None if v is None else _one_of("board", v, BOARDS)

    @field_validator("caller_phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is None:
            return None
        try:
            return normalise_phone(v)
        except PhoneError as exc:
            raise ValueError(str(exc)) from None


def _one_of(name: str, v: str, options: tuple[str, ...]) -> str:
    if v not in options:
        raise ValueError(f"{name} must be one of {'/'.join(options)}")
    return v


def draft_from(data: Mapping[str, Any]) -> TicketDraft:
    """A validated draft, or TicketError naming each bad field on one line."""
    try:
        return TicketDraft.model_validate(dict(data))
    except ValidationError as exc:
        raise TicketError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "ticket"
        parts.append(f"{where}: {err['msg'].removeprefix('Value error, ')}")
    return "invalid ticket: " + "; ".join(parts)


# --- value encoding -------------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise TicketError("naive datetime in a ticket; use an aware datetime")
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def encode_value(value: Any) -> str | None:
    """The stable JSON text of an event value (None stays SQL NULL)."""
    if value is None:
        return None
    return json.dumps(_jsonable(value), ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def decode_value(field_name: str, text: str | None) -> Any:
    if text is None:
        return None
    value = json.loads(text)
    if field_name in DATETIME_FIELDS and value is not None:
        return dt.datetime.fromisoformat(value)
    return value


# --- reading --------------------------------------------------------------------------------------


def ticket_fields(ticket: Ticket) -> dict[str, Any]:
    """The row as the mapping ``lifecycle.plan`` works on (replayed fields plus the id)."""
    row = {f: getattr(ticket, f) for f in TICKET_REPLAYED_FIELDS}
    row["co_departments"] = list(row["co_departments"] or [])
    row["id"] = ticket.id
    return row


def find_ticket(session: Session, number: str) -> Ticket | None:
    return session.scalars(select(Ticket).where(Ticket.number == number.strip())).one_or_none()


def list_tickets(
    session: Session, status: str | None = None, limit: int = 100, offset: int = 0
) -> list[Ticket]:
    """Newest first; ``status`` one of vocabulary.STATUSES."""
    if status is not None and status not in STATUSES:
        raise TicketError(f"unknown status {status!r}; known: {', '.join(STATUSES)}")
    if not 1 <= limit <= MAX_LIST_LIMIT:
        raise TicketError(f"limit must be between 1 and {MAX_LIST_LIMIT}")
    stmt = select(Ticket).order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit).offset(offset)
    if status is not None:
        stmt = stmt.where(Ticket.status == status)
    return list(session.scalars(stmt))


def ticket_as_dict(ticket: Ticket, with_events: bool = False, reveal_phone: bool = False) -> dict[str, Any]:
    """JSON-ready ticket; the citizen's phone is masked unless ``reveal_phone``."""
    out: dict[str, Any] = {"id": ticket.id}
    for name in TICKET_REPLAYED_FIELDS:
        out[name] = _jsonable(getattr(ticket, name))
    out["updated_at"] = _jsonable(ticket.updated_at)
    out["version"] = ticket.version
    if not reveal_phone:
        out["caller_phone"] = mask_phone(ticket.caller_phone)
    if with_events:
        out["events"] = [_event_as_dict(e, reveal_phone) for e in ticket.events]
    return out


def _event_as_dict(event: TicketEvent, reveal_phone: bool) -> dict[str, Any]:
    old, new = decode_value(event.field, event.old), decode_value(event.field, event.new)
    if event.field == "caller_phone" and not reveal_phone:
        old, new = mask_phone(old), mask_phone(new)
    return {
        "seq": event.seq,
        "at": _jsonable(event.at),
        "actor": event.actor,
        "actor_role": event.actor_role,
        "command": event.command,
        "field": event.field,
        "old": _jsonable(old),
        "new": _jsonable(new),
        "reason": event.reason,
    }


def replay(events: Iterable[TicketEvent]) -> dict[str, Any]:
    """Rebuild the replayed fields of a ticket from its events (in seq order) over an empty row.

    Raises ValueError when an event's ``old`` disagrees with the value replayed so far: the
    history was tampered with or written around the service.
    """
    row: dict[str, Any] = dict.fromkeys(TICKET_REPLAYED_FIELDS)
    for event in sorted(events, key=lambda e: e.seq):
        if event.field == NOTE_FIELD:  # a note (备注) changes no field
            continue
        if event.field not in row:
            raise ValueError(f"event {event.seq}: unknown field {event.field}")
        old = decode_value(event.field, event.old)
        if old != row[event.field]:
            raise ValueError(
                f"event {event.seq} ({event.command} {event.field}): old value {old!r} "
                f"differs from the replayed {row[event.field]!r}"
            )
        row[event.field] = decode_value(event.field, event.new)
    return row


# --- writing --------------------------------------------------------------------------------------


def create_ticket(
    session: Session,
    draft: TicketDraft,
    actor: Actor,
    now: dt.datetime,
    *,
    client_request_id: str | None = None,
    prefix: str = DEFAULT_PREFIX,
    backend_id: str | None = None,
) -> Ticket:
    """受理: a new ticket with its number, events and outbox row, in the caller's transaction.

    With a ``client_request_id`` the call is idempotent: a second call (a retry after a timeout, or
    another process racing) returns the existing ticket and writes nothing.
    """
    if client_request_id is None:
        return _insert_ticket(session, draft, actor, now, str(uuid.uuid4()), prefix, backend_id)
    if not client_request_id.strip() or len(client_request_id) > 64:
        raise TicketError("client_request_id must be 1-64 characters")
    existing = _by_request_id(session, client_request_id)
    if existing is not None:
        return existing
    try:
        with session.begin_nested():  # a racing duplicate only undoes this savepoint
            return _insert_ticket(session, draft, actor, now, client_request_id, prefix, backend_id)
    except IntegrityError:
        existing = _by_request_id(session, client_request_id)
        if existing is None:
            raise
        return existing


def _by_request_id(session: Session, client_request_id: str) -> Ticket | None:
    stmt = select(Ticket).where(Ticket.client_request_id == client_request_id)
    return session.scalars(stmt).one_or_none()


def _insert_ticket(
    session: Session,
    draft: TicketDraft,
    actor: Actor,
    now: dt.datetime,
    client_request_id: str,
    prefix: str,
    backend_id: str | None,
) -> Ticket:
    args: dict[str, Any] = draft.model_dump()
    if draft.caller_phone:
        args["caller_id"] = caller_id_for(session, draft.caller_phone, now, draft.caller_name)
    args.update(
        number=allocate_number(session, now, prefix),
        client_request_id=client_request_id,
        created_by=actor.name,
        backend_id=backend_id,
    )
    changes = plan("create", {}, actor.role, args, now)
    ticket = Ticket(**{c.field: c.new for c in changes}, updated_at=now, version=1)
    session.add(ticket)
    session.flush()  # the id, for the events
    _insert_events(session, ticket, changes, 1, actor, "create", now, None)
    if actor.role != "backend":
        payload = {"ticket": {f: _jsonable(getattr(ticket, f)) for f in BACKEND_FIELDS}, "version": 1}
        _insert_outbox(session, ticket, "create", payload, now)
    log.info("ticket.created", number=ticket.number, actor=actor.name, nature=ticket.nature)
    return ticket


def apply_command(
    session: Session,
    ticket: Ticket,
    command: str,
    actor: Actor,
    now: dt.datetime,
    *,
    deadlines: DeadlineCalculator | None = None,
    **args: Any,
) -> list[FieldChange]:
    """Run a lifecycle command on ``ticket`` in the caller's transaction; return the changes made.

    Raises LifecycleError (nothing changed) when the command is not allowed. Service-level args:
    ``parent_number`` for merge (instead of ``parent_id``), ``call_id`` for evaluate (the callback).
    """
    if command == "create":
        raise TicketError("use create_ticket to create a ticket")
    _lock(session, ticket)
    call_id = args.pop("call_id", None) if command == "evaluate" else None
    if command == "merge":
        args = _with_parent(session, ticket, args)
    changes = plan(command, ticket_fields(ticket), actor.role, args, now, deadlines)
    if not changes:
        if command == "note":  # changes no field (version kept): one event row carries the text
            _insert_note(session, ticket, actor, now, args["reason"].strip())
        return []
    seq = (
        session.scalar(select(func.max(TicketEvent.seq)).where(TicketEvent.ticket_id == ticket.id)) or 0
    ) + 1
    # every attribute first, so the row is written by ONE UPDATE (at the autoflush of the events insert)
    _set_fields(ticket, changes, now)
    reason = args["reason"].strip() or None if isinstance(args.get("reason"), str) else None
    _insert_events(session, ticket, changes, seq, actor, command, now, reason)
    if command == "evaluate":
        session.add(
            Evaluation(
                ticket_id=ticket.id,
                at=now,
                user_id=actor.user_id,
                call_id=call_id,
                result=args["satisfaction"],
                department_at_fault=bool(args.get("department_at_fault")),
                comment=reason,
            )
        )
    if actor.role != "backend" and command not in LOCAL_COMMANDS:
        payload = {
            "number": ticket.number,
            "backend_id": ticket.backend_id,
            "version": ticket.version,
            "command": command,
            "status": ticket.status,
            "reason": reason,
            "at": _jsonable(now),
            "changes": {c.field: _jsonable(c.new) for c in changes},
        }
        _insert_outbox(session, ticket, "update", payload, now)
    session.flush()
    log.info(
        "ticket.command",
        number=ticket.number,
        command=command,
        actor=actor.name,
        status=ticket.status,
        version=ticket.version,
    )
    return changes


def link_backend_many(session: Session, links: Mapping[int, str], actor: Actor, now: dt.datetime) -> int:
    """``link_backend`` for many tickets (ticket id -> backend id) in a few statements, not five each.

    Writes exactly what ``apply_command(session, ticket, "link_backend", actor, now, backend_id=...)``
    writes for each ticket (same events, version, updated_at; no outbox row), in the caller's
    transaction. Tickets that are gone or already carry that id are skipped; returns how many were
    linked. Raises LifecycleError (e.g. a bad backend id), like apply_command, before writing anything.
    """
    if not links:
        return 0
    # one query for all rows, locked in id order (two batches never deadlock); fresh values after the lock
    stmt = (
        select(Ticket)
        .where(Ticket.id.in_(sorted(links)))
        .order_by(Ticket.id)
        .execution_options(populate_existing=True)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    planned = [
        (t, plan("link_backend", ticket_fields(t), actor.role, {"backend_id": links[t.id]}, now))
        for t in session.scalars(stmt)
    ]
    planned = [(t, changes) for t, changes in planned if changes]
    if not planned:
        return 0
    last_seq = dict(
        session.execute(
            select(TicketEvent.ticket_id, func.max(TicketEvent.seq))
            .where(TicketEvent.ticket_id.in_([t.id for t, _ in planned]))
            .group_by(TicketEvent.ticket_id)
        ).all()
    )
    rows: list[dict[str, Any]] = []
    for ticket, changes in planned:
        _set_fields(ticket, changes, now)
        rows += _event_rows(
            ticket, changes, (last_seq.get(ticket.id) or 0) + 1, actor, "link_backend", now, None
        )
    session.execute(insert(TicketEvent), rows)  # its autoflush writes the rows (an executemany UPDATE)
    for ticket, _ in planned:
        session.expire(ticket, ["events"])
        log.info(
            "ticket.command",
            number=ticket.number,
            command="link_backend",
            actor=actor.name,
            status=ticket.status,
            version=ticket.version,
        )
    return len(planned)


def edit_ticket(
    session: Session,
    ticket: Ticket,
    actor: Actor,
    now: dt.datetime,
    *,
    reason: str | None = None,
    **fields: Any,
) -> list[FieldChange]:
    """Edit intake fields (validated like a draft); a new caller_phone relinks the Caller."""
    unknown = sorted(set(fields) - set(TicketDraft.model_fields))
    if unknown:
        raise TicketError(f"cannot edit {', '.join(unknown)}; editable fields: {', '.join(INTAKE_FIELDS)}")
    merged = {f: getattr(ticket, f) for f in TicketDraft.model_fields} | fields
    clean = draft_from(merged).model_dump()
    edits = {f: clean[f] for f in fields}
    if "caller_phone" in edits and edits["caller_phone"] != ticket.caller_phone:
        phone = edits["caller_phone"]
        name = edits.get("caller_name") or ticket.caller_name
        edits["caller_id"] = caller_id_for(session, phone, now, name) if phone else None
    if reason is not None:
        edits["reason"] = reason
    return apply_command(session, ticket, "edit", actor, now, **edits)


def _lock(session: Session, ticket: Ticket) -> None:
    # PostgreSQL: serialise concurrent commands on one ticket (SQLite's BEGIN IMMEDIATE already does)
    if ticket.id is not None and session.get_bind().dialect.name == "postgresql":
        session.refresh(ticket, with_for_update=True)


def _with_parent(session: Session, ticket: Ticket, args: dict[str, Any]) -> dict[str, Any]:
    """Look the parent up (by ``parent_number`` or ``parent_id``) for the lifecycle's checks."""
    args = dict(args)
    number = args.pop("parent_number", None)
    parent = find_ticket(session, number) if number else None
    if number and parent is None:
        raise LifecycleError("merge", ticket.status, f"the parent ticket {number} does not exist")
    if parent is not None:
        args["parent_id"] = parent.id
    elif isinstance(args.get("parent_id"), int):
        parent = session.get(Ticket, args["parent_id"])
    args["parent_status"] = parent.status if parent is not None else None
    return args


def _set_fields(ticket: Ticket, changes: list[FieldChange], now: dt.datetime) -> None:
    for change in changes:
        setattr(ticket, change.field, list(change.new) if isinstance(change.new, list) else change.new)
    ticket.version += 1
    ticket.updated_at = now


def _event_rows(
    ticket: Ticket,
    changes: list[FieldChange],
    first_seq: int,
    actor: Actor,
    command: str,
    now: dt.datetime,
    reason: str | None,
) -> list[dict[str, Any]]:
    return [
        {
            "ticket_id": ticket.id,
            "seq": first_seq + i,
            "at": now,
            "actor": actor.name,
            "actor_role": actor.role,
            "command": command,
            "field": c.field,
            "old": encode_value(c.old),
            "new": encode_value(c.new),
            "reason": reason,
        }
        for i, c in enumerate(changes)
    ]


def _insert_events(
    session: Session,
    ticket: Ticket,
    changes: list[FieldChange],
    first_seq: int,
    actor: Actor,
    command: str,
    now: dt.datetime,
    reason: str | None,
) -> None:
    # Core executemany: one statement for all of a command's events, no ORM objects to track
    session.execute(insert(TicketEvent), _event_rows(ticket, changes, first_seq, actor, command, now, reason))
    session.expire(ticket, ["events"])  # a collection loaded earlier must not hide the new events


def _insert_note(session: Session, ticket: Ticket, actor: Actor, now: dt.datetime, text: str) -> None:
    seq = (
        session.scalar(select(func.max(TicketEvent.seq)).where(TicketEvent.ticket_id == ticket.id)) or 0
    ) + 1
    _insert_events(session, ticket, [FieldChange(NOTE_FIELD, None, None)], seq, actor, "note", now, text)
    session.flush()
    log.info(
        "ticket.command",
        number=ticket.number,
        command="note",
        actor=actor.name,
        status=ticket.status,
        version=ticket.version,
    )


def _insert_outbox(
    session: Session, ticket: Ticket, kind: OutboxKind, payload: dict[str, Any], now: dt.datetime
) -> None:
    session.execute(
        insert(OutboxEntry),
        {
            "ticket_id": ticket.id,
            "kind": kind,
            "idempotency_key": f"{ticket.client_request_id}:{ticket.version}",
            "payload": payload,
            "state": "pending",
            "attempts": 0,
            "created_at": now,
            "next_attempt_at": now,
        },
    )
