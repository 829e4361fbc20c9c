"""One call's data stays with that call, and every call record says what happened (real app, Pilot,
SimLine on a manual clock, real SQLite store).

- An emergency hand-off without a ticket: the next caller's form is empty (Ctrl+N too), the ticket
  saved then carries that caller's number and is linked to that call; the hand-off is on the first
  call's record, and its unsaved draft stays on it.
- After a crash the unsaved draft is offered explicitly (its call's number and time) and reopened
  only on request, linked to its own call.
- Wrap-up dispositions are chosen: nothing highlighted but what the facts imply, the digit confirms,
  an expired wrap-up records 未选择（超时）, never NULL and never 已建工单 without a ticket.
- The caller hanging up mid-form: a notice, the form keeps the keys, the wrap-up waits for the ticket.
"""

from __future__ import annotations

from typing import Any

from helpers.desk_harness import Rig, add_operator, answer, desk_of, make_rig, ring, wait_until
from helpers.ticket_host import fill_heating_request, set_fields
from textual.widgets import OptionList

from console.screens.dialogs import TransferDialog
from console.screens.drafts_dialog import DraftsDialog
from console.services.call_service import NOT_CHOSEN_TIMEOUT
from console.widgets.ticket_form import TicketForm
from store import calls
from store.db import Store
from store.models import Call, Ticket
from store.vocabulary import AgentState
from telephony.sim import ScriptedCall

GAS = "18830573909"  # the first caller: a gas leak, handed off to 119
NEXT = "13100000011"  # the next caller
SIZE = (160, 50)


def _flush(rig: Rig) -> None:
    rig.app.call_log.flush()
    rig.app.calls.writer.flush()


def _row(store: Store, call_id: str) -> Call:
    with store.read() as s:
        row = s.get(Call, call_id)
        assert row is not None
        s.expunge(row)
        return row


def _ticket(store: Store, ticket_id: int) -> Ticket:
    with store.read() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        s.expunge(ticket)
        return ticket


def _form(rig: Rig) -> TicketForm:
    desk = rig.app.desk_screen()  # under a dialog too
    assert desk is not None
    form = desk.form
    assert isinstance(form, TicketForm)
    return form


def _wrap_highlight(rig: Rig) -> str | None:
    options = desk_of(rig).query_one("#wrap-options", OptionList)
    index = options.highlighted
    return None if index is None else options.get_option_at_index(index).id


async def _gas_leak_handed_to_119(rig: Rig, pilot: Any) -> str:
    """Call 1: answered, 燃气泄漏 typed and picked (the hand-off dialog opens on 119), transferred."""
    call_id = await ring(rig, pilot, 0.5)
    await answer(rig, pilot)
    await wait_until(pilot, lambda: desk_of(rig).form is not None)
    await pilot.press(*"rqxl", "enter")  # 燃气泄漏 by its initials: an emergency leaf
    await wait_until(pilot, lambda: isinstance(rig.app.screen, TransferDialog))
    set_fields(_form(rig), description="家里燃气泄漏了，闻到很大的煤气味")
    await pilot.press("enter")  # the preselected hand-off number, blind
    rig.advance(0)
    await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
    return call_id


