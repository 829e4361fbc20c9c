"""Snapshots of the ticket form in Chinese: half filled, and the duplicate panel a save brings up
(fixed data, fixed size, no blinking cursor).

Update after a deliberate change with ``pytest tests/console/snapshots --snapshot-update``
and review ``snapshot_report.html``.
"""

from __future__ import annotations

from typing import Any

from helpers.ticket_fixtures import PHONE, heating_form, make_desk, operator
from helpers.ticket_host import FormHost, fill_heating_request, set_fields, wait_for
from textual.widgets import Checkbox

from console.services.ticket_service import CallContext
from store.db import Store


def test_form_half_filled_in_chinese(snap_compare: Any, sqlite_store: Store) -> None:
    app = FormHost(make_desk(sqlite_store, operator(sqlite_store)), CallContext("call-snap", PHONE))

    async def half_fill(pilot: Any) -> None:
        form = app.form
        form.focus_search()
        await pilot.press(*"nqbr")
        await pilot.pause()
        await pilot.press("1")
        set_fields(
            form,
            nature="投诉",
            address="铁东区胜利街道园林小区3栋2单元501",
            description="家里暖气不热，屋里只有十五度，老人孩子受不了。",
        )
        await pilot.pause()
        form.query_one("#consent", Checkbox).focus()  # no text cursor: nothing blinks in the picture
        await pilot.pause()

    assert snap_compare(app, run_before=half_fill, terminal_size=(120, 40))


def test_duplicate_panel_in_chinese(snap_compare: Any, sqlite_store: Store) -> None:
    desk = make_desk(sqlite_store, operator(sqlite_store))
    desk.save(heating_form(address="铁东区胜利街道园林小区3栋501"))  # the earlier ticket of this caller
    app = FormHost(desk, CallContext(None, PHONE))

    async def fill_and_save(pilot: Any) -> None:
        form = app.form
        form.focus_search()
        await fill_heating_request(pilot, form)
        await pilot.press("ctrl+s")
        await wait_for(pilot.pause, lambda: not form.query_one("#dup-panel").has_class("hidden"))
        await pilot.pause()

    assert snap_compare(app, run_before=fill_and_save, terminal_size=(120, 60))
