"""Issue 12 defect 4 on the ticket form at 80×24 (Pilot, real SQLite store): duplicates are offered
only when they are duplicates, "new ticket" is the default, and the caller is told the right number.

The walkthrough's steps: caller 13100000014 reports 路灯不亮 at 铁西区兴盛街道兴盛路88号; his earlier
ticket (被冒名办理电话卡 at 立山区民生路192号, 已回访) was offered first as a merge target, Enter merged
the street-light complaint into it and it was never dispatched.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from helpers.ticket_fixtures import T0, make_desk, operator
from helpers.ticket_host import FormHost, set_fields, wait_for
from sqlalchemy import func, select
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widgets import Digits

from console.services.ticket_service import CallContext
from console.widgets.duplicate_panel import DuplicatePanel
from console.widgets.ticket_form_parts import readback_digits
from store.db import Store
from store.lifecycle import NOTE_FIELD
from store.models import Ticket, TicketEvent
from store.tickets import Actor, apply_command, create_ticket, draft_from, find_ticket

SIZE = (80, 24)
CALLER = "13100000014"
STREET_LIGHT = "116001"  # 路灯与照明 › 路灯不亮
PHONE_CARD = "316027"  # 电信服务 › 被冒名办理电话卡
DEPT = Actor("cgj", "department")
LIGHT = {
    "nature": "投诉",
    "description": "路灯不亮",
    "district": "铁西区",
    "leaf_code": STREET_LIGHT,
    "address": "兴盛街道兴盛路88号",
    "caller_name": "张女士",
    "caller_phone": "13900001111",
}


def earlier(store: Store, actor: Actor, then: str, **fields: Any) -> str:
    """A ticket filed an hour before T0, walked to ``then``."""
    at = T0 - dt.timedelta(hours=1)
    steps: dict[str, list[tuple[str, Actor, dict[str, Any]]]] = {
        "已派单": [("dispatch", actor, {"department": "市城管局"})],
    }
    steps["已办结"] = [
        *steps["已派单"],
        ("accept", DEPT, {}),
        ("reply", DEPT, {"answer": "已处理"}),
        ("close", actor, {}),
    ]
    steps["已回访"] = [*steps["已办结"], ("evaluate", actor, {"satisfaction": "满意"})]
    with store.session() as s:
        ticket = create_ticket(s, draft_from({**LIGHT, **fields}), actor, at, client_request_id=f"e-{then}")
        for i, (command, who, args) in enumerate(steps[then], start=1):
            apply_command(s, ticket, command, who, at + dt.timedelta(minutes=i), **args)
        assert ticket.status == then
        return ticket.number


async def street_light_request(pilot: Pilot[Any], app: FormHost) -> None:
    """The walkthrough's request: 路灯不亮 picked from the search, the other elements filled in."""
    form = app.form
    form.focus_search()
    await pilot.press(*"路灯不亮")
    await wait_for(pilot.pause, lambda: bool(form.picker.results_view.results))
    codes = [r.code for r in form.picker.results_view.results]
    await pilot.press(str(codes.index(STREET_LIGHT) + 1))
    await pilot.pause()
    assert form.leaf_code == STREET_LIGHT
    set_fields(
        form,
        nature="投诉",
        district="铁西区",
        address="铁西区兴盛街道兴盛路88号",
        when="昨晚起",
        caller_name="张先生",
        description="兴盛路88号门前路灯不亮",
    )
    await pilot.pause()


async def offered(pilot: Pilot[Any], app: FormHost) -> DuplicatePanel:
    await pilot.press("ctrl+s")
    panel = app.form.query_one(DuplicatePanel)
    await wait_for(pilot.pause, lambda: panel.is_open)
    await pilot.pause()
    screen = Region(0, 0, *SIZE)
    assert screen.contains_region(panel.options.region) and panel.options.region.area > 0
    options = panel.options
    assert options.highlighted == 0 and options.get_option_at_index(0).id == "new"
    return panel


def choices(panel: DuplicatePanel) -> list[str]:
    options = panel.options
    return [o.id for o in (options.get_option_at_index(i) for i in range(options.option_count)) if o.id]


def notes(store: Store, number: str) -> list[str]:
    with store.read() as s:
        ticket = find_ticket(s, number)
        assert ticket is not None
        events = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.field == NOTE_FIELD)
        )
        return [e.reason or "" for e in events]


