"""Snapshots (Chinese) of the operator console: login, a call ringing with its history, wrap-up.

Deterministic: a fixed clock, a fixed store history, the SimLine on a manual clock, 140x40 cells.
Update after a reviewed change with ``pytest tests/console/snapshots --snapshot-update``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from desk_harness import CALLER, Rig, add_operator, answer, make_rig, ring, seed_history, wait_until

from console.widgets.ringing import RingingPop
from store.db import Store
from telephony.sim import ScriptedCall

SIZE = (140, 40)


async def _ring_with_history(rig: Rig, pilot) -> None:  # type: ignore[no-untyped-def]
    await ring(rig, pilot, 1.0)
    await wait_until(pilot, lambda: rig.app.screen.query_one(RingingPop).history is not None)


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
        await wait_until(pilot, lambda: rig.app.desk.status.state == "话后整理")
        rig.clock.advance(12)
        rig.app.screen.tick()
        await pilot.pause()

    assert snap_compare(rig.app, run_before=talk_and_hang_up, terminal_size=SIZE)
