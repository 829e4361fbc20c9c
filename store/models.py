"""SQLAlchemy 2.x typed models of the local store.

One schema for SQLite (a single seat) and PostgreSQL (a whole call centre). Times are stored as
timezone-aware UTC datetimes; the Anshan wall clock (Asia/Shanghai) is applied at the edges.

Ticket history is event-sourced in a light way: every change to a ticket row is written as one or
more ``TicketEvent`` rows in the same transaction, each setting one field (``field``) from ``old``
to ``new`` (JSON-encoded). Replaying a ticket's events in ``seq`` order over an empty row rebuilds
exactly the fields listed in ``TICKET_REPLAYED_FIELDS``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from store.vocabulary import DEFAULT_URGENCY, OutboxKind

# SQLite only auto-increments INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC on every backend (SQLite would hand back naive datetimes)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use an aware datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: object) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy's documented class attribute
        dt.datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[str]: JSON,
    }


ROLES = ("operator", "supervisor", "trainer", "admin")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime]


class AgentSession(Base):
    """One login of an operator at a seat."""

    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    seat: Mapped[str] = mapped_column(String(64), default="")
    started_at: Mapped[dt.datetime]
    ended_at: Mapped[dt.datetime | None]


class AgentStateChange(Base):
    """An operator's change of state: a store.vocabulary.AgentState identity (paused with a reason)."""

    __tablename__ = "agent_state_changes"
    __table_args__ = (Index("ix_agent_state_user_at", "user_id", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    session_id: Mapped[int | None] = mapped_column(ForeignKey("agent_sessions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[dt.datetime]


class Caller(Base):
    """A citizen, keyed by the normalised (E.164) phone number."""

    __tablename__ = "callers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]


class Call(Base):
    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_offered_at", "offered_at"),
        Index("ix_calls_caller_offered", "caller_id", "offered_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # our own call id (uuid4 hex)
    direction: Mapped[str] = mapped_column(String(8))  # in / out
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("callers.id"))
    remote_number: Mapped[str] = mapped_column(String(64))
    display_name: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    queue: Mapped[str | None] = mapped_column(String(32))
    offered_at: Mapped[dt.datetime]
    answered_at: Mapped[dt.datetime | None]
    ended_at: Mapped[dt.datetime | None]
    # remote_bye / local_hangup / cancelled / rejected / failed / abandoned / transferred
    end_reason: Mapped[str | None] = mapped_column(String(32))
    disposition: Mapped[str | None] = mapped_column(String(32))
    recording_path: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))
    callback_done: Mapped[bool] = mapped_column(Boolean, default=False)

    events: Mapped[list[CallEvent]] = relationship(
        back_populates="call", order_by="CallEvent.id", cascade="all, delete-orphan"
    )


class CallEvent(Base):
    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("calls.id"), index=True)
    at: Mapped[dt.datetime]
    kind: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")


class Ticket(Base):
    """A 12345 work order. Field changes go through store.tickets, never directly."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_status", "status"),
        Index("ix_tickets_created_at", "created_at"),
        Index("ix_tickets_caller", "caller_id", "created_at"),
        Index("ix_tickets_address_leaf", "leaf_code", "address"),
        Index("ix_tickets_deadline_open", "deadline"),
        Index("ix_tickets_status_closed", "status", "closed_at"),  # 回访 worklist: closed yesterday
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    client_request_id: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    nature: Mapped[str | None] = mapped_column(String(8))  # 咨询/求助/投诉/举报/建议/表扬
    board: Mapped[str | None] = mapped_column(String(32))
    leaf_code: Mapped[str | None] = mapped_column(String(32))
    taxonomy_version: Mapped[str | None] = mapped_column(String(32))
    district: Mapped[str | None] = mapped_column(String(32))
    street: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(8), default=DEFAULT_URGENCY)  # 一般/紧急/特急
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("callers.id"))
    caller_name: Mapped[str | None] = mapped_column(String(64))
    caller_phone: Mapped[str | None] = mapped_column(String(32))
    callback_consent: Mapped[bool] = mapped_column(Boolean, default=True)
    department: Mapped[str | None] = mapped_column(String(64))  # 主办
    co_departments: Mapped[list[str]] = mapped_column(JSON, default=list)  # 协办
    created_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    dispatched_at: Mapped[dt.datetime | None]
    accepted_at: Mapped[dt.datetime | None]
    replied_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    deadline: Mapped[dt.datetime | None]
    extension: Mapped[str | None] = mapped_column(String(16))  # requested / approved / refused
    extension_days: Mapped[int] = mapped_column(Integer, default=0)
    urge_count: Mapped[int] = mapped_column(Integer, default=0)  # 催办
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)  # 督办
    return_count: Mapped[int] = mapped_column(Integer, default=0)  # 退单
    rehandle_count: Mapped[int] = mapped_column(Integer, default=0)  # 重办
    satisfaction: Mapped[str | None] = mapped_column(String(8))  # 满意/基本满意/不满意
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"))  # 并单
    answer: Mapped[str | None] = mapped_column(Text)  # 答复 / 直接办结 text
    backend_id: Mapped[str | None] = mapped_column(String(64))  # Open311 service_request_id
    version: Mapped[int] = mapped_column(Integer, default=1)

    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.seq", cascade="all, delete-orphan"
    )


# Columns that replaying a ticket's events rebuilds (everything but the surrogate key and the
# bookkeeping that is derived from the events themselves).
TICKET_REPLAYED_FIELDS: tuple[str, ...] = tuple(
    c.name for c in Ticket.__table__.columns if c.name not in ("id", "updated_at", "version")
)


class TicketEvent(Base):
    """One field change of a ticket. A command (transition or edit) writes one or more."""

    __tablename__ = "ticket_events"
    __table_args__ = (
        UniqueConstraint("ticket_id", "seq", name="uq_ticket_events_seq"),
        Index("ix_ticket_events_at", "at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=False)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[dt.datetime]
    actor: Mapped[str] = mapped_column(String(64))  # username, "backend", "system"
    actor_role: Mapped[str] = mapped_column(String(16))
    command: Mapped[str] = mapped_column(String(32))  # create / edit / dispatch / accept / ...
    field: Mapped[str] = mapped_column(String(32))
    old: Mapped[str | None] = mapped_column(Text)  # JSON
    new: Mapped[str | None] = mapped_column(Text)  # JSON
    reason: Mapped[str | None] = mapped_column(Text)

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class Evaluation(Base):
    """回访: the citizen's verdict after 办结."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[dt.datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    call_id: Mapped[str | None] = mapped_column(ForeignKey("calls.id"))
    result: Mapped[str] = mapped_column(String(8))  # 满意/基本满意/不满意/未接通
    department_at_fault: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text)


