"""Snapshots (Chinese) of the worklists screen: the missed-calls list, the visit form, and the
supervisor's 同步待处理 list of tickets the city backend refused.

The screen runs on a real SQLite store seeded by ``helpers.worklists_harness.seed``, a
fixed clock and a recording dialer, 120x34 cells.
Update after a reviewed change with ``pytest tests/console/snapshots --snapshot-update``.
"""

from __future__ import annotations

from helpers.worklists_harness import (
    SIZE,
    SUPERVISOR,
    RecordingDialer,
    WorklistApp,
    make_service,
    refuse,
    screen_of,
    seed,
    settle,
)

from store.db import Store


def test_snapshot_worklists_missed_zh(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    seed(sqlite_store)
    app = WorklistApp(make_service(sqlite_store, RecordingDialer()))

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        await settle(pilot, lambda: screen_of(app).loads > 0)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_snapshot_worklists_visit_form_zh(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    seed(sqlite_store)
    app = WorklistApp(make_service(sqlite_store, RecordingDialer()))

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = screen_of(app)
        await settle(pilot, lambda: screen.loads > 0)
        await pilot.press("v", "d")
        await settle(pilot, lambda: bool(app.placed))
        await pilot.press("right", "right", "enter", "tab")  # 不满意, then the fault box
        await pilot.press("space")
        await settle(pilot)

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)


def test_snapshot_worklists_sync_attention_zh(snap_compare, sqlite_store: Store) -> None:  # type: ignore[no-untyped-def]
    seeded = seed(sqlite_store)
    refuse(sqlite_store, seeded.tickets["heat"])
    refuse(sqlite_store, seeded.tickets["road"])
    app = WorklistApp(make_service(sqlite_store, RecordingDialer(), SUPERVISOR))

    async def run_before(pilot) -> None:  # type: ignore[no-untyped-def]
        screen = screen_of(app)
        await settle(pilot, lambda: screen.loads > 0)
        await pilot.press("s")
        await settle(pilot, lambda: screen.active_list == "sync")

    assert snap_compare(app, run_before=run_before, terminal_size=SIZE)
