"""The ticket form under Pilot on a real SQLite store and the built-in taxonomy: classify by Chinese,
pinyin and initials, pick with digits, the 五要素 gate, save and read back, duplicates and 并单, 直接办结,
the draft across app instances, a 10,000-character paste, a call that ends, a locked store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
from helpers.ticket_fixtures import (
    HEATING,
    HEATING_START,
    LIFT_TRAPPED,
    PHONE,
    T0,
    heating_form,
    make_desk,
    operator,
)
from helpers.ticket_host import FormHost, fill_heating_request, set_fields, wait_for
from sqlalchemy import func, select
from textual import events
from textual.pilot import Pilot
from textual.widgets import Digits, Input, Label, OptionList, Select, Static, TextArea

from console.i18n import Translator
from console.services.ticket_service import CallContext
from store import calls
from store.db import Store, open_store
from store.models import Draft, TaxonomyChoice, Ticket
from store.tickets import find_ticket, ticket_as_dict

SIZE = (120, 60)


async def classify_and_fill(pilot: Pilot[None], app: FormHost) -> None:
    """Pick 暖气不热 by its initials and digit 1, then fill the other four elements."""
    app.form.focus_search()
    await fill_heating_request(pilot, app.form)


async def test_classify_by_chinese_pinyin_and_initials_then_pick_with_digits(sqlite_store: Store) -> None:
    app = FormHost(make_desk(sqlite_store, operator(sqlite_store)))
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        form.focus_search()
        await pilot.press(*"暖气不热")
        await pilot.pause()
        results = form.picker.results_view.results
        assert results and results[0].code == HEATING
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"nqbr")
        assert form.picker.query_text == "nqbr" and form.picker.results_view.results[0].code == HEATING
        second = form.picker.results_view.results[1]
        await pilot.press("2")  # a digit picks, it does not type
        await pilot.pause()
        assert form.leaf_code == second.code and form.picker.query_text == "nqbr"
        assert "已选" in str(form.picker.chosen_label.content)
        form.focus_search()
        form.picker.search_box.value = ""
        await pilot.press(*"dtkr", "enter")  # Enter takes the first: 电梯困人, an emergency
        await pilot.pause()
        assert form.leaf_code == LIFT_TRAPPED
        assert [(m.leaf_code, m.handoff) for m in app.critical] == [(LIFT_TRAPPED, "119")]
        assert "119" in form.status_text
        form.focus_search()
        form.picker.search_box.value = ""
        await pilot.press(*"101")  # digits only: a code search, the digits type
        assert form.picker.query_text == "101"


async def test_ime_burst_searches_only_the_final_value(sqlite_store: Store) -> None:
    desk = make_desk(sqlite_store, operator(sqlite_store))
    seen: list[str] = []
    search = desk.search

    def counting(query: str, limit: int = 9):  # type: ignore[no-untyped-def]
        seen.append(query)
        return search(query, limit)

    desk.search = counting  # type: ignore[method-assign]
    app = FormHost(desk)
    async with app.run_test(size=SIZE) as pilot:
        app.form.focus_search()
        await pilot.pause()
        box = app.form.picker.search_box
        for ch in "拖欠工资":  # one IME commit: four keys queued before any Changed is handled
            box.post_message(events.Key(ch, ch))
        await wait_for(
            pilot.pause, lambda: box.value == "拖欠工资" and bool(app.form.picker.results_view.results)
        )
        await pilot.pause()
        assert seen[-1] == "拖欠工资" and len(seen) < 4
        assert "工资" in app.form.picker.results_view.results[0].path[-1]


async def test_gate_refuses_then_save_shows_the_number_and_writes_the_ticket(sqlite_store: Store) -> None:
    actor = operator(sqlite_store)
    with sqlite_store.session() as s:
        calls.open_call(s, call_id="call-1", direction="in", remote_number=PHONE, display_name=None, at=T0)
    app = FormHost(make_desk(sqlite_store, actor), CallContext("call-1", PHONE))
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        assert form.form_data().caller_phone == PHONE  # filled from the call
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert (
            "五要素不全" in form.status_text
            and "事项分类" in form.status_text
            and "发生时间" in form.status_text
        )
        await classify_and_fill(pilot, app)
        assert form.form_data().district == "铁东区"  # matched from the address
        form.note_call_ended()  # the caller hangs up while the operator finishes
        assert "通话已结束" in form.status_text
        await pilot.press("ctrl+s")
        await wait_for(pilot.pause, lambda: bool(app.saved))
        number = app.saved[0].number
        assert str(form.query_one("#saved-digits", Digits).value).replace(" ", "") == number[2:]
        head = str(form.query_one("#saved-head", Label).content)
        assert number.startswith("AS") and "AS 开头" in head  # the letters the big digits cannot draw
        assert number in form.status_text
        await pilot.press("ctrl+s")  # again: nothing new, it says it is saved
        await pilot.pause()
        assert "已保存" in form.status_text and len(app.saved) == 1
    with sqlite_store.read() as s:
        ticket = find_ticket(s, number)
        assert ticket is not None
        data = ticket_as_dict(ticket, with_events=True)
        assert s.scalar(select(func.count()).select_from(Draft)) == 0
        row = calls.get_call(s, "call-1")
        assert row is not None and row.ticket_id == ticket.id
        choice = s.scalars(select(TaxonomyChoice)).one()
        assert (choice.query, choice.leaf_code, choice.rank) == ("nqbr", HEATING, 1)
    assert data["status"] == "已派单" and data["leaf_code"] == HEATING and data["district"] == "铁东区"
    assert [e["command"] for e in data["events"]].count("dispatch") >= 1


# 新建工单 is highlighted first; the earlier ticket (same caller, matter and place, 已派单) offers 并单 and 跟进
@pytest.mark.parametrize("keys", [("down", "enter"), ("down", "down", "enter")], ids=["merge", "follow_up"])
async def test_duplicates_are_offered_for_merge_or_follow_up(
    sqlite_store: Store, keys: tuple[str, ...]
) -> None:
    desk = make_desk(sqlite_store, operator(sqlite_store))
    first = desk.save(heating_form(address="铁东区胜利街道园林小区3栋501"))
    app = FormHost(desk, CallContext(None, PHONE))
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        await classify_and_fill(pilot, app)
        await pilot.press("ctrl+s")
        await wait_for(pilot.pause, lambda: not form.query_one("#dup-panel").has_class("hidden"))
        assert "可能重复" in form.status_text
        await pilot.press(
            *keys
        )  # under its heading: 并单 into the earlier ticket, then a follow-up call on it
        await wait_for(pilot.pause, lambda: bool(app.saved))
        assert first.number in str(form.query_one("#saved-number").content)
    with sqlite_store.read() as s:
        tickets = s.scalar(select(func.count()).select_from(Ticket))
        child = find_ticket(s, app.saved[0].number)
    if keys == ("down", "enter"):
        assert (
            tickets == 2
            and child is not None
            and child.status == "已并单"
            and child.parent_id == first.ticket_id
        )
    else:
        assert tickets == 1 and app.saved[0].number == first.number  # a follow-up makes no ticket


async def test_direct_close_from_the_standard_answer(sqlite_store: Store) -> None:
    app = FormHost(make_desk(sqlite_store, operator(sqlite_store)), CallContext(None, PHONE))
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        form.focus_search()
        await pilot.press(*"供暖开始时间")
        await pilot.pause()
        codes = [r.code for r in form.picker.results_view.results]
        await pilot.press(str(codes.index(HEATING_START) + 1))
        await pilot.pause()
        assert "标准答复" in form.status_text
        set_fields(form, nature="咨询", description="问今年什么时候开始供暖")
        form.action_knowledge()  # F3 on the desk
        await pilot.pause()
        assert "11月1日" in form.query_one("#answer", TextArea).text
        await pilot.press("ctrl+s")
        await wait_for(pilot.pause, lambda: bool(app.saved))
    with sqlite_store.read() as s:
        ticket = find_ticket(s, app.saved[0].number)
        assert ticket is not None and ticket.status == "已办结" and "11月1日" in (ticket.answer or "")


async def test_draft_comes_back_in_a_new_app_and_a_10k_paste_is_kept(sqlite_store: Store) -> None:
    actor = operator(sqlite_store)
    pasted = ("楼上漏水😀\x1b\x07" * 1250)[:10_000]
    app = FormHost(make_desk(sqlite_store, actor), CallContext("call-x", PHONE))
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        form.focus_search()
        await pilot.press(*"nqbr", "1")
        area = form.query_one("#description", TextArea)
        area.focus()
        await pilot.pause()
        area.post_message(events.Paste(pasted))
        await wait_for(pilot.pause, lambda: len(area.text) >= 9000)
        assert "\x1b" not in area.text and "\x07" not in area.text and area.text.startswith("楼上漏水😀楼上")
        address = form.query_one("#address", Input)
        address.focus()
        address.post_message(events.Paste("铁东区\x1b[2J胜利街道\n园林小区"))  # multi-line, with an escape
        await wait_for(pilot.pause, lambda: bool(address.value))
        assert address.value == "铁东区[2J胜利街道 园林小区"
        set_fields(form, nature="投诉", when="今天", caller_name="王先生")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "过长" in form.status_text and "保留" in form.status_text  # refused, text kept
        await wait_for(pilot.pause, lambda: _draft_len(sqlite_store) >= 9000)  # written after 0.5 s idle
        typed = form.form_data()
    # another call's form on the same store never gets this draft
    other = FormHost(make_desk(sqlite_store, actor), CallContext("call-y", "13100000011"))
    async with other.run_test(size=SIZE) as pilot:
        await pilot.pause()
        fresh = other.form.form_data()
        assert fresh.description == "" and fresh.leaf_code == "" and fresh.caller_phone == "13100000011"
        assert "恢复" not in other.form.status_text
    # the console "dies": a new app instance on the same store, for the same call, gets the draft back
    again = FormHost(make_desk(sqlite_store, actor), CallContext("call-x", PHONE))
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        restored = again.form.form_data()
        assert "恢复" in again.form.status_text
        assert restored.description == typed.description and restored.leaf_code == HEATING
        assert restored.request_id == typed.request_id and restored.district == "铁东区"
        set_fields(again.form, description="楼上漏水，暖气也不热😀")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await wait_for(pilot.pause, lambda: bool(again.saved))
    with sqlite_store.read() as s:
        ticket = find_ticket(s, again.saved[0].number)
        assert ticket is not None and ticket.description is not None and "😀" in ticket.description
        assert s.scalar(select(func.count()).select_from(Draft)) == 0


def _shown(select: Select[str]) -> str:
    """What a closed Select shows as its current choice."""
    return str(select.query_one("#label", Static).content)


async def _choose(pilot: Pilot[None], select: Select[str], label: str) -> list[str]:
    """Open ``select``, pick the option shown as ``label`` with Enter; the labels it offered."""
    select.focus()
    await pilot.press("enter")
    options = select.query_one(OptionList)
    await wait_for(pilot.pause, lambda: options.display and select.expanded)
    prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    options.highlighted = prompts.index(label)
    await pilot.press("enter")
    await wait_for(pilot.pause, lambda: not select.expanded)
    return prompts


async def test_english_form_shows_english_domain_words_and_stores_the_chinese_codes(
    sqlite_store: Store,
) -> None:
    desk = make_desk(sqlite_store, operator(sqlite_store))
    first = desk.save(heating_form(address="铁东区胜利街道园林小区3栋501"))
    first_status = Translator.load("en").label("ticket_status", first.status)
    assert first_status != first.status
    app = FormHost(desk, CallContext(None, PHONE), language="en")
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        nature = form.query_one("#nature", Select)
        board = form.query_one("#board", Select)
        urgency = form.query_one("#urgency", Select)
        assert (_shown(board), _shown(urgency)) == ("Citizens' requests", "Normal")  # the defaults
        natures = await _choose(pilot, nature, "Complaint")
        assert {"Inquiry", "Request for help", "Complaint", "Report (whistle-blowing)"} <= set(natures)
        assert not {"咨询", "投诉", "举报"} & set(natures)
        boards = await _choose(pilot, board, "Business services")
        assert "Petitions" in boards and "企业服务" not in boards and "群众诉求" not in boards
        form.focus_search()
        await pilot.press(*"nqbr", "1")
        await pilot.pause()
        assert form.leaf_code == HEATING and str(form.picker.chosen_label.content).endswith("  Urgent")
        assert _shown(urgency) == "Urgent"  # the leaf's suggestion, 紧急
        urgencies = await _choose(pilot, urgency, "Critical")
        assert urgencies == ["Normal", "Urgent", "Critical"]
        shown = (_shown(nature), _shown(board), _shown(urgency))
        assert shown == ("Complaint", "Business services", "Critical")
        set_fields(
            form,
            address="铁东区胜利街道园林小区3栋501",
            when="since last night",
            caller_name="Mr Wang",
            description="the radiators are cold, fifteen degrees inside",
        )
        await pilot.press("ctrl+s")
        await wait_for(pilot.pause, lambda: not form.query_one("#dup-panel").has_class("hidden"))
        offers = form.query_one("#dup-options", OptionList)
        heading = str(offers.get_option_at_index(1).prompt)
        assert f"  {first_status}  " in heading and first.status not in heading
        await pilot.press("enter")  # the default, highlighted first: a new ticket
        await wait_for(pilot.pause, lambda: bool(app.saved))
        number = app.saved[0].number
        shown_saved = str(form.query_one("#saved-number", Static).content)
    assert number != first.number
    with sqlite_store.read() as s:
        ticket = find_ticket(s, number)
        assert ticket is not None
        data = ticket_as_dict(ticket)
    assert (data["nature"], data["board"], data["urgency"]) == ("投诉", "企业服务", "特急")  # the codes
    saved_status = Translator.load("en").label("ticket_status", data["status"])
    assert saved_status != data["status"] and shown_saved == f"{number}  {saved_status}"


def _draft_len(store: Store) -> int:
    with store.read() as s:
        row = s.scalars(select(Draft)).first()
        return len((row.data or {}).get("description", "")) if row else 0


async def test_a_locked_store_is_waited_out_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "locked.sqlite3"
    store = open_store(f"sqlite:///{path}", busy_timeout_ms=100)  # fail fast: the form's retries wait
    try:
        app = FormHost(make_desk(store, operator(store)), CallContext(None, PHONE))
        async with app.run_test(size=SIZE) as pilot:
            form = app.form
            await classify_and_fill(pilot, app)
            locked, release = threading.Event(), threading.Event()

            def hold_lock() -> None:  # another process writing for about a second
                conn = sqlite3.connect(path, timeout=5, isolation_level=None)
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("UPDATE ticket_counters SET last = last")
                locked.set()
                release.wait(1.0)
                conn.execute("COMMIT")
                conn.close()

            holder = threading.Thread(target=hold_lock, daemon=True)
            holder.start()
            assert locked.wait(5)
            busy_seen: list[str] = []

            def saved() -> bool:
                busy_seen.append(form.status_text)
                return bool(app.saved)

            await pilot.press("ctrl+s")
            await wait_for(pilot.pause, saved)
            release.set()
            holder.join(5)
            assert any("存储繁忙" in text for text in busy_seen)
        with store.read() as s:
            assert s.scalar(select(func.count()).select_from(Ticket)) == 1
    finally:
        store.close()


async def test_english_texts_and_a_discarded_draft_stays_gone(sqlite_store: Store) -> None:
    actor = operator(sqlite_store)
    app = FormHost(make_desk(sqlite_store, actor), language="en")
    async with app.run_test(size=SIZE) as pilot:
        form = app.form
        form.set_call(CallContext("call-en", PHONE))
        assert form.form_data().caller_phone == PHONE and "138****5678" in form.status_text
        set_fields(form, description="typed and then thrown away")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert "Incomplete ticket" in form.status_text and "category" in form.status_text
        await wait_for(pilot.pause, lambda: _draft_len(sqlite_store) > 0)
        form.discard_draft()
        await app.workers.wait_for_complete()
        set_fields(form, description="more typing after the discard")
        await pilot.pause(0.7)  # past the draft's idle delay: nothing is written any more
        assert _draft_len(sqlite_store) == 0
    again = FormHost(make_desk(sqlite_store, actor), CallContext("call-en", PHONE))
    async with again.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert again.form.form_data().description == ""