class TicketCounter(Base):
    """Per-day sequence behind human-readable ticket numbers (AS20261128000123)."""

    __tablename__ = "ticket_counters"

    day: Mapped[str] = mapped_column(String(16), primary_key=True)  # prefix + YYYYMMDD
    last: Mapped[int] = mapped_column(Integer, default=0)


class OutboxEntry(Base):
    """A change waiting to reach the city backend; written in the ticket's own transaction."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_state_next", "state", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    kind: Mapped[OutboxKind] = mapped_column(String(16))
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending/done/attention
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    next_attempt_at: Mapped[dt.datetime]
    sent_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class SyncCursor(Base):
    __tablename__ = "sync_cursor"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[dt.datetime]


class TaxonomyChoice(Base):
    """(query typed, leaf chosen) pairs, mined later for keywords and used as ranking priors."""

    __tablename__ = "taxonomy_choices"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[dt.datetime]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    query: Mapped[str] = mapped_column(Text)
    leaf_code: Mapped[str] = mapped_column(String(32))
    rank: Mapped[int | None] = mapped_column(Integer)


class Draft(Base):
    """The operator's unsaved ticket form, saved continuously so a crash loses nothing."""

    __tablename__ = "drafts"
    # one row per form (its client request id); listed by user and call
    __table_args__ = (
        UniqueConstraint("user_id", "form_id", name="uq_drafts_user_form"),
        Index("ix_drafts_user_call", "user_id", "call_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    form_id: Mapped[str] = mapped_column(String(36))
    call_id: Mapped[str | None] = mapped_column(String(36))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime]
