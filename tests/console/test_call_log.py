"""CallLog: telephony events of a (simulated) line become calls and call events in a real store."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from console.services.call_log import CallLog, ringing_history
from console.services.store_writer import StoreWriter
from store import caller_history, calls, worklists
from store.db import Store
from store.models import AgentStateChange, Call
from store.users import add_user
from store.vocabulary import AgentState
from telephony.events import (
    CallAnswered,
    CallEnded,
    CallOffered,
    CallRejected,
    CallRinging,
    CallTransferred,
    Dtmf,
    Event,
)
from telephony.sim import ManualScheduler, ScriptedCall, SimLine

ORIGIN = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)


def run(line: SimLine, log: CallLog, steps: list[tuple[float, str]]) -> list[Event]:
    """Start ``line`` with ``log`` attached, then advance the manual clock doing line commands."""
    seen: list[Event] = []

    def on_event(ev: Event) -> None:
        seen.append(ev)
        log.on_event(ev)

    line.start(on_event)
    sched = line.scheduler
    assert isinstance(sched, ManualScheduler)
    for seconds, action in steps:
        sched.advance(seconds)
        if action:
            offered = [e for e in seen if isinstance(e, CallOffered)]
            verb, _, arg = action.partition(" ")
            call_id = offered[int(arg or 0)].call_id if verb != "dial" else ""
            if verb == "answer":
                line.answer(call_id)
            elif verb == "hold":
                line.hold(call_id)
            elif verb == "resume":
                line.resume(call_id)
            elif verb == "transfer":
                line.blind_transfer(call_id, "110")
            elif verb == "hangup":
                line.hangup(call_id)
            elif verb == "dial":
                log.dialed(line.dial(arg), arg, ORIGIN + dt.timedelta(seconds=sched.now()))
    line.stop()
    return seen


@pytest.mark.parametrize("background", [False, True], ids=["inline", "writer"])
def test_a_scripted_day_lands_in_the_store(store: Store, background: bool) -> None:
    script = [
        ScriptedCall("13812345678", "王先生", ring_at=1, hangup_after=60, dtmf=((2, "1"), (3, "#"))),
        ScriptedCall("13900001111", "", ring_at=100, hangup_after=8),  # gives up while ringing
        ScriptedCall("13700002222", "", ring_at=200),
    ]
    with store.session() as s:
        uid = add_user(s, "alice", "operator", "correct horse battery staple", ORIGIN).id
    log = CallLog(
        store,
        uid,
        origin=ORIGIN,
        recording_dir="/rec",
        agent_states=True,
        queue="12345",
        writer=StoreWriter(store) if background else None,
    )
    seen = run(
        SimLine(script, ManualScheduler()),
        log,
        [
            (1.5, "answer 0"),
            (5, "hold 0"),
            (2, "resume 0"),
            (60, ""),
            (135, ""),
            (5, "answer 2"),
            (5, "transfer 2"),
            (10, "dial 13600003333"),
            (5, ""),
        ],
    )
    assert log.flush(10)
    log.close()
    if log.writer is not None:
        log.writer.close()
    assert log.failures == 0
    offered = [e.call_id for e in seen if isinstance(e, CallOffered)]
    with store.read() as s:
        rows = {c.id: c for c in s.scalars(select(Call))}
        first = rows[offered[0]]
        assert (first.direction, first.user_id, first.queue, first.end_reason) == (
            "in",
            uid,
            "12345",
            "remote_bye",
        )
        assert first.answered_at == ORIGIN + dt.timedelta(seconds=1.5)
        assert first.recording_path == f"/rec/{offered[0]}"
        kinds = [(e.kind, e.data) for e in calls.call_events(s, offered[0])]
        assert kinds == [
            ("offered", {}),
            ("seat_ringing", {"user_id": 1}),  # the headless agent: every call rings at its seat
            ("answered", {}),
            ("media", {"codec": "PCMU"}),
            ("dtmf", {"digit": "1"}),
            ("dtmf", {"digit": "#"}),
            ("held", {"by": "local"}),
            ("resumed", {"by": "local"}),
            ("ended", {"reason": "remote_bye"}),
        ]
        missed = rows[offered[1]]
        assert (missed.answered_at, missed.end_reason) == (None, "cancelled")
        assert [m.call_id for m in worklists.missed_calls(s, ORIGIN)] == [offered[1]]
        assert rows[offered[2]].end_reason == "transferred"
        assert [e.kind for e in calls.call_events(s, offered[2])][-2:] == ["transferred", "ended"]
        out = [c for c in rows.values() if c.direction == "out"]
        assert len(out) == 1 and out[0].remote_number == "13600003333" and out[0].answered_at is not None
        assert [e.kind for e in calls.call_events(s, out[0].id)][:2] == ["dialed", "ringing"]
        history = caller_history.caller_history(s, "13812345678", ORIGIN + dt.timedelta(hours=1))
        assert history.name == "王先生" and [c.id for c in history.calls] == [offered[0]]
        states = [r.state for r in s.scalars(select(AgentStateChange).order_by(AgentStateChange.id))]
    assert states[:5] == [
        AgentState.RINGING,
        AgentState.TALKING,
        AgentState.HELD,
        AgentState.TALKING,
        AgentState.WRAP_UP,
    ]


def test_on_event_never_raises_and_counts_failures(sqlite_store: Store) -> None:
    log = CallLog(sqlite_store)
    log.on_event(CallAnswered(t=1.0, call_id="unknown"))  # no such call
    log.on_event(CallRejected(t=1.0, source="10.0.0.9:5060", why="not from the registrar"))  # logged only
    assert log.failures == 1
    with sqlite_store.session() as s:
        s.execute(text("DROP TABLE call_events"))
    log.on_event(CallOffered(t=2.0, call_id="c1", caller="13812345678"))
    log.on_event(Dtmf(t=3.0, call_id="c1", digit="5"))
    log.on_event(CallEnded(t=4.0, call_id="c1", reason="remote_bye"))
    assert log.failures == 4
    with sqlite_store.read() as s:
        assert s.scalars(select(Call)).all() == []


def test_attended_transfer_records_the_replaced_consultation(sqlite_store: Store) -> None:
    log = CallLog(sqlite_store, origin=ORIGIN)
    log.on_event(CallOffered(t=1.0, call_id="citizen", caller="13812345678", display_name="王先生"))
    log.on_event(CallAnswered(t=2.0, call_id="citizen", codec="PCMA"))
    log.dialed("consult", "0310", ORIGIN + dt.timedelta(seconds=3))
    log.on_event(CallRinging(t=3.1, call_id="consult", callee="0310"))
    log.on_event(CallAnswered(t=5.0, call_id="consult"))
    log.on_event(CallTransferred(t=9.0, call_id="citizen", target="sip:0310@pbx", replaces="consult"))
    log.on_event(CallEnded(t=9.1, call_id="citizen", reason="local_hangup"))
    log.on_event(CallEnded(t=9.5, call_id="consult", reason="remote_bye"))
    assert log.failures == 0
    with sqlite_store.read() as s:
        citizen, consult = s.get(Call, "citizen"), s.get(Call, "consult")
        assert citizen is not None and consult is not None
        assert citizen.end_reason == "transferred" and consult.end_reason == "remote_bye"
        assert consult.direction == "out" and consult.offered_at == ORIGIN + dt.timedelta(seconds=3)
        events = [(e.kind, e.data) for e in calls.call_events(s, "citizen")]
    assert ("transferred", {"target": "sip:0310@pbx", "replaces": "consult"}) in events


def test_ringing_history_reads_the_callers_past(sqlite_store: Store) -> None:
    log = CallLog(sqlite_store, origin=ORIGIN)
    log.on_event(CallOffered(t=1.0, call_id="before", caller="13812345678"))
    log.on_event(CallEnded(t=9.0, call_id="before", reason="cancelled"))
    log.on_event(CallOffered(t=60.0, call_id="now", caller="+86 138 1234 5678"))
    pop = ringing_history(
        sqlite_store, "13812345678", exclude_call_id="now", now=ORIGIN + dt.timedelta(minutes=2)
    )
    assert pop.repeat_caller and [c.id for c in pop.calls] == ["before"] and pop.masked_phone == "138****5678"


def test_the_writer_never_makes_the_line_wait_for_a_locked_store(sqlite_url: str) -> None:
    import sqlite3

    from store.db import open_store

    store = open_store(sqlite_url)
    writer = StoreWriter(store)
    log = CallLog(store, origin=ORIGIN, writer=writer)
    other = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another seat holds the write lock
        log.on_event(CallOffered(t=1.0, call_id="c1", caller="13812345678"))  # returns at once
        log.on_event(CallEnded(t=2.0, call_id="c1", reason="cancelled"))
        assert not log.flush(0.2)  # still waiting for the lock, the line thread is not
        other.execute("ROLLBACK")
        assert log.flush(10)
    finally:
        other.close()
        log.close()
        writer.close()
    with store.read() as s:
        call = s.get(Call, "c1")
        assert call is not None and call.end_reason == "cancelled"
    assert log.failures == 0
    store.close()
