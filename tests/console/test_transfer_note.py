"""Transfers of a call written on its ticket as audited notes (备注): on the real app with the real
ticket form (Pilot, SimLine, SQLite), and on CallService alone for the edge cases."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from helpers.desk_harness import FIXED, add_operator, answer, desk_of, make_rig, ring, wait_until
from helpers.ticket_host import fill_heating_request
from test_app_calls import consult_120_and_transfer
from test_call_service import Desk

from console.screens.dialogs import TransferDialog
from console.services.transfer_notes import TransferRequest
from store import lifecycle as lc
from store.db import Store
from store.models import OutboxEntry, Ticket
from store.tickets import Actor, create_ticket, draft_from, replay, ticket_fields
from store.vocabulary import AgentState
from telephony.sim import ScriptedCall

PHONE = "13904121037"


def _notes(store: Store, ticket_id: int) -> list[tuple[str, str, str | None]]:
    """(actor, actor role, text) of the ticket's notes; checks the row still replays from its events."""
    with store.read() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        fields = ticket_fields(ticket)
        fields.pop("id")
        assert replay(ticket.events) == fields
        return [(e.actor, e.actor_role, e.reason) for e in ticket.events if e.command == "note"]


def _outbox_commands(store: Store, ticket_id: int) -> list[Any]:
    with store.read() as s:
        rows = s.query(OutboxEntry).filter(OutboxEntry.ticket_id == ticket_id).all()
        return [r.payload.get("command", r.kind) for r in rows]


def _form_rig(store: Store) -> Any:
    add_operator(store)
    return make_rig(
        store,
        [ScriptedCall(PHONE, ring_at=0.5, hangup_after=600)],
        auto_login="wang",
        form=True,
    )


async def _answered_with_form(rig: Any, pilot: Any) -> None:
    await ring(rig, pilot, 0.5)
    await answer(rig, pilot)
    await wait_until(pilot, lambda: desk_of(rig).form is not None)


async def _save_form(rig: Any, pilot: Any) -> int:
    """Classify and save the open ticket form; the saved ticket's id."""
    form = desk_of(rig).form
    await wait_until(pilot, lambda: bool(form.form_data().caller_phone))
    await fill_heating_request(pilot, form, "ctrl+f")
    await pilot.press("ctrl+s")
    call = rig.app.calls.current or rig.app.calls.last_call
    await wait_until(pilot, lambda: call.ticket_id is not None)
    return int(call.ticket_id)


async def test_ticket_saved_then_blind_transfer_to_119_is_noted(sqlite_store: Store) -> None:
    rig = _form_rig(sqlite_store)
    async with rig.app.run_test(size=(160, 60)) as pilot:
        await _answered_with_form(rig, pilot)
        ticket_id = await _save_form(rig, pilot)
        rig.app.calls.writer.flush()
        assert _notes(sqlite_store, ticket_id) == []  # no transfer yet, no note
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, TransferDialog))
        await pilot.press("2")  # 119
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert rig.app.calls.writer.flush()
    assert _notes(sqlite_store, ticket_id) == [("wang", "operator", "转接 119（盲转）")]
    assert "note" not in _outbox_commands(sqlite_store, ticket_id)


async def test_attended_transfer_then_ticket_saved_in_wrapup_is_noted(sqlite_store: Store) -> None:
    rig = _form_rig(sqlite_store)
    async with rig.app.run_test(size=(160, 60)) as pilot:
        await _answered_with_form(rig, pilot)
        await consult_120_and_transfer(rig, pilot)
        ticket_id = await _save_form(rig, pilot)  # the form stays open in wrap-up
        assert rig.app.calls.writer.flush()
    assert _notes(sqlite_store, ticket_id) == [("wang", "operator", "转接 120（咨询转）")]


# --- CallService alone ---------------------------------------------------------------------------


def _ticket(store: Store) -> int:
    with store.session() as s:
        return create_ticket(
            s, draft_from({"nature": "咨询", "description": "供暖时间咨询"}), Actor("wang", "operator"), FIXED
        ).id


@pytest.fixture
def talking(sqlite_store: Store) -> Iterator[Desk]:
    """A CallService logged in and talking to one caller (events applied at once)."""
    desk = Desk(sqlite_store, [ScriptedCall("13800138000", ring_at=1.0)])
    desk.login(sqlite_store)
    desk.advance(1.0)
    desk.service.answer()
    desk.advance(0)
    assert desk.service.status.state == AgentState.TALKING
    yield desk
    desk.line.stop()
    desk.service.end_session()


def test_a_department_transfer_names_the_department_and_is_noted_once(
    talking: Desk, sqlite_store: Store
) -> None:
    desk = talking
    first, second = _ticket(sqlite_store), _ticket(sqlite_store)
    assert desk.service.blind_transfer(" 96123 ", "市供暖公司").kind == "none"
    desk.advance(0)
    call_id = desk.service.last_call.call_id
    desk.service.note_ticket(first, call_id)
    desk.service.note_ticket(first, call_id)  # saved again: no second note
    desk.service.note_ticket(second, "another-call")  # not this call's ticket
    assert desk.service.writer.flush()
    assert _notes(sqlite_store, first) == [("wang", "operator", "转接 市供暖公司 96123（盲转）")]
    assert _notes(sqlite_store, second) == []
    desk.service.note_ticket(second)  # a second ticket of the same (last) call gets it too
    assert desk.service.writer.flush()
    assert [n[2] for n in _notes(sqlite_store, second)] == ["转接 市供暖公司 96123（盲转）"]
    assert desk.problems == []


def test_a_refused_transfer_writes_no_note(talking: Desk, sqlite_store: Store) -> None:
    desk = talking
    ticket_id = _ticket(sqlite_store)
    desk.service.note_ticket(ticket_id)
    call = desk.service.current
    desk.line.calls[call.call_id].state = "ended"  # the line already lost it: the command is refused
    assert desk.service.blind_transfer("119").kind == "error"
    assert call.transfer_pending is None and call.transferred == []
    assert desk.service.writer.flush()
    assert _notes(sqlite_store, ticket_id) == []


def test_a_note_for_a_missing_ticket_is_reported_not_raised(talking: Desk) -> None:
    talking.service.blind_transfer("110")
    talking.advance(0)
    talking.service.note_ticket(999_999)
    assert talking.service.writer.flush()
    assert talking.problems == ["ticket_note"]


def test_note_text() -> None:
    assert TransferRequest("119", "火警 119", "blind").text == "转接 119（盲转）"
    assert TransferRequest("8001", "8001", "attended").text == "转接 8001（咨询转）"
    assert TransferRequest("96123", "市供暖公司", "blind").text == "转接 市供暖公司 96123（盲转）"
    assert TransferRequest("96123", "", "blind").text == "转接 96123（盲转）"
    assert lc.COMMANDS["note"].label == "备注"
