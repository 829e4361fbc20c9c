"""The desk with the real ticket form (TicketForm): answer → classify → save → the call is linked;
an emergency leaf opens the transfer dialog on its hand-off number; a saved ticket wakes the outbox
sender, so it reaches the city backend at once."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from helpers.desk_harness import add_operator, answer, desk_of, make_config, make_rig, ring, wait_until
from helpers.ticket_host import fill_heating_request
from pydantic import SecretStr

from console.commands._demo_ui import start_backend
from console.commands.sync import build_worker
from console.screens.dialogs import TransferDialog
from store import calls
from store.db import Store
from store.models import Ticket
from store.sync import SyncThread
from store.tickets import find_ticket
from store.vocabulary import AgentState
from telephony.sim import ScriptedCall

PHONE = "13904121037"


async def test_answer_classify_save_links_the_ticket_to_the_call(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store,
        [ScriptedCall(PHONE, ring_at=0.5, hangup_after=600)],
        auto_login="wang",
        form=True,
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
        await fill_heating_request(pilot, form)
        rig.app.call_log.flush()
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: desk_of(rig).calls.current.ticket_id is not None)
        saved = [n.message for n in rig.app._notifications if "工单已保存" in n.message]
        await pilot.press("f8")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        await pilot.press("enter")  # 已建工单
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        rig.app.calls.writer.flush()
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
        form=True,
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
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert rig.app.calls.last_call.transfers == [highlighted.number]


async def test_caller_hangs_up_while_the_form_is_open_and_it_is_still_saved(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store,
        [ScriptedCall(PHONE, ring_at=0.5, hangup_after=5.0)],
        auto_login="wang",
        form=True,
    )
    async with rig.app.run_test(size=(160, 60)) as pilot:
        call_id = await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        form = desk_of(rig).form
        await wait_until(pilot, lambda: bool(form.form_data().caller_phone))
        rig.advance(5.0)  # the caller hangs up mid-intake
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        assert desk_of(rig).form is form and "通话已结束" in form.status_text
        await fill_heating_request(pilot, form, "ctrl+f")
        await pilot.press("ctrl+s")
        await wait_until(pilot, lambda: rig.app.calls.last_call.ticket_id is not None)
        rig.app.call_log.flush()
    with sqlite_store.read() as s:
        row = calls.get_call(s, call_id)
        assert row is not None and row.end_reason == "remote_bye"
        assert row.ticket_id == rig.app.calls.last_call.ticket_id


def _backend_id(store: Store, ticket_id: int) -> str | None:
    with store.read() as s:
        ticket = s.get(Ticket, ticket_id)
        assert ticket is not None
        return ticket.backend_id


async def test_a_saved_ticket_wakes_the_outbox_sender(sqlite_store: Store, tmp_path: Path) -> None:
    """The sender looks at the outbox every 10 minutes when idle: only the save's wake sends it now."""
    from taxonomy.model import load_taxonomy

    add_operator(sqlite_store)
    backend = start_backend(tmp_path, load_taxonomy())
    base = make_config()
    config = base.model_copy(
        update={
            "backend": base.backend.model_copy(
                update={"url": backend.url, "api_key": SecretStr(backend.api_key)}
            ),
            "sync": base.sync.model_copy(update={"enabled": True, "interval": 600.0}),
        }
    )
    worker = build_worker(sqlite_store, config)
    worker.settings = dataclasses.replace(worker.settings, outbox_poll=600.0)
    sync = SyncThread(worker)
    sync.start()
    try:
        rig = make_rig(
            sqlite_store,
            [ScriptedCall(PHONE, ring_at=0.5, hangup_after=600)],
            config=config,
            auto_login="wang",
            form=True,
            sync=sync,
        )
        async with rig.app.run_test(size=(160, 60)) as pilot:
            await ring(rig, pilot, 0.5)
            await answer(rig, pilot)
            await wait_until(pilot, lambda: desk_of(rig).form is not None)
            form = desk_of(rig).form
            await fill_heating_request(pilot, form, "ctrl+f")
            await pilot.press("ctrl+s")
            await wait_until(pilot, lambda: rig.app.calls.current.ticket_id is not None)
            ticket_id = rig.app.calls.current.ticket_id
            # the city backend has the ticket (its service_request_id is linked) well before a poll
            await wait_until(pilot, lambda: _backend_id(sqlite_store, ticket_id) is not None, timeout=20)
    finally:
        sync.stop(5)
        backend.stop()
