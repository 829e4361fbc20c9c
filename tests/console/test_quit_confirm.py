"""Quitting asks first when it would drop something: how many confirmations each situation takes,
what the question says, and that it follows the call while it is open (on the real app, SimLine)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers.desk_harness import FIXED, Rig, add_operator, answer, make_rig, plain, ring, wait_until

from console.i18n import Translator
from console.screens.quit_confirm import QuitConfirm, QuitRisk, dropped_lines, quit_risk
from console.services.call_service import CallState, LiveCall
from console.services.transfer_notes import TransferRequest
from store.db import Store
from store.vocabulary import AgentState
from telephony.sim import ScriptedCall

ZH = Translator.load("zh_CN")
EN = Translator.load("en")


def call(state: CallState, **kw: object) -> LiveCall:
    return LiveCall("c1", "13800138000", "", FIXED, state=state, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("live", "agent", "unsaved", "steps"),
    [
        (None, AgentState.READY, False, 0),  # idle: quit at once
        (None, AgentState.READY, True, 1),  # an unsaved ticket
        (call("ringing"), AgentState.RINGING, False, 1),
        (call("dialing"), AgentState.PAUSED, False, 1),
        (call("talking"), AgentState.TALKING, False, 2),  # the citizen would hear the line drop
        (call("talking"), AgentState.TALKING, True, 2),
        (call("held"), AgentState.HELD, False, 2),  # on hold, not transferred: the citizen waits
        (call("held", transfers=["119"]), AgentState.HELD, False, 1),  # on hold and handed on
        (call("ended"), AgentState.WRAP_UP, False, 1),  # the disposition is not recorded yet
        (call("ended"), AgentState.READY, False, 0),
    ],
)
def test_how_many_confirmations_quitting_takes(
    live: LiveCall | None, agent: AgentState, unsaved: bool, steps: int
) -> None:
    assert quit_risk(live, agent, unsaved).steps == steps


def test_a_transfer_only_asked_for_is_not_a_hand_off() -> None:
    pending = call("held", transfer_pending=TransferRequest("119", "119 消防", "blind"))
    assert quit_risk(pending, AgentState.HELD, False).steps == 2


def test_the_question_names_the_call_its_state_and_the_form_in_each_language() -> None:
    talking = quit_risk(call("talking"), AgentState.TALKING, True)
    assert dropped_lines(talking, ZH) == [
        "通话中的电话 138****8000：将被挂断，来电人会听到断线",
        "未保存的工单：不会提交",
    ]
    handed_on = quit_risk(
        call("held", transferred=[TransferRequest("119", "119 消防", "attended")]), AgentState.HELD, False
    )
    assert "已转接" in dropped_lines(handed_on, ZH)[0] and "138****8000" in dropped_lines(handed_on, ZH)[0]
    ringing = dropped_lines(quit_risk(call("ringing"), AgentState.RINGING, False), EN)
    assert (
        len(ringing) == 1
        and "138****8000" in ringing[0]
        and not any("\u4e00" <= c <= "\u9fff" for c in ringing[0])
    )
    assert dropped_lines(QuitRisk(), ZH) == []


async def asked(rig: Rig, pilot: Any) -> None:
    """Until the quit question is up, drawn and has the keyboard."""
    await wait_until(pilot, lambda: isinstance(rig.app.screen, QuitConfirm) and body(rig) != "")
    await wait_until(pilot, lambda: getattr(rig.app.focused, "id", None) == "quit-options")


def body(rig: Rig) -> str:
    """The question's text ("" until the dialog is drawn)."""
    screen = rig.app.screen
    assert isinstance(screen, QuitConfirm), screen
    found = screen.query("#quit-body")
    return plain(found.first()) if found else ""


async def test_held_call_takes_two_confirmations(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store, [ScriptedCall("13800138000", ring_at=0.5, hangup_after=600)], auto_login="wang"
    )
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await pilot.press("f6")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.HELD)
        await pilot.press("ctrl+q")
        await asked(rig, pilot)
        assert "保持中的电话 138****8000" in body(rig)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: "再次确认" in plain(rig.app.screen.query_one("#quit-title")))
        assert rig.app.return_code is None
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: rig.app.return_code == 0)
        assert rig.app.stopped


async def test_quitting_in_wrap_up_asks_once(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store, [ScriptedCall("13800138000", ring_at=0.5, hangup_after=2)], auto_login="wang"
    )
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        rig.advance(2.5)  # the caller hangs up
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        await pilot.press("ctrl+q")
        await asked(rig, pilot)
        assert "话后整理" in body(rig) and "138****8000" in body(rig)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: rig.app.return_code == 0)


async def test_a_call_that_rings_while_asking_is_shown_before_quitting(sqlite_store: Store) -> None:
    """Asked about an unsaved ticket, the operator is shown the call that rang meanwhile."""
    from helpers.ticket_host import fill_heating_request

    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall("13800138000", ring_at=5)], auto_login="wang", form=True)
    async with rig.app.run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await pilot.press("ctrl+n")
        desk = rig.app.desk_screen()
        assert desk is not None
        await wait_until(
            pilot, lambda: desk.form is not None and rig.app.focused is desk.form.picker.search_box
        )
        await fill_heating_request(pilot, desk.form)
        await wait_until(pilot, desk.unsaved_ticket)
        await pilot.press("ctrl+q")
        await asked(rig, pilot)
        assert "未保存的工单" in body(rig) and "振铃" not in body(rig)
        rig.advance(5)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.RINGING)
        await wait_until(pilot, lambda: "振铃中的来电 138****8000" in body(rig))  # the line event redrew it
        assert "未保存的工单" in body(rig)
        await pilot.press("enter")  # "stay" is highlighted again
        await wait_until(pilot, lambda: not isinstance(rig.app.screen, QuitConfirm))
        assert rig.app.return_code is None and rig.app.calls.status.state == AgentState.RINGING


async def test_confirming_what_is_no_longer_at_stake_asks_again(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        risk = [QuitRisk(unsaved_ticket=True)]
        answers: list[bool | None] = []
        rig.app.push_screen(QuitConfirm(ZH, lambda: risk[0]), answers.append)
        await asked(rig, pilot)
        risk[0] = QuitRisk("c9", "ringing", "139****0000", unsaved_ticket=True)  # not redrawn yet
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: "139****0000" in body(rig))
        assert answers == [] and rig.app.screen.confirmed == 0  # type: ignore[attr-defined]
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: answers == [True])
        assert rig.app.return_code is None  # this dialog's caller decides; the app's quits


async def test_nothing_left_at_stake_quits_on_the_first_confirmation(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        risk = [QuitRisk("c9", "talking", "139****0000")]
        answers: list[bool | None] = []
        rig.app.push_screen(QuitConfirm(ZH, lambda: risk[0]), answers.append)
        await asked(rig, pilot)
        await wait_until(pilot, lambda: "139****0000" in body(rig))
        risk[0] = QuitRisk()  # the caller hung up and the wrap-up was recorded meanwhile
        rig.app.screen.refresh_risk()  # type: ignore[attr-defined]
        assert "不会丢弃任何内容" in body(rig)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: answers == [True])
