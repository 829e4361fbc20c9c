"""The desk from 80x24 to 180x50: fields keep a usable width, the status bar keeps the state, timer
and clock, toasts keep every CJK character and stay off the form, dialogs leave the caller, the timer
and the bar in view, and the bar's timer is the call's talk time (the call panel's) with mute marked.

The real app on a SimLine (``helpers.desk_harness``), measured through the regions Textual laid out.
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from helpers.desk_harness import (
    CALLER,
    FIXED,
    Rig,
    add_operator,
    answer,
    desk_of,
    make_config,
    make_rig,
    plain,
    ring,
    seed_history,
    wait_until,
)
from rich.cells import cell_len
from rich.console import Console
from textual.app import App, ComposeResult
from textual.containers import Vertical
from textual.renderables.digits import Digits as DigitsRenderable
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Select
from textual.widgets._toast import Toast

from console.i18n import Translator
from console.screens.dialogs import DtmfDialog, PauseReasonDialog, TransferDialog
from console.widgets.ringing import RingingPop
from console.widgets.status_bar import StatusBar, StatusView
from console.widgets.ticket_form import TicketForm
from console.widgets.ticket_form_parts import ReadbackDigits, readback_digits
from store.db import Store
from store.vocabulary import AgentState
from telephony.sim import ScriptedCall

SIZES = [(80, 24), (100, 30), (132, 40), (180, 50)]
LANGUAGES = ["zh_CN", "en"]
TALKING = {"zh_CN": "通话中", "en": "Talking"}
# what a save needs: the 五要素 and the selects, the description, 直接办结 and the status line that
# says what is missing
SAVE_WIDGETS = (
    "#nature",
    "#board",
    "#urgency",
    "#picker",
    "#district",
    "#address",
    "#when",
    "#caller-name",
    "#caller-phone",
    "#consent",
    "#description",
    "#direct",
    "#form-status",
)
TOAST = "通话结束后将示忙（小休）"
CALLER_NAME = ""  # the line gives no name: the form's name field stays empty, the same at every size


def screen_lines(app: App[Any]) -> list[str]:
    """The terminal's text as drawn, the screens under a modal one included."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), color_system=None, record=True)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text().splitlines()


async def in_a_call(pilot: Any, rig: Rig, talk_seconds: float = 65) -> None:
    """The caller's history shown, the call answered and talking for ``talk_seconds``."""
    await ring(rig, pilot, 1.0)
    await wait_until(pilot, lambda: rig.app.screen.query_one(RingingPop).history is not None)
    await answer(rig, pilot)
    await wait_until(pilot, lambda: desk_of(rig).query(TicketForm))
    rig.clock.advance(talk_seconds)
    desk_of(rig).tick()
    await pilot.pause()


def desk_rig(store: Store, language: str = "zh_CN") -> Rig:
    add_operator(store)
    seed_history(store)
    return make_rig(
        store,
        [ScriptedCall(CALLER, CALLER_NAME, ring_at=1.0)],
        config=make_config(language=language),
        auto_login="wang",
        form=True,
    )


def visible_in(outer: Widget, inner: Widget) -> bool:
    return outer.region.contains_region(inner.region)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_every_size_keeps_the_form_usable_and_the_state_in_the_bar(
    sqlite_store: Store, size: tuple[int, int], language: str
) -> None:
    rig = desk_rig(sqlite_store, language)
    async with rig.app.run_test(size=size) as pilot:
        await in_a_call(pilot, rig)
        desk = desk_of(rig)
        form = desk.query_one(TicketForm)

        phone = form.query_one("#caller-phone")
        assert phone.region.width >= 13
        assert phone.content_region.width >= 12  # a whole 11-digit number and the cursor after it

        for select in form.query(Select):  # one line of text in its box: never wrapped
            assert select.outer_size.height == 3, select.id

        bar = desk.query_one(StatusBar)
        shown = plain(bar)
        assert f"{TALKING[language]} 01:05" in shown and "09:31:" in shown
        assert cell_len(shown.rstrip("\n")) <= bar.content_size.width

        left, slot = desk.query_one("#desk-left"), desk.query_one("#ticket-form-slot")
        assert left.region.width >= 32 and slot.region.width >= left.region.width

        for selector in SAVE_WIDGETS:  # within the screen, or brought into it by the form's scroll
            widget = form.query_one(selector)
            form.scroll_to_widget(widget, animate=False)
            await pilot.pause()
            assert visible_in(form, widget), (selector, widget.region, form.region)
            assert rig.app.screen.region.contains_region(widget.region), selector