async def test_an_emergency_hand_off_leaves_nothing_in_the_next_callers_ticket(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    script = [
        ScriptedCall(GAS, ring_at=0.5, hangup_after=600),
        ScriptedCall(NEXT, ring_at=2.0, hangup_after=600),
    ]
    rig = make_rig(sqlite_store, script, auto_login="wang", form=True)
    async with rig.app.run_test(size=SIZE) as pilot:
        gas_call = await _gas_leak_handed_to_119(rig, pilot)
        assert rig.app.calls.last_call.transfers == ["119"]
        # the typed form is unsaved: the wrap-up waits, and nothing rings onto it
        assert rig.app.calls.wrapup_held
        rig.advance(5.0)  # the next call is offered meanwhile: it waits
        await wait_until(pilot, lambda: bool(rig.app.calls.waiting))
        assert rig.app.calls.status.state == AgentState.WRAP_UP
        assert [c.caller for c in rig.app.calls.waiting.values()] == [NEXT]
        await pilot.press("ctrl+d")  # no ticket for the emergency: the draft stays on its call
        await wait_until(pilot, lambda: not rig.app.calls.wrapup_held and desk_of(rig).form is None)
        assert _wrap_highlight(rig) == "已转接"  # what the call's facts imply, not the last choice
        await pilot.press("3")  # 已转接, by its digit
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.RINGING)
        next_call = rig.app.calls.current.call_id
        assert desk_of(rig).form is None  # nothing of the previous caller on screen while it rings
        await answer(rig, pilot)
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        await wait_until(pilot, lambda: _form(rig).form_data().caller_phone == NEXT)
        fresh = _form(rig).form_data()
        assert (fresh.description, fresh.leaf_code, fresh.urgency) == ("", "", "一般")
        assert fresh.caller_phone == NEXT and "恢复" not in _form(rig).status_text
        await pilot.press("ctrl+n")  # a new form is an empty form, for the same call
        await wait_until(pilot, lambda: _form(rig).form_data().request_id != fresh.request_id)
        await wait_until(pilot, lambda: _form(rig).form_data().caller_phone == NEXT)  # mounted
        again = _form(rig).form_data()
        assert (again.description, again.leaf_code, again.caller_phone) == ("", "", NEXT)
        await fill_heating_request(pilot, _form(rig), "ctrl+f")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: rig.app.calls.current.ticket_id is not None)
        ticket_id = rig.app.calls.current.ticket_id
        _flush(rig)
        drafts = rig.app.seat.tickets.unsaved_drafts()
    ticket = _ticket(sqlite_store, ticket_id)
    assert ticket.caller_phone is not None and ticket.caller_phone.endswith(NEXT)
    assert ticket.urgency != "特急" and "燃气" not in (ticket.description or "")
    assert _row(sqlite_store, next_call).ticket_id == ticket_id
    gas = _row(sqlite_store, gas_call)
    assert (gas.ticket_id, gas.disposition, gas.end_reason) == (None, "已转接", "transferred")
    with sqlite_store.read() as s:
        handoff = [e for e in calls.call_events(s, gas_call) if e.kind == "handoff"]
    assert len(handoff) == 1 and handoff[0].data["target"] == "119"
    assert "燃气泄漏" in handoff[0].data["matter"]
    # the abandoned emergency draft is kept, on its own call
    assert [(d.call.call_id if d.call else None, d.form.description) for d in drafts] == [
        (gas_call, "家里燃气泄漏了，闻到很大的煤气味")
    ]


async def test_after_a_crash_the_draft_is_offered_and_reopened_only_on_request(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store, [ScriptedCall(GAS, ring_at=0.5, hangup_after=600)], auto_login="wang", form=True
    )
    async with rig.app.run_test(size=SIZE) as pilot:
        first = await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        await fill_heating_request(pilot, _form(rig))
        _form(rig).flush_draft()
        await wait_until(pilot, lambda: len(rig.app.seat.tickets.unsaved_drafts()) == 1)
        _flush(rig)
    # the console died mid-call; a new one, and another caller
    again = make_rig(
        sqlite_store, [ScriptedCall(NEXT, ring_at=0.5, hangup_after=600)], auto_login="wang", form=True
    )
    async with again.app.run_test(size=SIZE) as pilot:
        await wait_until(pilot, lambda: any("188****3909" in n.message for n in again.app._notifications))
        offer = next(n.message for n in again.app._notifications if "188****3909" in n.message)
        assert "恢复上一通电话的草稿" in offer and "09:3" in offer  # its number and time, not a call id
        second = await ring(again, pilot, 0.5)
        await answer(again, pilot)
        await wait_until(pilot, lambda: desk_of(again).form is not None)
        await wait_until(pilot, lambda: bool(_form(again).form_data().caller_phone))
        fresh = _form(again).form_data()
        assert fresh.caller_phone == NEXT and fresh.description == "" and fresh.leaf_code == ""
        await pilot.press("ctrl+r")
        await wait_until(pilot, lambda: isinstance(again.app.screen, DraftsDialog))
        await pilot.press("enter")
        await wait_until(pilot, lambda: desk_of(again).form_call_id == first)
        reopened = _form(again).form_data()
        assert reopened.caller_phone.endswith(GAS[-8:]) and reopened.leaf_code
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: _form(again).saved is not None)
        ticket_id = _form(again).saved.ticket_id
        _flush(again)
    assert _row(sqlite_store, first).ticket_id == ticket_id  # linked to the call it was written for
    assert _row(sqlite_store, second).ticket_id is None
    assert _ticket(sqlite_store, ticket_id).caller_phone.endswith(GAS)


