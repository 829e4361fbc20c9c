"""备注 (note): an audited remark on a ticket that changes no field and is not sent to the backend."""

from __future__ import annotations

import pytest
from test_lifecycle import HOUR, T0, walk
from test_tickets import OPERATOR, SUPERVISOR, command, counts, create, row_of

from store import lifecycle as lc
from store import vocabulary as vocab
from store.db import Store
from store.tickets import Actor, LifecycleError, find_ticket, ticket_as_dict


def test_note_is_a_command_of_every_state_without_changes() -> None:
    spec = lc.COMMANDS["note"]
    assert spec.label == "备注" and spec.to_state is None and not spec.effects
    assert spec.from_states == frozenset(vocab.STATUSES)
    assert {"operator", "supervisor", "system"} <= spec.roles and "trainer" not in spec.roles
    for state in vocab.STATUSES:
        assert lc.plan("note", walk(state), "operator", {"reason": "转接 119（盲转）"}, T0 + 900 * HOUR) == []


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_note_needs_a_text(reason: str | None) -> None:
    with pytest.raises(LifecycleError, match="missing reason"):
        lc.plan("note", walk(vocab.RECEIVED), "operator", {"reason": reason}, T0)
    with pytest.raises(LifecycleError, match="missing reason"):
        lc.plan("note", walk(vocab.RECEIVED), "operator", {}, T0)


def test_note_writes_one_event_no_outbox_and_keeps_the_row(store: Store) -> None:
    t = create(store)
    command(store, t.number, "dispatch", OPERATOR, T0 + HOUR, department="市水务集团")
    before_counts = counts(store)
    with store.read() as s:
        found = find_ticket(s, t.number)
        assert found is not None
        before = ticket_as_dict(found)
    assert command(store, t.number, "note", SUPERVISOR, T0 + 2 * HOUR, reason="  转接 119（盲转）  ") == []
    assert counts(store) == (before_counts[0], before_counts[1] + 1, before_counts[2])
    with store.read() as s:
        found = find_ticket(s, t.number)
        assert found is not None
        after = ticket_as_dict(found, with_events=True)
    events = after.pop("events")
    assert after == before  # no field, not the version, not updated_at
    last = events[-1]
    assert last["seq"] == events[-2]["seq"] + 1
    assert (last["command"], last["field"], last["old"], last["new"]) == ("note", lc.NOTE_FIELD, None, None)
    assert (last["reason"], last["actor"], last["actor_role"]) == ("转接 119（盲转）", "bob", "supervisor")
    fields, replayed = row_of(store, t.number)
    assert replayed == fields  # replay skips the note


def test_a_refused_note_writes_nothing(store: Store) -> None:
    t = create(store)
    before = counts(store)
    with pytest.raises(LifecycleError, match="may not note"):
        command(store, t.number, "note", Actor("tina", "trainer"), T0 + HOUR, reason="x")
    with pytest.raises(LifecycleError, match="missing reason"):
        command(store, t.number, "note", OPERATOR, T0 + HOUR, reason=" ")
    assert counts(store) == before
