"""CallService without a screen: agent states, call control and the store, on a SimLine (manual clock)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from helpers.desk_harness import Clock, add_operator
from helpers.ticket_fixtures import PHONE, heating_form, searcher, taxonomy
from sqlalchemy import select

from console.services.call_log import CallLog
from console.services.call_service import CallService
from console.services.store_writer import StoreWriter
from console.services.ticket_service import CallContext, TicketService
from store import calls
from store.callers import place_of
from store.db import Store
from store.models import AgentStateChange, Call
from store.tickets import Actor
from store.vocabulary import AgentState
from telephony.events import Event
from telephony.line import LineCommandError
from telephony.offline import OfflineLine
from telephony.sim import ManualScheduler, ScriptedCall, SimLine


class Desk:
    """A CallService on a SimLine whose events are applied at once (as the app's loop would), with
    its CallLog on the same ordered writer (as the app's seat)."""

    def __init__(self, store: Store, script: list[ScriptedCall], wrapup: int = 30) -> None:
        self.clock = Clock()
        self.scheduler = ManualScheduler()
        self.line = SimLine(script, self.scheduler)
        self.problems: list[str] = []
        self.writer = StoreWriter(store, self.problems.append)
        self.log = CallLog(store, now=self.clock, writer=self.writer)
        self.service = CallService(
            store, self.line, self.writer, call_log=self.log, wrapup_seconds=wrapup, now=self.clock
        )
        self.updates: list[str] = []
        self.line.start(self._on_event)

    def _on_event(self, event: Event) -> None:
        self.log.on_event(event)
        self.updates.append(self.service.apply(event).kind)

    def advance(self, seconds: float = 0.0) -> None:
        self.scheduler.advance(seconds)
        self.clock.advance(seconds)

    def login(self, store: Store, reason: str | None = None) -> None:
        user_id = add_operator(store)
        op = self.service.find_operator("wang")
        assert op is not None and op.user_id == user_id
        self.service.start_session(op, reason)


@pytest.fixture
def desk(sqlite_store: Store) -> Iterator[Desk]:
    d = Desk(
        sqlite_store,
        [
            ScriptedCall("13800138000", ring_at=1.0),
            ScriptedCall("13800138001", ring_at=2.0, hangup_after=5.0),
        ],
    )
    yield d
    d.line.stop()
    d.service.end_session()


def _states(store: Store) -> list[tuple[str, str | None]]:
    with store.read() as s:
        return [
            (r.state, r.reason) for r in s.scalars(select(AgentStateChange).order_by(AgentStateChange.id))
        ]


def test_a_paused_operator_is_not_rung_until_ready(desk: Desk, sqlite_store: Store) -> None:
    desk.login(sqlite_store, reason="培训")
    desk.advance(1.0)
    assert desk.service.current is None and len(desk.service.waiting) == 1
    update = desk.service.ready()
    assert update.kind == "ringing" and desk.service.status.state == AgentState.RINGING
    desk.service.writer.flush()
    assert _states(sqlite_store) == [
        (AgentState.PAUSED, "培训"),
        (AgentState.READY, None),
        (AgentState.RINGING, None),
    ]


def test_pause_asked_during_a_call_applies_after_wrapup(desk: Desk, sqlite_store: Store) -> None:
    desk.login(sqlite_store)
    desk.advance(1.0)
    assert desk.service.answer().kind == "none"
    desk.advance(0)
    assert desk.service.status.state == AgentState.TALKING
    assert desk.service.wants_reason_for_toggle()
    assert desk.service.pause("会议").message == "msg.pause_after_call"
    assert not desk.service.wants_reason_for_toggle()  # F9 now cancels the pause asked for
    desk.service.hangup()
    desk.advance(0)
    assert desk.service.status.state == AgentState.WRAP_UP and desk.service.wrapup_left() == 30
    desk.clock.advance(10)
    assert desk.service.tick().kind == "none" and desk.service.wrapup_left() == 20
    desk.clock.advance(21)
    desk.service.tick()
    assert (desk.service.status.state, desk.service.status.reason) == (AgentState.PAUSED, "会议")


def test_disposition_is_stored_and_the_waiting_call_rings_after_wrapup(
    desk: Desk, sqlite_store: Store
) -> None:
    desk.login(sqlite_store)
    desk.advance(1.0)
    first = desk.service.current.call_id
    desk.service.answer()
    desk.advance(1.0)  # the second call arrives while talking: it waits
    assert len(desk.service.waiting) == 1
    desk.service.hangup()
    desk.advance(0)
    update = desk.service.finish_wrapup("已建工单")
    assert update.kind == "ringing" and desk.service.current.caller == "13800138001"
    desk.service.writer.flush()
    with sqlite_store.read() as s:
        assert s.get(Call, first).disposition == "已建工单"


def test_commands_without_a_call_are_refused_not_raised(desk: Desk, sqlite_store: Store) -> None:
    desk.login(sqlite_store)
    for action in (
        desk.service.answer,
        desk.service.toggle_hold,
        desk.service.toggle_mute,
        desk.service.hangup,
        desk.service.complete_consultation,
        desk.service.cancel_consultation,
    ):
        assert action().message == "msg.no_call"
    assert desk.service.send_dtmf("12").message == "msg.no_call"
    assert desk.service.blind_transfer("110").message == "msg.no_call"


def test_a_command_the_line_refuses_is_reported(desk: Desk, sqlite_store: Store) -> None:
    desk.login(sqlite_store)
    desk.advance(1.0)
    desk.line.calls[desk.service.current.call_id].state = "ended"  # the line already lost it
    update = desk.service.answer()
    assert update.kind == "error" and update.message == "msg.command_refused"


def test_dtmf_keeps_only_keypad_digits(desk: Desk, sqlite_store: Store) -> None:
    desk.login(sqlite_store)
    desk.advance(1.0)
    desk.service.answer()
    desk.advance(0)
    assert desk.service.send_dtmf("x").message == "msg.bad_dtmf"
    assert desk.service.send_dtmf("1a#").values == {"digits": "1#"}
    call_id = desk.service.current.call_id
    assert desk.line.calls[call_id].sent_dtmf == ["1", "#"]
    desk.service.writer.flush()
    with sqlite_store.read() as s:
        assert [e.data for e in calls.call_events(s, call_id) if e.kind == "dtmf_sent"] == [{"digits": "1#"}]


def test_wrapup_of_zero_seconds_goes_straight_back(sqlite_store: Store) -> None:
    d = Desk(sqlite_store, [ScriptedCall("13800138000", ring_at=1.0)], wrapup=0)
    try:
        d.login(sqlite_store)
        d.advance(1.0)
        d.service.answer()
        d.advance(0)
        d.service.hangup()
        d.advance(0)
        assert d.service.status.state == AgentState.READY and d.service.current is None
    finally:
        d.line.stop()
        d.service.end_session()


def test_a_failed_store_write_is_reported_and_the_desk_goes_on(sqlite_store: Store) -> None:
    d = Desk(sqlite_store, [])
    d.login(sqlite_store)
    reported = threading.Event()
    d.service.writer.on_problem = lambda what: (d.problems.append(what), reported.set())
    d.service.writer.submit("agent_state", lambda s: 1 / 0)
    assert reported.wait(5) and d.problems == ["agent_state"]
    assert d.service.pause("小休").kind == "none"  # still working
    d.line.stop()
    d.service.end_session()


def test_offline_line_says_why_and_refuses_commands() -> None:
    seen: list[Event] = []
    line = OfflineLine("[sip] enabled = false")
    line.start(seen.append)
    assert seen[0].name == "registration_failed"
    with pytest.raises(LineCommandError):
        line.answer("x")
    with pytest.raises(LineCommandError):
        line.dial("110")


def test_place_of_mainland_numbers() -> None:
    assert place_of("13904121037") == "辽宁省鞍山市"
    assert place_of("04125551234") == "辽宁省鞍山市"
    assert place_of("110") == "" and place_of("anonymous") == ""


def test_an_outbound_worklist_call_is_followed_and_the_pause_comes_back(
    desk: Desk, sqlite_store: Store
) -> None:
    desk.login(sqlite_store, reason="回访")
    call_id = desk.line.dial("13800138009")
    desk.advance(0)  # ringing at the citizen's
    assert desk.service.outbound(call_id, "138****8009").kind == "dialing"
    desk.advance(0.5)  # answered
    assert desk.service.status.state == AgentState.TALKING and desk.service.current.state == "talking"
    desk.service.hangup()
    desk.advance(0)
    assert desk.service.status.state == AgentState.WRAP_UP
    desk.service.finish_wrapup(None)
    assert (desk.service.status.state, desk.service.status.reason) == (AgentState.PAUSED, "回访")


def test_an_outbound_call_answered_before_its_id_reached_the_desk(desk: Desk, sqlite_store: Store) -> None:
    desk.login(sqlite_store, reason="回访")
    call_id = desk.line.dial("13800138009")
    desk.advance(0.6)  # ringing and answered before the worklist's message arrives
    assert desk.service.outbound(call_id, "138****8009").kind == "answered"
    assert desk.service.status.state == AgentState.TALKING


@pytest.mark.parametrize("how", ["save", "follow_up"])
def test_a_ticket_saved_in_the_first_100_ms_of_a_call_is_linked_to_it(sqlite_store: Store, how: str) -> None:
    """The ticket is filed before the seat's writer got to the call's row: the link waits behind it."""
    d = Desk(sqlite_store, [ScriptedCall(PHONE, ring_at=0.0)])
    try:
        d.login(sqlite_store)
        op = d.service.operator
        assert op is not None
        actor = Actor(op.username, op.role, op.user_id)
        filed = TicketService(sqlite_store, actor, taxonomy=taxonomy(), searcher=searcher(), clock=d.clock)
        earlier = filed.save(heating_form(caller_phone="13900001111")) if how == "follow_up" else None
        tickets = TicketService(
            sqlite_store,
            actor,
            taxonomy=taxonomy(),
            searcher=searcher(),
            clock=d.clock,
            link_call=d.service.link_ticket,
        )
        behind = threading.Event()
        assert d.writer.submit("busy", lambda _s: behind.wait(10))  # the writer is behind for a moment
        d.advance(0.0)  # the call rings: its row is queued behind that
        d.service.answer()
        d.advance(0.05)
        call = d.service.current
        assert call is not None and call.state == "talking"
        context = CallContext(call.call_id, call.caller)
        with sqlite_store.read() as s:
            assert calls.get_call(s, call.call_id) is None  # 50 ms into the call: no row yet
        if earlier is None:
            result = tickets.save(heating_form(), context)
        else:
            result = tickets.follow_up(earlier.number, context)
        unlinked = filed.save(heating_form(caller_phone="13700002222"), context)  # no link_call: skipped
        behind.set()
        assert d.writer.flush(10)
        with sqlite_store.read() as s:
            row = calls.get_call(s, call.call_id)
            assert row is not None and row.ticket_id == result.ticket_id != unlinked.ticket_id
            kinds = [e.kind for e in calls.call_events(s, call.call_id)]
        assert ("follow_up" in kinds) == (how == "follow_up")
        assert d.problems == []
    finally:
        d.line.stop()
        d.service.end_session()


def test_a_link_to_a_call_that_has_no_row_is_reported_not_skipped(desk: Desk, sqlite_store: Store) -> None:
    desk.login(sqlite_store)
    desk.service.link_ticket("never-offered", 1)
    assert desk.writer.flush(5)
    assert desk.problems == ["call_link"]
