"""The worklists (漏接回拨, 回访): the service and the screen under Pilot on a real SQLite store,
dialling through the simulated line (telephony.sim.SimLine) or a recording dialer. The snapshots of
the screen are in tests/console/snapshots/test_worklists_snapshots.py (both use helpers.worklists_harness)."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator

import pytest
from helpers.worklists_harness import (
    NOW,
    SUPERVISOR,
    TRAINER,
    RecordingDialer,
    Seeded,
    add_closed_ticket,
    add_missed_call,
    make_service,
    opened,
    press_and_reload,
    refuse,
    seed,
    settle,
    status,
    table_rows,
    toasts,
)
from textual.widgets import Checkbox, DataTable, Input, RadioSet, Static
from textual.widgets._footer import FooterKey

from console.screens.worklists import WorklistsScreen
from console.services.call_log import CallLog, ringing_history
from console.services.worklists import (
    MissedRow,
    SyncRow,
    WorklistError,
    dialable_number,
    paginate,
)
from console.widgets.status_bar import StatusBar, StatusView
from store import calls, evaluations, sync
from store.db import Store
from store.models import Call, OutboxEntry, Ticket
from store.vocabulary import AgentState
from store.workcal import SHANGHAI
from telephony.events import CallAnswered, Event
from telephony.sim import SimLine


@pytest.fixture
def seeded(sqlite_store: Store) -> Seeded:
    return seed(sqlite_store)


# --- pure parts ------------------------------------------------------------------------------------


def test_dialable_numbers() -> None:
    assert dialable_number("+8613812345678") == "13812345678"
    assert dialable_number("0412-2345678") == "04122345678"
    assert dialable_number("+8613812345678", "9") == "913812345678"
    assert dialable_number("+14155550123") == "0014155550123"
    assert dialable_number("1001") == "1001"  # an extension
    with pytest.raises(WorklistError) as err:
        dialable_number("anonymous")
    assert err.value.key == "not_dialable"


def test_paginate_clamps_pages() -> None:
    items = list(range(45))
    assert [
        (p.page, p.pages, p.total, p.first, len(p.rows), p.truncated)
        for p in (
            paginate(items, 0, 20),
            paginate(items, 2, 20),
            paginate(items, 9, 20),
            paginate([], 3, 20),
            paginate(items, 9, 20, limit=30),
        )
    ] == [
        (0, 3, 45, 0, 20, False),
        (2, 3, 45, 40, 5, False),
        (2, 3, 45, 40, 5, False),
        (0, 1, 0, 0, 0, False),
        (1, 2, 30, 20, 10, True),
    ]


# --- the service on a real store -------------------------------------------------------------------


def test_service_lists_pages_and_masks_for_trainers(sqlite_store: Store, seeded: Seeded) -> None:
    dialer = RecordingDialer()
    op = make_service(sqlite_store, dialer, page_size=1)
    first, second = op.missed_page(0), op.missed_page(1)
    assert (first.total, first.pages, second.first) == (2, 2, 1)
    assert [(r.phone, r.missed, r.name) for r in first.rows + second.rows] == [
        ("13812345678", 2, "王先生"),
        ("04122345678", 1, None),
    ]
    due = op.due_page(0)
    assert due.total == 2 and due.rows[0].phone == "13700002222"
    trainer = make_service(sqlite_store, dialer, TRAINER)
    assert [r.phone for r in trainer.missed_page().rows] == ["138****5678", "0412-****678"]
    assert [r.phone for r in trainer.due_page().rows] == ["137****2222", "136****3333"]
    for act in (
        lambda: trainer.call_back(first.rows[0]),
        lambda: trainer.call_for_visit(due.rows[0]),
        lambda: trainer.record_visit(due.rows[0].ticket_id, "满意"),
    ):
        with pytest.raises(WorklistError) as err:
            act()
        assert err.value.key == "read_only"
    assert dialer.numbers == []


def test_service_refuses_an_incomplete_dissatisfied_visit(sqlite_store: Store, seeded: Seeded) -> None:
    op = make_service(sqlite_store, RecordingDialer())
    tid = seeded.tickets["heat"]
    for kw, key in (({}, "need_reason"), ({"reason": "还是冷"}, "need_fault")):
        with pytest.raises(WorklistError) as err:
            op.record_visit(tid, "不满意", **kw)  # type: ignore[arg-type]
        assert err.value.key == key
    with sqlite_store.read() as s:
        assert s.get(Ticket, tid).status == "已办结"  # type: ignore[union-attr]


def test_service_dial_failure_is_a_worklist_error(sqlite_store: Store, seeded: Seeded) -> None:
    op = make_service(sqlite_store, RecordingDialer(fail=RuntimeError("line not registered")))
    with pytest.raises(WorklistError) as err:
        op.call_back(op.missed_page().rows[0])
    assert err.value.key == "dial_failed" and "not registered" in err.value.values["error"]


# --- the screen under Pilot ------------------------------------------------------------------------


async def test_missed_list_shows_numbers_and_dial_calls_the_dialer(
    sqlite_store: Store, seeded: Seeded
) -> None:
    dialer = RecordingDialer()
    async with opened(make_service(sqlite_store, dialer)) as (app, pilot, screen):
        rows = table_rows(screen, "#wl-missed")
        assert [r[:5] for r in rows] == [
            ["1", "13812345678", "王先生", "11-28 08:00", "2"],
            ["2", "04122345678", "", "11-28 07:00", "1"],
        ]
        assert [r[5] for r in rows] == ["排队放弃", "振铃挂断"]
        assert "第 1/1 页，共 2 条" in str(screen.query_one("#wl-missed-pager", Static).render())
        await pilot.press("down", "d")  # the landline
        await settle(pilot, lambda: bool(app.placed))
        assert dialer.numbers == ["04122345678"]
        placed = app.placed[0].placed
        assert (placed.call_id, placed.kind, placed.ref) == ("out-1", "missed", seeded.missed["04122345678"])
        assert table_rows(screen, "#wl-missed")[1][7] == "回拨中"
        assert "正在拨打 04122345678" in status(screen)


async def test_marking_outcomes_takes_numbers_off_the_list(sqlite_store: Store, seeded: Seeded) -> None:
    dialer = RecordingDialer()
    async with opened(make_service(sqlite_store, dialer)) as (app, pilot, screen):
        await pilot.press("d")
        await settle(pilot, lambda: bool(app.placed))
        await press_and_reload(pilot, screen, "2")  # no answer: stays, one try counted
        rows = table_rows(screen, "#wl-missed")
        assert [r[1] for r in rows] == ["13812345678", "04122345678"] and rows[0][6:] == ["1", ""]
        assert "无人接听（第 1 次）" in status(screen)
        await press_and_reload(pilot, screen, "1")  # reached (a callback made elsewhere: no call id)
        assert [r[1] for r in table_rows(screen, "#wl-missed")] == ["04122345678"]
        assert table_rows(screen, "#wl-missed")[0][0] == "1"  # positions follow the list
        await press_and_reload(pilot, screen, "3")  # wrong number
        assert table_rows(screen, "#wl-missed") == []
        assert "没有待回拨的漏接来电" in str(screen.query_one("#wl-missed-pager", Static).render())
    with sqlite_store.read() as s:
        events = calls.call_events(s, seeded.missed["13812345678"])
        outcomes = [e.data["outcome"] for e in events if e.kind == "callback"]
        assert outcomes == ["no_answer", "reached"]
        assert events[-1].kind == "called_back"
        first_try = next(e for e in events if e.kind == "callback")
        assert first_try.data["by_call_id"] == "out-1" and s.get(Call, "out-1") is not None


async def test_visit_satisfied_closes_the_ticket(sqlite_store: Store, seeded: Seeded) -> None:
    dialer = RecordingDialer()
    async with opened(make_service(sqlite_store, dialer)) as (app, pilot, screen):
        await pilot.press("v")
        assert [r[2:6] for r in table_rows(screen, "#wl-visits")] == [
            ["李女士", "13700002222", "铁东区供暖办", "11-27 15:00"],
            ["赵先生", "13600003333", "立山区城管局", "11-27 16:00"],
        ]
        await pilot.press("d")
        await settle(pilot, lambda: bool(app.placed))
        assert dialer.numbers == ["13700002222"]
        assert screen.form_row is not None and screen.form_call == "out-1"
        await pilot.press("enter")  # the first radio: 满意
        assert screen.query_one("#wl-result", RadioSet).pressed_index == 0
        await press_and_reload(pilot, screen, "ctrl+s")
        assert "已回访" in status(screen) and screen.form_row is None
        assert [r[2] for r in table_rows(screen, "#wl-visits")] == ["赵先生"]
    with sqlite_store.read() as s:
        t = s.get(Ticket, seeded.tickets["heat"])
        assert t is not None and (t.status, t.satisfaction) == ("已回访", "满意")
        (ev,) = evaluations.evaluations_of(s, t.id)
        assert (ev.result, ev.call_id) == ("满意", "out-1")


async def test_visit_dissatisfied_needs_a_reason_and_without_fault_is_evaluated(
    sqlite_store: Store, seeded: Seeded
) -> None:
    async with opened(make_service(sqlite_store, RecordingDialer())) as (_app, pilot, screen):
        await pilot.press("v", "down", "e")  # record without dialling (the citizen called in)
        assert screen.form_row is not None and screen.form_row.ticket_id == seeded.tickets["road"]
        await pilot.press("right", "right", "enter")  # 不满意
        await pilot.press("ctrl+s")  # no reason yet: refused, the form keeps what was chosen
        await settle(pilot)
        assert "不满意需填写原因" in status(screen) and screen.form_row is not None
        screen.query_one("#wl-reason", Input).value = "路灯还是不亮"
        await press_and_reload(
            pilot, screen, "ctrl+s"
        )  # the fault box left unticked: not the department's fault
        assert screen.form_row is None
    with sqlite_store.read() as s:
        t = s.get(Ticket, seeded.tickets["road"])
        assert t is not None and t.status == "已回访"  # not the department's fault


async def test_visit_dissatisfied_department_at_fault_is_rehandled_and_audited(
    sqlite_store: Store, seeded: Seeded
) -> None:
    async with opened(make_service(sqlite_store, RecordingDialer())) as (_app, pilot, screen):
        await pilot.press("v", "e", "right", "right", "enter")
        screen.query_one("#wl-reason", Input).value = "暖气还是不热"
        screen.query_one("#wl-fault", Checkbox).value = True
        await press_and_reload(pilot, screen, "ctrl+s")
        assert "已发回 铁东区供暖办 重办" in status(screen)
        assert [r[2] for r in table_rows(screen, "#wl-visits")] == ["赵先生"]
    with sqlite_store.read() as s:
        t = s.get(Ticket, seeded.tickets["heat"])
        assert t is not None and (t.status, t.rehandle_count, t.satisfaction) == ("办理中", 1, "不满意")
        assert t.deadline is not None and t.deadline > NOW
        audit = {(e.command, e.field, e.actor, e.reason) for e in t.events if e.command == "evaluate"}
        assert ("evaluate", "status", "alice", "暖气还是不热") in audit
        assert ("evaluate", "rehandle_count", "alice", "暖气还是不热") in audit


async def test_not_reached_keeps_the_ticket_and_counts(sqlite_store: Store, seeded: Seeded) -> None:
    async with opened(make_service(sqlite_store, RecordingDialer())) as (app, pilot, screen):
        await pilot.press("v", "d")
        await settle(pilot, lambda: bool(app.placed))
        for _ in range(3):
            await pilot.press("down")
        await pilot.press("enter")  # 未接通
        await press_and_reload(pilot, screen, "ctrl+s")
        assert "未接通（第 1 次）" in status(screen)
        assert table_rows(screen, "#wl-visits")[0][6] == "1"


async def test_trainer_sees_masked_numbers_and_cannot_dial(sqlite_store: Store, seeded: Seeded) -> None:
    dialer = RecordingDialer()
    async with opened(make_service(sqlite_store, dialer, TRAINER)) as (app, pilot, screen):
        assert [r[1] for r in table_rows(screen, "#wl-missed")] == ["138****5678", "0412-****678"]
        await pilot.pause()  # the footer composes once the bindings are known
        shown = {k.action for k in screen.query(FooterKey)}
        assert not shown & {"dial", "outcome('reached')", "open_form"}  # keys a trainer cannot use
        await pilot.press("d", "1")
        await settle(pilot)
        assert dialer.numbers == [] and app.placed == []
        assert toasts(app) == ["培训角色只能查看，不能拨打或登记"] * 2  # each key says why
    with sqlite_store.read() as s:
        assert evaluations.callback_tries(s, seeded.missed.values()) == {}


async def test_dial_failure_is_shown_and_nothing_changes(sqlite_store: Store, seeded: Seeded) -> None:
    dialer = RecordingDialer(fail=RuntimeError("line not registered"))
    async with opened(make_service(sqlite_store, dialer)) as (app, pilot, screen):
        await pilot.press("d")
        await settle(pilot)
        assert "拨号失败：line not registered" in status(screen) and app.placed == []
        assert table_rows(screen, "#wl-missed")[0][7] == ""


async def test_refresh_diffs_the_table_and_pages(sqlite_store: Store, seeded: Seeded) -> None:
    async with opened(make_service(sqlite_store, RecordingDialer(), page_size=2)) as (_app, pilot, screen):
        table = screen.query_one("#wl-missed", DataTable)
        keys_before = [r.key for r in table.ordered_rows]
        newest = add_missed_call(sqlite_store, "13911112222", NOW - dt.timedelta(minutes=10))
        removed: list[object] = []
        added: list[object] = []
        table.remove_row = lambda key, _orig=table.remove_row: (removed.append(key), _orig(key))[1]  # type: ignore[method-assign]
        table.add_row = lambda *a, _orig=table.add_row, **k: (added.append(k.get("key")), _orig(*a, **k))[1]  # type: ignore[method-assign]
        await press_and_reload(pilot, screen, "r")
        rows = table_rows(screen, "#wl-missed")
        assert [r[1] for r in rows] == ["13911112222", "13812345678"]
        assert [r[0] for r in rows] == ["1", "2"]
        assert added == [r.key.value for r in table.ordered_rows][:1] and len(removed) == 1
        assert keys_before[0] in [r.key for r in table.ordered_rows]  # kept, only its cells updated
        assert "第 1/2 页，共 3 条" in str(screen.query_one("#wl-missed-pager", Static).render())
        await press_and_reload(pilot, screen, "n")
        assert [r[:2] for r in table_rows(screen, "#wl-missed")] == [["3", "04122345678"]]
        assert newest != seeded.missed["13812345678"]


# --- the real simulated line ------------------------------------------------------------------------


@pytest.fixture
def sim_line() -> Iterator[SimLine]:
    line = SimLine([])  # no scripted inbound calls: only the ones the worklist dials
    yield line
    line.stop()


async def test_callback_through_the_simulated_line_is_logged_and_leaves_the_list(
    sqlite_store: Store, seeded: Seeded, sim_line: SimLine
) -> None:
    line = sim_line
    log = CallLog(sqlite_store, now=lambda: NOW)
    answered = threading.Event()

    def on_event(ev: Event) -> None:
        log.on_event(ev)
        if isinstance(ev, CallAnswered):
            answered.set()

    line.start(on_event)  # the desk's wiring: line events go to its CallLog

    def dial(number: str) -> str:
        call_id = line.dial(number)
        log.dialed(call_id, number)
        return call_id

    async with opened(make_service(sqlite_store, dial)) as (app, pilot, screen):
        await pilot.press("d")
        await settle(pilot, lambda: bool(app.placed))
        call_id = app.placed[0].placed.call_id
        assert line.calls[call_id].script.caller == "13812345678"  # the number the line dialled
        assert answered.wait(5)
        await press_and_reload(pilot, screen, "1")
        assert [r[1] for r in table_rows(screen, "#wl-missed")] == ["04122345678"]
    with sqlite_store.read() as s:
        out = s.get(Call, call_id)
        assert out is not None and (out.direction, out.answered_at is not None) == ("out", True)
        events_of_missed = calls.call_events(s, seeded.missed["13812345678"])
        assert [e.data.get("by_call_id") for e in events_of_missed if e.kind == "callback"] == [call_id]


def test_missed_row_key_is_stable_per_number(sqlite_store: Store, seeded: Seeded) -> None:
    op = make_service(sqlite_store, RecordingDialer())
    before = {r.phone: r.key for r in op.missed_page().rows}
    add_missed_call(sqlite_store, "13812345678", NOW - dt.timedelta(minutes=1))
    after: dict[str, MissedRow] = {r.phone: r for r in op.missed_page().rows}
    assert after["13812345678"].key == before["13812345678"] and after["13812345678"].missed == 3


async def test_an_overlong_reason_is_refused_and_kept_in_the_form(
    sqlite_store: Store, seeded: Seeded
) -> None:
    async with opened(make_service(sqlite_store, RecordingDialer())) as (_app, pilot, screen):
        await pilot.press("v", "e", "right", "right", "enter")
        pasted = "暖气\x07不热😡" + "长" * 10_000
        screen.query_one("#wl-reason", Input).value = pasted
        await pilot.press("tab", "space")  # the fault box, by keyboard
        assert screen.query_one("#wl-fault", Checkbox).value is True
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert "最多 500 个字" in status(screen)
        assert screen.form_row is not None and screen.query_one("#wl-reason", Input).value == pasted
    with sqlite_store.read() as s:
        assert s.get(Ticket, seeded.tickets["heat"]).status == "已办结"  # type: ignore[union-attr]


async def test_the_screen_speaks_english(sqlite_store: Store, seeded: Seeded) -> None:
    async with opened(make_service(sqlite_store, RecordingDialer()), "en") as (_app, pilot, screen):
        table = screen.query_one("#wl-missed", DataTable)
        assert [str(c.label) for c in table.columns.values()][:3] == ["#", "Number", "Name"]
        assert [r[5] for r in table_rows(screen, "#wl-missed")] == ["left the queue", "hung up ringing"]
        assert "page 1/1, 2 in all" in str(screen.query_one("#wl-missed-pager", Static).render())
        await pilot.pause()  # the footer composes once the bindings are known
        assert {k.description for k in screen.query(FooterKey) if k.action == "dial"} == {"Dial"}


def test_both_languages_have_every_text() -> None:
    from console.i18n import read_locales

    texts = read_locales()
    assert set(texts["zh_CN"]) == set(texts["en"])


async def test_escape_closes_the_form_then_goes_back(sqlite_store: Store, seeded: Seeded) -> None:
    async with opened(make_service(sqlite_store, RecordingDialer())) as (app, pilot, screen):
        await pilot.press("v", "e")
        assert screen.form_row is not None
        await pilot.press("escape")
        assert screen.form_row is None and app.screen is screen
        await pilot.press("escape")
        assert not isinstance(app.screen, WorklistsScreen)


async def test_keys_are_remappable_by_id(sqlite_store: Store, seeded: Seeded) -> None:
    from console.app import KEYMAP_SCREENS, HotlineApp
    from console.keymap import declared

    ids = {bid for _, b in WorklistsScreen._merged_bindings or () if (bid := b.id)}  # type: ignore[union-attr]
    assert ids <= set(declared((HotlineApp, *KEYMAP_SCREENS)))  # every id can be set in [keymap]
    dialer = RecordingDialer()
    async with opened(make_service(sqlite_store, dialer)) as (app, pilot, _screen):
        app.set_keymap({"worklists_dial": "x"})
        await pilot.press("d")
        await settle(pilot)
        assert dialer.numbers == []
        await pilot.press("x")
        await settle(pilot, lambda: bool(app.placed))
        assert dialer.numbers == ["13812345678"]


async def test_backlog_adds_older_visits(sqlite_store: Store, seeded: Seeded) -> None:
    older = add_closed_ticket(
        sqlite_store,
        "13400005555",
        "孙女士",
        "铁东区供暖办",
        dt.datetime(2026, 11, 25, 11, 0, tzinfo=SHANGHAI),
        "暖气漏水",
    )
    async with opened(make_service(sqlite_store, RecordingDialer())) as (_app, pilot, screen):
        await pilot.press("v")
        assert [r[2] for r in table_rows(screen, "#wl-visits")] == ["李女士", "赵先生"]
        await press_and_reload(pilot, screen, "b")
        assert [r[2] for r in table_rows(screen, "#wl-visits")] == ["孙女士", "李女士", "赵先生"]
        assert "积压" in str(screen.query_one("#wl-title", Static).render())
        assert screen.due_rows[f"t{older}"].ticket_id == older


async def test_a_locked_store_is_reported_and_the_row_kept(sqlite_url: str) -> None:
    import sqlite3

    from store.db import open_store

    store = open_store(sqlite_url, busy_timeout_ms=300)
    try:
        seeded = seed(store)
        blocker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        try:
            async with opened(make_service(store, RecordingDialer())) as (_app, pilot, screen):
                blocker.execute("BEGIN IMMEDIATE")  # another seat holds the write lock
                await pilot.press("1")
                await settle(pilot, lambda: "保存失败" in status(screen))
                blocker.execute("ROLLBACK")
                assert [r[1] for r in table_rows(screen, "#wl-missed")] == ["13812345678", "04122345678"]
                await press_and_reload(pilot, screen, "1")  # the lock is gone: the same key works
                assert [r[1] for r in table_rows(screen, "#wl-missed")] == ["04122345678"]
        finally:
            blocker.close()
        with store.read() as s:
            assert evaluations.callback_tries(s, [seeded.missed["13812345678"]]) == {
                seeded.missed["13812345678"]: 1
            }
    finally:
        store.close()


# --- 同步待处理 (supervisors) -----------------------------------------------------------------------


async def test_supervisor_sees_refused_tickets_and_sends_one_again(
    sqlite_store: Store, seeded: Seeded
) -> None:
    entry_id = refuse(sqlite_store, seeded.tickets["heat"])
    async with opened(make_service(sqlite_store, RecordingDialer(), SUPERVISOR)) as (_app, pilot, screen):
        await pilot.press("s")
        await pilot.pause()
        assert screen.active_list == "sync"
        rows = table_rows(screen, "#wl-sync")
        with sqlite_store.read() as s:
            number = s.get(Ticket, seeded.tickets["heat"]).number  # type: ignore[union-attr]
        assert [(r[1], r[2], r[3]) for r in rows] == [(number, "新建", "1")]
        assert rows[0][5] == "400 invalid attribute district (service_code 101.01)"  # one line
        await pilot.press("d")  # nothing to dial on this list
        await settle(pilot)
        await press_and_reload(pilot, screen, "a")
        assert number in status(screen) and "重新排队" in status(screen)
        assert table_rows(screen, "#wl-sync") == []
    with sqlite_store.read() as s:
        entry = s.get(OutboxEntry, entry_id)
        assert entry is not None and entry.state == sync.PENDING


async def test_operators_have_no_sync_list(sqlite_store: Store, seeded: Seeded) -> None:
    entry_id = refuse(sqlite_store, seeded.tickets["heat"])
    service = make_service(sqlite_store, RecordingDialer())
    async with opened(service) as (app, pilot, screen):
        await pilot.pause()  # the footer composes once the bindings are known
        assert not {k.action for k in screen.query(FooterKey)} & {"show('sync')", "requeue"}
        await pilot.press("s", "a")
        await settle(pilot)
        assert screen.active_list == "missed" and not screen.query("#wl-sync")
        assert (
            toasts(app) == ["同步待处理由班长处理；顶部状态栏的「同步」显示待发和待处理的数量"] * 2
        )  # not silence
    with pytest.raises(WorklistError):
        service.requeue(SyncRow("o1", entry_id, "x", "create", 1, "", NOW))
    with sqlite_store.read() as s:
        assert s.get(OutboxEntry, entry_id).state == sync.ATTENTION  # type: ignore[union-attr]


# --- issue 12: the status bar, the callee of a callback, how a call was missed -----------------------


def live_call_view(seconds: int = 31) -> StatusView:
    return StatusView(
        operator="王丽",
        state=AgentState.TALKING,
        seconds_in_state=seconds,
        line_state="up",
        waiting=2,
        sync="0",
        now=NOW,
        in_call=True,
        call_seconds=seconds,
    )


async def test_the_status_bar_stays_on_top_and_shows_the_live_call(
    sqlite_store: Store, seeded: Seeded
) -> None:
    # a callback dialled from here is live: the bar at the top says so (walkthrough item 8)
    service = make_service(sqlite_store, RecordingDialer())
    async with opened(service, status_view=live_call_view) as (_app, pilot, screen):
        bar = screen.query_one("#status", StatusBar)
        assert bar.region.y == 0 and bar.region.height == 1  # above the title and the lists
        assert "通话中 00:31" in str(bar.render())  # drawn on mount, before the app's first tick
        bar.show(live_call_view(32))  # what the app does every tick on screens that have a bar
        await pilot.pause()
        assert "通话中 00:32" in str(bar.render())
        await pilot.press("v")  # still there on the other list
        assert screen.query_one("#status", StatusBar).display


async def test_a_callback_carries_the_callees_number_name_and_ticket(
    sqlite_store: Store, seeded: Seeded
) -> None:
    dialer = RecordingDialer()
    async with opened(make_service(sqlite_store, dialer)) as (app, pilot, _screen):
        await pilot.press("d")  # 13812345678 (王先生), a missed call
        await settle(pilot, lambda: len(app.placed) == 1)
        await pilot.press("v", "d")  # the 回访 of 李女士's ticket
        await settle(pilot, lambda: len(app.placed) == 2)
    missed_call, visit = (m.placed for m in app.placed)
    # the stored number: the desk looks the callee's history up by it, not the last caller's
    assert (missed_call.number, missed_call.history_number, missed_call.name) == (
        "13812345678",
        "13812345678",
        "王先生",
    )
    assert missed_call.ticket_id is None and missed_call.kind == "missed"
    assert (visit.number, visit.name, visit.ticket_id) == ("+8613700002222", "李女士", seeded.tickets["heat"])
    assert visit.ref == str(seeded.tickets["heat"])
    # what the desk's history pop reads for the callee (console.services.call_log.ringing_history)
    history = ringing_history(sqlite_store, visit.history_number, exclude_call_id=visit.call_id, now=NOW)
    assert [t.id for t in history.tickets] == [seeded.tickets["heat"]] and history.name == "李女士"
    assert ringing_history(sqlite_store, missed_call.history_number, now=NOW).masked_phone == "138****5678"


async def test_missed_list_tells_ringing_from_queue_with_the_hang_up_time(sqlite_store: Store) -> None:
    # in the queue from 09:35, rang at the seat at 09:39 and the caller hung up then (item 24)
    offered = NOW - dt.timedelta(minutes=25)
    add_missed_call(
        sqlite_store,
        "13100000009",
        offered,
        name="张先生",
        rang_after=dt.timedelta(minutes=3, seconds=50),
        lasted=dt.timedelta(minutes=4, seconds=10),
    )
    # gave up in the queue at 09:45 after 5 minutes, never rang
    add_missed_call(
        sqlite_store, "13100000010", NOW - dt.timedelta(minutes=20), lasted=dt.timedelta(minutes=5)
    )
    async with opened(make_service(sqlite_store, RecordingDialer())) as (_app, _pilot, screen):
        rows = table_rows(screen, "#wl-missed")
        assert [(r[1], r[3], r[5]) for r in rows] == [
            ("13100000010", "11-28 09:45", "排队放弃"),
            ("13100000009", "11-28 09:39", "振铃挂断"),
        ]
        header = [str(c.label) for c in screen.query_one("#wl-missed", DataTable).columns.values()]
        assert header[3] == "挂断时间"
    page = make_service(sqlite_store, RecordingDialer()).missed_page()
    assert [(r.kind, r.offered_at) for r in page.rows] == [
        ("queue", NOW - dt.timedelta(minutes=20)),
        ("ringing", offered),
    ]
