"""The operator's calls on the real app (Pilot) over a SimLine on a manual clock.

ring → history pop → answer → hold → resume → mute → DTMF → hang up → wrap-up → ready; blind and
attended transfers; a caller who hangs up while it rings; a call waiting while busy; the line
dropping mid-call; a pause asked for during the call; the store locked for a second.
"""

from __future__ import annotations

import sqlite3
import threading

from helpers.desk_harness import (
    CALLER,
    add_operator,
    answer,
    desk_of,
    make_rig,
    plain,
    ring,
    seed_history,
    wait_until,
)
from sqlalchemy import select

from console.screens.dialogs import ConsultDialog, DtmfDialog, PauseReasonDialog, TransferDialog
from console.widgets.ringing import RingingPop
from store import calls, worklists
from store.db import Store
from store.models import AgentStateChange, Call
from store.vocabulary import AgentState
from telephony.events import CallEnded, RegistrationFailed
from telephony.sim import ScriptedCall


def _events(store: Store, call_id: str) -> list[str]:
    with store.read() as s:
        return [e.kind for e in calls.call_events(s, call_id)]


def _call(store: Store, call_id: str) -> Call:
    with store.read() as s:
        call = s.get(Call, call_id)
        assert call is not None
        s.expunge(call)
        return call


def _flush(rig) -> None:  # type: ignore[no-untyped-def]
    rig.app.call_log.flush()
    rig.app.calls.writer.flush()


def _pop_text(rig) -> str:  # type: ignore[no-untyped-def]
    pop = desk_of(rig).query_one(RingingPop)
    return plain(pop.query_one("#ring-head")) + plain(pop.query_one("#ring-body"))


async def test_ring_history_answer_hold_mute_dtmf_hangup_wrapup_ready(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    number = seed_history(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall(CALLER, "李先生", ring_at=1.0)], auto_login="wang")
    bells: list[int] = []
    rig.app.bell = lambda: bells.append(1)  # type: ignore[method-assign]
    async with rig.app.run_test(size=(140, 40)) as pilot:
        call_id = await ring(rig, pilot, 1.0)
        assert bells == [1]
        pop = desk_of(rig).query_one(RingingPop)
        assert pop.has_class("ringing")
        await wait_until(pilot, lambda: pop.history is not None)
        text = _pop_text(rig)
        assert CALLER in text and "辽宁省鞍山市" in text and "重复来电" in text and number in text

        await answer(rig, pilot)
        rig.clock.advance(65)
        desk_of(rig).tick()
        assert "01:05" in plain(desk_of(rig).query_one("#call-panel"))

        await pilot.press("f6")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.HELD)
        await pilot.press("f6")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.TALKING)

        await pilot.press("f4")
        assert rig.app.calls.current.muted and rig.line.calls[call_id].muted
        await pilot.press("f12")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, DtmfDialog))
        await pilot.press("1", "2", "#", "enter", "escape")
        assert rig.line.calls[call_id].sent_dtmf == ["1", "2", "#"]

        await pilot.press("f8")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert desk_of(rig).query_one("#wrapup").has_class("active")
        await pilot.press("2")  # 咨询已答复: its digit confirms it
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        _flush(rig)
    kinds = _events(sqlite_store, call_id)
    for kind in ("offered", "answered", "held", "resumed", "muted", "dtmf_sent", "ended"):
        assert kind in kinds, kinds
    stored = _call(sqlite_store, call_id)
    assert stored.end_reason == "local_hangup" and stored.disposition == "咨询已答复"
    with sqlite_store.read() as s:
        states = [r.state for r in s.scalars(select(AgentStateChange).order_by(AgentStateChange.id))]
    assert states == [
        AgentState.READY,
        AgentState.RINGING,
        AgentState.TALKING,
        AgentState.HELD,
        AgentState.TALKING,
        AgentState.WRAP_UP,
        AgentState.READY,
        AgentState.OFFLINE,
    ]


async def test_blind_transfer_to_119_then_wrapup_timer_and_pause_asked_during_call(
    sqlite_store: Store,
) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall("13800138000", ring_at=0.5)], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        call_id = await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await pilot.press("f9")  # ready -> not ready: asks for a reason, applied after the call
        await wait_until(pilot, lambda: isinstance(rig.app.screen, PauseReasonDialog))
        await pilot.press("down", "enter")  # 用餐
        assert rig.app.calls.pending_pause == "用餐"
        await pilot.press("f7")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, TransferDialog))
        await pilot.press("2")  # 119
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert rig.app.calls.last_call.transfers == ["119"]
        rig.clock.advance(31)  # [ui] wrapup_seconds = 30
        desk_of(rig).tick()
        assert (rig.app.calls.status.state, rig.app.calls.status.reason) == (AgentState.PAUSED, "用餐")
        _flush(rig)
    kinds = _events(sqlite_store, call_id)
    assert "transfer_requested" in kinds and "transferred" in kinds
    assert _call(sqlite_store, call_id).end_reason == "transferred"


