"""The 五要素 gate on the ticket form (Pilot, real SQLite store): after a pick the nature has the
leaf's default and the caller's sentence becomes the description; a refused save names exactly what
is missing and puts the cursor on the first missing field; the message follows the fields as they
are filled; Alt+3 sets 投诉 from anywhere in the form."""

from __future__ import annotations

from helpers.ticket_fixtures import HEATING, PHONE, make_desk, operator
from helpers.ticket_host import FormHost, set_fields, wait_for
from textual.widgets import Select, TextArea

from console.services.ticket_service import CallContext
from store.db import Store

SIZE = (120, 60)


async def test_gate_names_what_is_missing_moves_focus_and_follows_the_fields(sqlite_store: Store) -> None:
    app = FormHost(make_desk(sqlite_store, operator(sqlite_store)), CallContext("call-1", PHONE))
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        form.focus_search()
        form.picker.search_box.value = "家里暖气不热，屋里只有十五度"
        await wait_for(pilot.pause, lambda: bool(form.picker.results_view.results))
        await pilot.press("enter")
        await pilot.pause()
        assert form.leaf_code == HEATING
        assert form.query_one("#nature", Select).value == "求助"
        assert form.query_one("#description", TextArea).text == "家里暖气不热，屋里只有十五度"
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert form.status_text == "五要素不全，不能派单：缺地点（属地和地址）、发生时间", form.status_text
        assert app.focused is not None and app.focused.id == "district"
        set_fields(form, address="铁东区胜利街道园林小区3栋501")
        await pilot.pause()
        await pilot.pause()
        assert form.status_text == "五要素不全，不能派单：缺发生时间", form.status_text
        set_fields(form, when="昨晚起")
        await pilot.pause()
        assert form.status_text == "五要素已齐全：Ctrl+S 保存", form.status_text
        # Alt+3 from the address input, as a terminal sends it
        form.query_one("#address").focus()
        await pilot.pause()
        await pilot.press("alt+3")
        await pilot.pause()
        assert form.query_one("#nature", Select).value == "投诉"
        assert form.form_data().address == "铁东区胜利街道园林小区3栋501"
        await pilot.press("ctrl+s")
        await wait_for(pilot.pause, lambda: bool(app.saved))