TOAST_SIZES = [(80, 24), (100, 30), (133, 40), (200, 60)]


@pytest.mark.parametrize("size", TOAST_SIZES, ids=[f"{w}x{h}" for w, h in TOAST_SIZES])
async def test_toasts_keep_every_cjk_character_and_stay_off_the_form(
    sqlite_store: Store, size: tuple[int, int]
) -> None:
    rig = desk_rig(sqlite_store)
    async with rig.app.run_test(size=size, notifications=True) as pilot:
        await in_a_call(pilot, rig)
        rig.app.clear_notifications()
        rig.app.notify(TOAST * 2)
        await wait_until(pilot, lambda: rig.app.screen.query(Toast))
        await pilot.pause()
        toast = rig.app.screen.query_one(Toast)
        strips = rig.app.screen._compositor.render_strips()
        region = toast.content_region
        drawn = "".join(
            strips[y].crop(region.x, region.right).text.strip() for y in range(region.y, region.bottom)
        )
        assert drawn == TOAST * 2
        desk = desk_of(rig)
        assert not toast.region.overlaps(desk.query_one("#ticket-form-slot").region)
        # the text ends where the left column's boxes have their inner edges (border and padding)
        assert toast.region.x == 0 and region.right <= desk.query_one("#desk-left").region.right - 2


@pytest.mark.parametrize(
    ("key", "dialog"), [("f12", DtmfDialog), ("f7", TransferDialog), ("f10", PauseReasonDialog)]
)
@pytest.mark.parametrize("size", [(80, 24), (132, 40)], ids=["80x24", "132x40"])
async def test_dialogs_leave_the_caller_the_timer_and_the_bar_in_view(
    sqlite_store: Store, size: tuple[int, int], key: str, dialog: type[ModalScreen[Any]]
) -> None:
    rig = desk_rig(sqlite_store)
    async with rig.app.run_test(size=size) as pilot:
        await in_a_call(pilot, rig)
        desk = desk_of(rig)
        await pilot.press(key)
        await wait_until(pilot, lambda: isinstance(rig.app.screen, dialog))
        screen = rig.app.screen
        assert screen.styles.background.a < 1  # the desk shows through
        box = screen.query_one(Vertical).region
        for part in ("#status", "#call-panel"):
            assert not box.overlaps(desk.query_one(part).region), part
        rig.clock.advance(5)  # the desk's timer keeps running under the dialog
        desk.tick()
        await pilot.pause()
        text = "\n".join(screen_lines(rig.app))
        assert CALLER in text and "通话中 01:10" in text and "通话时长 01:10" in text


async def test_the_bar_and_the_call_panel_agree_after_hold_and_resume(sqlite_store: Store) -> None:
    rig = desk_rig(sqlite_store)
    async with rig.app.run_test(size=(132, 40)) as pilot:
        await in_a_call(pilot, rig, talk_seconds=30)
        desk = desk_of(rig)
        await pilot.press("f6")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.HELD)
        rig.clock.advance(10)
        await pilot.press("f6")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.TALKING)
        rig.clock.advance(4)
        desk.tick()
        await pilot.pause()
        talk = rig.app.calls.call_seconds()
        assert talk >= 44
        clock = f"{talk // 60:02d}:{talk % 60:02d}"
        assert f"通话中 {clock}" in plain(desk.query_one(StatusBar))
        assert clock in plain(desk.query_one("#call-panel"))


async def test_mute_is_marked_and_coloured_on_the_bar(sqlite_store: Store) -> None:
    rig = desk_rig(sqlite_store)
    async with rig.app.run_test(size=(100, 30)) as pilot:
        await in_a_call(pilot, rig)
        bar = desk_of(rig).query_one(StatusBar)
        assert not bar.has_class("muted") and "已静音" not in plain(bar)
        background = bar.styles.background
        await pilot.press("f4")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.current.muted)
        desk_of(rig).refresh_view()
        await pilot.pause()
        assert bar.has_class("muted") and "已静音" in plain(bar)
        assert bar.styles.background != background


async def test_a_narrow_ringing_pop_shows_whole_ticket_numbers(sqlite_store: Store) -> None:
    rig = desk_rig(sqlite_store)
    number = "AS20261125000001"  # seed_history's ticket
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await in_a_call(pilot, rig)
        await pilot.pause()
        assert any(number in line for line in screen_lines(rig.app))


# -- the status bar alone -------------------------------------------------------------------------


class BarHost(App[None]):
    def __init__(self, language: str = "zh_CN") -> None:
        super().__init__()
        self.tr = Translator.load(language)  # type: ignore[arg-type]

    def compose(self) -> ComposeResult:
        yield StatusBar(self.tr, id="status")


