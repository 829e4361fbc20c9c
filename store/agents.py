"""Operators' sessions and states (``agent_sessions`` / ``agent_state_changes``).

Every function works inside the caller's transaction. States are ``store.vocabulary.AgentState``
members (stored by identity: ``ready``, ``paused`` ...):

- ``start_agent_session(s, user_id, at, seat="")``: a login; the user's sessions still open end.
- ``end_agent_session(s, session_id, at)``: a logout; writes ``AgentState.OFFLINE`` (idempotent).
- ``set_agent_state(s, user_id, state, at, reason=None, session_id=None)``: a change of state; only
  ``AgentState.PAUSED`` carries a reason, and a repeat of the current state and reason writes nothing.
- ``current_agent_state(s, user_id) -> AgentStateEntry | None``: the latest change.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from store.calls import CallError
from store.models import AgentSession, AgentStateChange
from store.vocabulary import AgentState

log = structlog.get_logger(__name__)

__all__ = [
    "AgentStateEntry",
    "current_agent_state",
    "end_agent_session",
    "set_agent_state",
    "start_agent_session",
]


@dataclass(frozen=True)
class AgentStateEntry:
    """One change of an operator's state, as stored."""

    user_id: int
    state: AgentState
    reason: str | None
    at: dt.datetime
    session_id: int | None


def start_agent_session(session: Session, user_id: int, at: dt.datetime, seat: str = "") -> AgentSession:
    """A login of ``user_id`` at ``seat``; the user's sessions still open are ended at ``at`` first."""
    for stale in session.scalars(
        select(AgentSession).where(AgentSession.user_id == user_id, AgentSession.ended_at.is_(None))
    ):
        stale.ended_at = at
    row = AgentSession(user_id=user_id, seat=seat[:64], started_at=at)
    session.add(row)
    session.flush()
    log.info("agent.login", user_id=user_id, seat=seat, session_id=row.id)
    return row


def end_agent_session(session: Session, session_id: int, at: dt.datetime) -> AgentSession:
    """Logout: the session ends and the user goes offline (idempotent)."""
    row = session.get(AgentSession, session_id)
    if row is None:
        raise CallError(f"no agent session {session_id}")
    if row.ended_at is None:
        row.ended_at = at
        set_agent_state(session, row.user_id, AgentState.OFFLINE, at, session_id=row.id)
        log.info("agent.logout", user_id=row.user_id, session_id=row.id)
    return row


def current_agent_state(session: Session, user_id: int) -> AgentStateEntry | None:
    """The user's latest state change, or None before the first one."""
    row = session.execute(
        select(AgentStateChange)
        .where(AgentStateChange.user_id == user_id)
        .order_by(AgentStateChange.at.desc(), AgentStateChange.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if row is None:
        return None
    return AgentStateEntry(row.user_id, AgentState(row.state), row.reason, row.at, row.session_id)


def set_agent_state(
    session: Session,
    user_id: int,
    state: AgentState,
    at: dt.datetime,
    *,
    reason: str | None = None,
    session_id: int | None = None,
) -> AgentStateEntry:
    """Record that ``user_id`` is now in ``state`` (paused may carry a reason, e.g. 培训 / 用餐).

    Without ``session_id`` the user's open session is used. The same state and reason as the
    current one writes nothing.
    """
    try:
        state = AgentState(state)
    except ValueError:
        known = ", ".join(AgentState)
        raise CallError(f"unknown agent state {state!r}; known: {known}") from None
    reason = (reason or "").strip()[:64] or None
    if reason and state != AgentState.PAUSED:
        raise CallError(f"only {AgentState.PAUSED} carries a reason")
    current = current_agent_state(session, user_id)
    if current is not None and (current.state, current.reason) == (state, reason):
        return current
    if session_id is None:
        session_id = session.scalar(
            select(AgentSession.id)
            .where(AgentSession.user_id == user_id, AgentSession.ended_at.is_(None))
            .order_by(AgentSession.started_at.desc())
            .limit(1)
        )
    row = AgentStateChange(session_id=session_id, user_id=user_id, state=state.value, reason=reason, at=at)
    session.add(row)
    session.flush()
    return AgentStateEntry(user_id, state, reason, at, session_id)