async def consult_120_and_transfer(rig, pilot) -> None:  # type: ignore[no-untyped-def]
    """F7 → 120 consulted first (ctrl+o) → it answers → F7 → complete; the desk is in wrap-up."""
    await pilot.press("f7")
    await wait_until(pilot, lambda: isinstance(rig.app.screen, TransferDialog))
    await pilot.press("down", "down", "ctrl+o")  # 120, consult first
    rig.advance(0)
    await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.HELD)
    rig.advance(0.6)  # the consulted party answers
    await wait_until(pilot, lambda: (consult := rig.app.calls.current.consult) is not None and consult.up)
    await pilot.press("f7")
    await wait_until(pilot, lambda: isinstance(rig.app.screen, ConsultDialog))
    await pilot.press("enter")  # complete
    rig.advance(0)
    await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)


async def test_attended_transfer_consults_then_completes(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall("13800138001", ring_at=0.5)], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        call_id = await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await consult_120_and_transfer(rig, pilot)
        _flush(rig)
    assert _call(sqlite_store, call_id).end_reason == "transferred"
    kinds = _events(sqlite_store, call_id)
    assert "consultation" in kinds and "transferred" in kinds


async def test_caller_hangs_up_while_ringing_and_a_waiting_call_rings_next(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    script = [
        ScriptedCall("13800138002", ring_at=1.0, hangup_after=3.0),
        ScriptedCall("13800138003", ring_at=2.0, hangup_after=30.0),
    ]
    rig = make_rig(sqlite_store, script, auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        rig.advance(2.0)
        await wait_until(pilot, lambda: len(rig.app.calls.waiting) == 1)
        first = rig.app.calls.current.call_id
        assert "排队：1" in plain(desk_of(rig).query_one("#status"))
        rig.advance(2.5)  # the first caller gives up; the waiting one rings
        await wait_until(
            pilot, lambda: rig.app.calls.current is not None and rig.app.calls.current.call_id != first
        )
        assert rig.app.calls.status.state == AgentState.RINGING and not rig.app.calls.waiting
        _flush(rig)
    assert _call(sqlite_store, first).end_reason == "cancelled"
    with sqlite_store.read() as s:
        missed = worklists.missed_calls(s, rig.clock.at.replace(year=2025))
    assert first in {cid for m in missed for cid in m.call_ids}


async def test_line_drop_mid_call_goes_to_wrapup_and_says_so(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall("13800138004", ring_at=0.5)], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        call_id = await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        # what a SipLine delivers when its registrar and the call go away
        rig.app._from_line(RegistrationFailed(t=1.0, why="timeout"))
        rig.app._from_line(CallEnded(t=1.0, call_id=call_id, reason="failed", detail="RTP timeout"))
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert rig.app.calls.line_state == "down"
        assert "断开" in plain(desk_of(rig).query_one("#status"))
        shown = [n.message for n in rig.app._notifications]
        assert any("线路断开" in m for m in shown) and any("通话异常中断" in m for m in shown)
        await pilot.press("f8")  # nothing to hang up: said, not crashed
        assert rig.app.is_running
        _flush(rig)
    assert _call(sqlite_store, call_id).end_reason == "failed"


async def test_store_locked_for_a_second_keeps_the_desk_running(sqlite_store: Store, sqlite_url: str) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall("13800138005", ring_at=0.5)], auto_login="wang")
    path = sqlite_url.removeprefix("sqlite:///")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        _flush(rig)
        locker = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        locker.execute("BEGIN IMMEDIATE")  # another seat holding the write lock
        release = threading.Timer(1.0, lambda: (locker.execute("COMMIT"), locker.close()))
        release.start()
        try:
            rig.advance(0.5)
            await wait_until(
                pilot, lambda: rig.app.calls.status.state == AgentState.RINGING
            )  # shown while locked
            await answer(rig, pilot)
        finally:
            release.join(5)
        call_id = rig.app.calls.current.call_id
        _flush(rig)
    assert _call(sqlite_store, call_id).answered_at is not None