def view(**changes: Any) -> StatusView:
    base: dict[str, Any] = {
        "operator": "王丽",
        "state": AgentState.TALKING,
        "seconds_in_state": 3,
        "line_state": "up",
        "waiting": 2,
        "sync": "待发 0",
        "now": FIXED + dt.timedelta(seconds=5),
        "in_call": True,
        "call_seconds": 125,
    }
    return StatusView(**{**base, **changes})


async def test_in_a_call_the_bar_times_the_call_not_the_state() -> None:
    app = BarHost()
    async with app.run_test(size=(140, 5)) as pilot:
        bar = app.query_one(StatusBar)
        bar.show(view(state=AgentState.HELD))
        await pilot.pause()
        assert "保持 02:05" in plain(bar) and "00:03" not in plain(bar)
        bar.show(view(state=AgentState.WRAP_UP, in_call=False, seconds_in_state=7))
        assert "话后整理 00:07" in plain(bar)


@pytest.mark.parametrize(("language", "mark"), [("zh_CN", "已静音"), ("en", "MUTED")])
async def test_the_mute_mark_speaks_the_ui_language(language: str, mark: str) -> None:
    app = BarHost(language)
    async with app.run_test(size=(140, 5)) as pilot:
        bar = app.query_one(StatusBar)
        bar.show(view(muted=True))
        await pilot.pause()
        assert mark in plain(bar) and bar.has_class("muted")
        bar.show(view(muted=False))
        assert mark not in plain(bar) and not bar.has_class("muted")


@pytest.mark.parametrize(
    ("language", "labelled", "foreign"), [("zh_CN", "排队：2", ": "), ("en", "Waiting: 2", "：")]
)
async def test_the_bar_punctuates_in_the_ui_language(language: str, labelled: str, foreign: str) -> None:
    app = BarHost(language)
    async with app.run_test(size=(160, 5)) as pilot:
        bar = app.query_one(StatusBar)
        bar.show(view(operator="op1"))
        await pilot.pause()
        assert labelled in plain(bar) and foreign not in plain(bar)


@pytest.mark.parametrize("width", [80, 60, 40])
async def test_a_narrow_bar_drops_the_minor_parts_first(width: int) -> None:
    app = BarHost()
    async with app.run_test(size=(width, 5)) as pilot:
        bar = app.query_one(StatusBar)
        bar.show(view(muted=True, pending_pause="用餐"))
        await pilot.pause()
        shown = plain(bar).rstrip("\n")
        assert cell_len(shown) <= bar.content_size.width
        assert "通话中 02:05" in shown and "已静音" in shown and "09:30:05" in shown
        if "话务员" in shown:  # the operator goes only after sync
            assert "同步" in shown or width < 80


async def test_a_line_down_is_never_dropped_from_the_bar() -> None:
    app = BarHost()
    async with app.run_test(size=(40, 5)) as pilot:
        bar = app.query_one(StatusBar)
        bar.show(view(line_state="down"))
        await pilot.pause()
        assert "断开" in plain(bar) and bar.has_class("line-down")


async def test_a_resize_refits_the_bar() -> None:
    app = BarHost()
    async with app.run_test(size=(40, 5)) as pilot:
        bar = app.query_one(StatusBar)
        bar.show(view())
        await pilot.pause()
        assert "同步" not in plain(bar)
        await pilot.resize_terminal(160, 5)
        await pilot.pause()
        assert "同步：待发 0" in plain(bar) and "话务员：王丽" in plain(bar)


# -- the read-back digits -------------------------------------------------------------------------


class DigitsHost(App[None]):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.box_width = width

    def compose(self) -> ComposeResult:
        with Vertical():
            yield ReadbackDigits("", id="digits")

    def on_mount(self) -> None:
        box = self.query_one(Vertical)
        box.styles.width = self.box_width  # 41: the saved box of the form at 80 columns
        box.styles.height = "auto"


@pytest.mark.parametrize(("width", "rows"), [(41, ["20261202", "000040"]), (45, ["20261202 000040"])])
async def test_the_read_back_digits_take_two_rows_rather_than_lose_digits(
    width: int, rows: list[str]
) -> None:
    app = DigitsHost(width)
    async with app.run_test(size=(100, 12)) as pilot:
        digits = app.query_one(ReadbackDigits)
        digits.update(readback_digits("AS20261202000040"))
        await pilot.pause()
        assert digits.rows(digits.content_size.width) == rows
        assert digits.size.height == 3 * len(rows)
        assert all(DigitsRenderable.get_width(row) <= width for row in rows)