async def test_each_wrapup_records_what_happened(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    script = [
        ScriptedCall("04124077143", ring_at=0.5, hangup_after=2.0),  # silent: gone after 2 s
        ScriptedCall("13100000012", ring_at=40.0, hangup_after=600),  # a consultation, ticket saved
        ScriptedCall("13100000013", ring_at=80.0, hangup_after=600),  # transferred to 119
    ]
    rig = make_rig(sqlite_store, script, auto_login="wang", form=True)
    async with rig.app.run_test(size=SIZE) as pilot:
        silent = await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        rig.advance(2.0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert not rig.app.calls.wrapup_held and _wrap_highlight(rig) is None  # no ticket, no default
        await pilot.press("enter")  # nothing highlighted: Enter records nothing by accident
        assert rig.app.calls.status.state == AgentState.WRAP_UP
        rig.clock.advance(31)
        desk_of(rig).tick()  # the wrap-up expires
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)

        consult = await ring(rig, pilot, 40.0 - 2.5)
        await answer(rig, pilot)
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        await fill_heating_request(pilot, _form(rig))
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: rig.app.calls.current.ticket_id is not None)
        await pilot.press("f8")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert _wrap_highlight(rig) == "已建工单"  # a ticket was saved on this call
        await pilot.press("2")  # the operator answered a consultation: 咨询已答复
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)

        moved = await ring(rig, pilot, 80.0 - 40.0)
        await answer(rig, pilot)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, TransferDialog))
        await pilot.press("2")  # 119
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert _wrap_highlight(rig) == "已转接"  # not the last call's 咨询已答复
        await pilot.press("enter")
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        _flush(rig)
    assert (_row(sqlite_store, silent).disposition, _row(sqlite_store, silent).ticket_id) == (
        NOT_CHOSEN_TIMEOUT,
        None,
    )
    assert _row(sqlite_store, consult).disposition == "咨询已答复" and _row(sqlite_store, consult).ticket_id
    assert (_row(sqlite_store, moved).disposition, _row(sqlite_store, moved).ticket_id) == ("已转接", None)


async def test_the_caller_hanging_up_mid_form_holds_the_wrapup_until_the_ticket_is_saved(
    sqlite_store: Store,
) -> None:
    add_operator(sqlite_store)
    script = [
        ScriptedCall(GAS, ring_at=0.5, hangup_after=7.0),
        ScriptedCall(NEXT, ring_at=9.0, hangup_after=600),
    ]
    rig = make_rig(sqlite_store, script, auto_login="wang", form=True)
    async with rig.app.run_test(size=SIZE) as pilot:
        call_id = await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        await pilot.press(*"nqbr")  # the operator is typing into the search
        rig.advance(7.0)  # the caller hangs up
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert rig.app.calls.wrapup_held
        assert any("来电人已挂断" in n.message for n in rig.app._notifications)
        form = _form(rig)
        assert rig.app.focused is form.picker.search_box  # the keys still go to the form
        await pilot.press("1")  # picks the first result, not disposition 1
        await wait_until(pilot, lambda: bool(form.form_data().leaf_code))
        rig.advance(3.0)  # the next call is offered: it waits
        await wait_until(pilot, lambda: bool(rig.app.calls.waiting))
        rig.clock.advance(120)  # far past [ui] wrapup_seconds: the clock is not running
        desk_of(rig).tick()
        assert rig.app.calls.status.state == AgentState.WRAP_UP and rig.app.calls.waiting
        await pilot.press("f9")  # going ready now would ring a call onto the unfinished ticket
        assert rig.app.calls.status.state == AgentState.WRAP_UP
        await fill_heating_request(pilot, form, "ctrl+f")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: not rig.app.calls.wrapup_held)
        assert _wrap_highlight(rig) == "已建工单"
        await pilot.press("enter")
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.RINGING)
        _flush(rig)
    row = _row(sqlite_store, call_id)
    assert row.disposition == "已建工单" and row.ticket_id is not None and row.end_reason == "remote_bye"
