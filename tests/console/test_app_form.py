"""The desk with the real ticket form (C2's TicketForm): answer → classify → save → the call is linked;
an emergency leaf opens the transfer dialog on its hand-off number."""

from __future__ import annotations

from desk_harness import add_operator, answer, desk_of, make_rig, ring, wait_until
from ticket_host import set_fields

from console import wiring
from console.screens.dialogs import TransferDialog
from store import calls
from store.db import Store
from store.tickets import find_ticket
from telephony.sim import ScriptedCall

PHONE = "13904121037"


async def test_answer_classify_save_links_the_ticket_to_the_call(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store,
        [ScriptedCall(PHONE, ring_at=0.5, hangup_after=600)],
        auto_login="wang",
        form_factory=wiring.ticket_form,
    )
    saved: list[str] = []
    async with rig.app.run_test(size=(160, 60)) as pilot:
        call_id = await ring(rig, pilot, 0.5)
        await pilot.press("f5")
        rig.advance(0)
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        form = desk_of(rig).form
        await wait_until(pilot, lambda: form.form_data().caller_phone.endswith(PHONE[-8:]))  # from the call
        # answering puts the cursor in the taxonomy search: the operator types at once
        await wait_until(pilot, lambda: rig.app.focused is form.picker.search_box)
        await pilot.press(*"nqbr", "1")
        set_fields(
            form,
            nature="投诉",
            address="铁东区胜利街道园林小区3栋501",
            when="昨晚起",
            caller_name="王先生",
            description="家里暖气不热，屋里只有十五度",
        )
        await pilot.pause()
        rig.app.call_log.flush()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: desk_of(rig).desk.current.ticket_id is not None)
        saved = [n.message for n in rig.app._notifications if "工单已保存" in n.message]
        await pilot.press("f8")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.desk.status.state == "话后整理")
        await pilot.press("enter")  # 已建工单
        await wait_until(pilot, lambda: rig.app.desk.status.state == "就绪")
        rig.app.desk.writer.flush()
    assert saved
    number = saved[0].rsplit("：", 1)[-1]
    with sqlite_store.read() as s:
        ticket = find_ticket(s, number)
        row = calls.get_call(s, call_id)
        assert ticket is not None and row is not None
        assert row.ticket_id == ticket.id and row.disposition == "已建工单"


async def test_emergency_leaf_offers_the_handoff_transfer(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store,
        [ScriptedCall(PHONE, ring_at=0.5, hangup_after=600)],
        auto_login="wang",
        form_factory=wiring.ticket_form,
    )
    async with rig.app.run_test(size=(160, 60)) as pilot:
        await ring(rig, pilot, 0.5)
        await pilot.press("f5")
        rig.advance(0)
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        await pilot.press("ctrl+f", *"dtkr", "enter")  # 电梯困人: an emergency leaf
        await wait_until(pilot, lambda: isinstance(rig.app.screen, TransferDialog))
        dialog = rig.app.screen
        highlighted = dialog.targets[dialog.query_one("#targets").highlighted]
        assert highlighted.number in ("110", "119", "120", "122")
        await pilot.press("enter")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.desk.status.state == "话后整理")
        assert rig.app.desk.last_call.transfers == [highlighted.number]


async def test_caller_hangs_up_while_the_form_is_open_and_it_is_still_saved(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store,
        [ScriptedCall(PHONE, ring_at=0.5, hangup_after=5.0)],
        auto_login="wang",
        form_factory=wiring.ticket_form,
    )
    async with rig.app.run_test(size=(160, 60)) as pilot:
        call_id = await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        form = desk_of(rig).form
        await wait_until(pilot, lambda: bool(form.form_data().caller_phone))
        rig.advance(5.0)  # the caller hangs up mid-intake
        await wait_until(pilot, lambda: rig.app.desk.status.state == "话后整理")
        assert desk_of(rig).form is form and "通话已结束" in form.status_text
        await pilot.press("ctrl+f", *"nqbr", "1")
        set_fields(
            form,
            nature="投诉",
            address="铁东区胜利街道园林小区3栋501",
            when="昨晚起",
            caller_name="王先生",
            description="家里暖气不热，屋里只有十五度",
        )
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: rig.app.desk.last_call.ticket_id is not None)
        rig.app.call_log.flush()
    with sqlite_store.read() as s:
        row = calls.get_call(s, call_id)
        assert row is not None and row.end_reason == "remote_bye"
        assert row.ticket_id == rig.app.desk.last_call.ticket_id
