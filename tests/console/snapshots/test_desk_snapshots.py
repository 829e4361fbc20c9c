"""Snapshots of the operator console: login, a call ringing with its history, wrap-up, the transfer
and consultation dialogs (Chinese); a call in English with the ticket form; an 80x24 terminal.

Deterministic: a fixed clock, a fixed store history, the SimLine on a manual clock, 140x40 cells
unless a test says otherwise.
Update after a reviewed change with ``pytest tests/console/snapshots --snapshot-update``.
"""

from __future__ import annotations

from helpers.desk_harness import (
    CALLER,
    Rig,
    add_operator,
    answer,
    make_config,
    make_rig,
    ring,
    seed_history,
    wait_until,
)
from textual.widgets import Input, TextArea

from console.screens.dialogs import ConsultDialog, TransferDialog
from console.widgets.ringing import RingingPop
from store.db import Store
from store.vocabulary import AgentState
from telephony.sim import ScriptedCall

SIZE = (140, 40)


async def _ring_with_history(rig: Rig, pilot) -> None:  # type: ignore[no-untyped-def]
    await ring(rig, pilot, 1.0)
    await wait_until(pilot, lambda: rig.app.screen.query_one(RingingPop).history is not None)


async def _steady(rig: Rig, pilot) -> None:  # type: ignore[no-untyped-def]
    """No toasts (they time out on the wall clock: whether one is still up is a race) and a steady
    text cursor (a blinking one is on or off at the screenshot)."""
    rig.app.clear_notifications()
    focused = rig.app.focused
    if isinstance(focused, Input | TextArea):
        focused.cursor_blink = False
    await pilot.pause()


def test_login_screen(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [])
    assert snap_compare(rig.app, terminal_size=SIZE)


def test_ringing_with_history(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    add_operator(sqlite_store)
    seed_history(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall(CALLER, "李先生", ring_at=1.0)], auto_login="wang")

    async def ringing(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ring_with_history(rig, pilot)
        await pilot.pause()

    assert snap_compare(rig.app, run_before=ringing, terminal_size=SIZE)


def test_wrapup(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    add_operator(sqlite_store)
    seed_history(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall(CALLER, "李先生", ring_at=1.0)], auto_login="wang")

    async def talk_and_hang_up(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ring_with_history(rig, pilot)
        await answer(rig, pilot)
        rig.clock.advance(95)
        await pilot.press("f8")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        rig.clock.advance(12)
        rig.app.screen.tick()
        await pilot.pause()

    assert snap_compare(rig.app, run_before=talk_and_hang_up, terminal_size=SIZE)


def test_transfer_dialog(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall(CALLER, "李先生", ring_at=1.0)], auto_login="wang")

    async def transfer(pilot) -> None:  # type: ignore[no-untyped-def]
        await ring(rig, pilot, 1.0)
        await answer(rig, pilot)
        rig.clock.advance(40)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, TransferDialog))
        await _steady(rig, pilot)

    assert snap_compare(rig.app, run_before=transfer, terminal_size=SIZE)


def test_consultation_dialog(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall(CALLER, "李先生", ring_at=1.0)], auto_login="wang")

    async def consult(pilot) -> None:  # type: ignore[no-untyped-def]
        await ring(rig, pilot, 1.0)
        await answer(rig, pilot)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, TransferDialog))
        await pilot.press("down", "down", "ctrl+o")  # 120, consult first
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.HELD)
        rig.advance(0.6)  # the consulted party answers
        await wait_until(pilot, lambda: (c := rig.app.calls.current.consult) is not None and c.up)
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, ConsultDialog))
        await _steady(rig, pilot)

    assert snap_compare(rig.app, run_before=consult, terminal_size=SIZE)


def test_call_with_the_ticket_form_in_english(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    add_operator(sqlite_store)
    seed_history(sqlite_store)
    rig = make_rig(
        sqlite_store,
        [ScriptedCall(CALLER, "李先生", ring_at=1.0)],
        config=make_config(language="en"),
        auto_login="wang",
        form=True,
    )

    async def talking(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ring_with_history(rig, pilot)
        await answer(rig, pilot)
        rig.clock.advance(65)
        rig.app.screen.tick()
        await _steady(rig, pilot)

    assert snap_compare(rig.app, run_before=talking, terminal_size=SIZE)


def test_ringing_on_an_80x24_terminal(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    add_operator(sqlite_store)
    seed_history(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall(CALLER, "李先生", ring_at=1.0)], auto_login="wang", form=True)

    async def ringing(pilot) -> None:  # type: ignore[no-untyped-def]
        await _ring_with_history(rig, pilot)
        await _steady(rig, pilot)

    assert snap_compare(rig.app, run_before=ringing, terminal_size=(80, 24))
