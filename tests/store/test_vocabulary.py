"""The one vocabulary (store.vocabulary), and migration 0005 that stores agent states by identity."""

from __future__ import annotations

import datetime as dt

from alembic import command
from sqlalchemy import select, text

from store import agents
from store.db import Store, alembic_config, current_revision, head_revision
from store.lifecycle import CREATE_DEFAULTS
from store.models import AgentStateChange
from store.tickets import TicketDraft
from store.users import add_user
from store.vocabulary import (
    BOARDS,
    DEFAULT_BOARD,
    DEFAULT_URGENCY,
    DEPARTMENT_STATES,
    OPEN_STATES,
    STATUSES,
    URGENCIES,
    AgentState,
    urgency_of_leaf,
)
from taxonomy.model import load_taxonomy

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
LABELS = ("就绪", "示忙", "振铃", "通话中", "保持", "话后整理", "离线")  # what rows held before 0005


def test_agent_state_identities_are_ascii_and_apart_from_labels() -> None:
    assert [s.value for s in AgentState] == [
        "ready",
        "paused",
        "ringing",
        "talking",
        "held",
        "wrap_up",
        "offline",
    ]
    assert AgentState.READY.label_key == "agent_state.ready"
    assert all(s.value.isascii() and s.label_key.isascii() for s in AgentState)
    assert AgentState("paused") is AgentState.PAUSED


def test_defaults_are_members_and_used_where_tickets_are_made() -> None:
    assert DEFAULT_BOARD in BOARDS and DEFAULT_URGENCY in URGENCIES
    assert DEPARTMENT_STATES < OPEN_STATES <= set(STATUSES)
    draft = TicketDraft(nature="咨询", description="问政策")
    assert (draft.board, draft.urgency) == (DEFAULT_BOARD, DEFAULT_URGENCY)
    assert CREATE_DEFAULTS["urgency"] == DEFAULT_URGENCY


def test_urgency_of_leaf() -> None:
    assert [urgency_of_leaf(u) for u in ("normal", "high", "critical")] == list(URGENCIES)
    assert urgency_of_leaf(None) == urgency_of_leaf("unheard-of") == DEFAULT_URGENCY
    # every urgency word of the real catalogue's leaves is one the map knows
    assert {leaf.urgency for leaf in load_taxonomy().leaves()} <= {"normal", "high", "critical"}


def _states(store: Store) -> list[str]:
    with store.read() as s:
        return list(s.scalars(select(AgentStateChange.state).order_by(AgentStateChange.id)))


def test_migration_0005_converts_stored_labels_both_ways(store: Store) -> None:
    with store.session() as s:
        uid = add_user(s, "alice", "operator", "correct horse battery staple", T0).id
        agents.set_agent_state(s, uid, AgentState.PAUSED, T0, reason="培训")
    cfg = alembic_config(store.engine)
    command.downgrade(cfg, "0004")
    assert _states(store) == ["示忙"]
    with store.engine.begin() as conn:
        for i, label in enumerate(LABELS):
            conn.execute(
                text("INSERT INTO agent_state_changes (user_id, state, at) VALUES (:u, :s, :at)"),
                {"u": uid, "s": label, "at": T0 + dt.timedelta(seconds=i + 1)},
            )
    command.upgrade(cfg, "head")
    assert current_revision(store.engine) == head_revision()
    assert _states(store) == ["paused", *(s.value for s in AgentState)]
    with store.read() as s:
        current = agents.current_agent_state(s, uid)
    assert current is not None and current.state is AgentState.OFFLINE
    command.downgrade(cfg, "0004")
    assert _states(store) == ["示忙", *LABELS]
    command.upgrade(cfg, "head")