async def test_the_walkthrough_same_caller_is_no_merge_and_enter_files_a_new_ticket(
    sqlite_store: Store,
) -> None:
    actor = operator(sqlite_store)
    old = earlier(
        sqlite_store,
        actor,
        "已回访",
        leaf_code=PHONE_CARD,
        district="立山区",
        address="民生路192号",
        caller_phone=CALLER,
        caller_name="杨先生",
    )
    app = FormHost(make_desk(sqlite_store, actor), CallContext(None, CALLER))
    async with app.run_test(size=SIZE) as pilot:
        await street_light_request(pilot, app)
        panel = await offered(pilot, app)
        assert choices(panel) == ["new", f"follow:{old}", "cancel"]  # a follow-up, never a merge
        await pilot.press("enter")
        await wait_for(pilot.pause, lambda: bool(app.saved))
        number = app.saved[0].number
        assert app.form.query_one("#saved-digits", Digits).value == readback_digits(number)
    with sqlite_store.read() as s:
        ticket, before = find_ticket(s, number), find_ticket(s, old)
        assert ticket is not None and before is not None
        assert (ticket.status, ticket.leaf_code, ticket.parent_id) == ("已派单", STREET_LIGHT, None)
        assert ticket.department  # dispatched: the street light will be repaired
        assert before.status == "已回访"
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2


async def test_a_merge_tells_the_caller_the_parents_number(sqlite_store: Store) -> None:
    actor = operator(sqlite_store)
    parent = earlier(sqlite_store, actor, "已派单")  # another caller, the same matter and place
    app = FormHost(make_desk(sqlite_store, actor), CallContext(None, CALLER))
    async with app.run_test(size=SIZE) as pilot:
        await street_light_request(pilot, app)
        panel = await offered(pilot, app)
        assert choices(panel) == ["new", f"merge:{parent}", "cancel"]
        await pilot.press("down", "enter")
        await wait_for(pilot.pause, lambda: bool(app.saved))
        child = app.saved[0].number
        assert app.form.query_one("#saved-digits", Digits).value == readback_digits(parent)
        shown = str(app.form.query_one("#saved-number").content)
        assert f"请向来电人报工单号 {parent}" in shown and child in shown
    with sqlite_store.read() as s:
        row = find_ticket(s, child)
        assert row is not None and row.status == "已并单"


async def test_a_closed_duplicate_offers_reopen_or_a_linked_new_ticket(sqlite_store: Store) -> None:
    actor = operator(sqlite_store)
    old = earlier(sqlite_store, actor, "已办结")
    app = FormHost(make_desk(sqlite_store, actor), CallContext(None, CALLER))
    async with app.run_test(size=SIZE) as pilot:
        await street_light_request(pilot, app)
        panel = await offered(pilot, app)
        assert choices(panel) == ["new", f"reopen:{old}", f"link_new:{old}", "cancel"]
        await pilot.press("down", "down", "enter")  # 新建工单并关联
        await wait_for(pilot.pause, lambda: bool(app.saved))
        new = app.saved[0].number
        assert app.form.query_one("#saved-digits", Digits).value == readback_digits(new)
        assert old in str(app.form.query_one("#saved-number").content)
    with sqlite_store.read() as s:
        row = find_ticket(s, new)
        assert row is not None and row.status == "已派单"
    assert notes(sqlite_store, new) == [f"关联原工单 {old}（已办结）"]
    assert notes(sqlite_store, old) == [f"再次来电反映，新工单 {new}"]


async def test_an_operators_reopen_is_a_request_on_the_old_ticket(sqlite_store: Store) -> None:
    actor = operator(sqlite_store)
    old = earlier(sqlite_store, actor, "已回访")
    app = FormHost(make_desk(sqlite_store, actor), CallContext(None, CALLER))
    async with app.run_test(size=SIZE) as pilot:
        await street_light_request(pilot, app)
        await offered(pilot, app)
        await pilot.press("down", "enter")  # 申请重办
        await wait_for(pilot.pause, lambda: bool(app.saved))
        assert app.saved[0].number == old
        assert app.form.query_one("#saved-digits", Digits).value == readback_digits(old)
    with sqlite_store.read() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1  # no new ticket
    [note] = notes(sqlite_store, old)
    assert note.startswith("重办申请：兴盛路88号门前路灯不亮")
