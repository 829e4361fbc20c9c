"""Snapshots of the desk during a call with the ticket form, at 80x24, 100x30, 132x40 and 180x50, in
Chinese and in English (issue 12: the layout from 80x24 to 200x60).

Deterministic as in ``test_desk_snapshots``: a fixed clock, a fixed store history, the SimLine on a
manual clock, no toasts, no blinking cursor.
Update after a reviewed change with ``pytest tests/console/snapshots --snapshot-update``.
"""

from __future__ import annotations

from typing import Any

import pytest
from helpers.desk_harness import (
    CALLER,
    add_operator,
    answer,
    make_config,
    make_rig,
    ring,
    seed_history,
    wait_until,
)
from textual.widgets import Input, TextArea

from console.widgets.ringing import RingingPop
from console.widgets.ticket_form import TicketForm
from store.db import Store
from telephony.sim import ScriptedCall

SIZES = [(80, 24), (100, 30), (132, 40), (180, 50)]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_a_call_with_the_form(
    snap_compare: Any, sqlite_store: Store, size: tuple[int, int], language: str
) -> None:
    add_operator(sqlite_store)
    seed_history(sqlite_store)
    rig = make_rig(
        sqlite_store,
        [ScriptedCall(CALLER, ring_at=1.0)],
        config=make_config(language=language),
        auto_login="wang",
        form=True,
    )

    async def talking(pilot: Any) -> None:
        await ring(rig, pilot, 1.0)
        await wait_until(pilot, lambda: rig.app.screen.query_one(RingingPop).history is not None)
        await answer(rig, pilot)
        await wait_until(pilot, lambda: rig.app.screen.query(TicketForm))
        rig.clock.advance(65)
        rig.app.screen.tick()
        await pilot.pause()
        rig.app.clear_notifications()
        focused = rig.app.focused
        if isinstance(focused, Input | TextArea):
            focused.cursor_blink = False
        await pilot.pause()

    assert snap_compare(rig.app, run_before=talking, terminal_size=size)
