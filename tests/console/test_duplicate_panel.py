"""DuplicatePanel on a real Textual app at 80×24 (Pilot): the choices are visible below a form taller
than the screen, "new ticket" is highlighted first, the keys move through the choices (skipping the
candidates' headings), Enter and Esc post ``Chosen``, and only what the store allows is offered."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widgets import OptionList, Static

from console.i18n import Language, Translator
from console.widgets.duplicate_panel import LIST_HEIGHT, DuplicatePanel, read_back
from store.duplicates import Duplicate, Offer

SIZE = (80, 24)
T0 = dt.datetime(2026, 11, 29, 6, 49, tzinfo=dt.UTC)  # 11-29 14:49 in Anshan


def dup(number: str, status: str, offers: tuple[Offer, ...], *, caller: bool = False, **kw: Any) -> Duplicate:
    duplicate = "merge" in offers or "reopen" in offers or "link_new" in offers
    return Duplicate(
        ticket_id=int(number[-4:]),
        number=number,
        status=status,
        created_at=T0,
        leaf_code="116001",
        address="兴盛路88号",
        same_caller=caller,
        same_place=duplicate,
        same_matter=duplicate,
        same_leaf=duplicate,
        offers=offers,
        **kw,
    )


OPEN = dup("AS20261201000001", "已派单", ("merge", "follow"), caller=True)
CLOSED = dup("AS20261201000002", "已回访", ("reopen", "link_new"))
CALLER_ONLY = dup("AS20261129000011", "已回访", ("follow",), caller=True)
MANY = [dup(f"AS2026120100{i:04d}", "已受理", ("merge",)) for i in range(10, 18)]


class PanelHost(App[None]):
    """The panel at the bottom of a scrolling column taller than the screen, as in the ticket form."""

    def __init__(self, language: Language = "zh_CN", *, rehandle_directly: bool = False) -> None:
        super().__init__()
        self.tr = Translator.load(language)
        self.rehandle_directly = rehandle_directly
        self.chosen: list[DuplicatePanel.Chosen] = []

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="column"):
            yield Static("\n".join(f"field {i}" for i in range(40)), id="fields")
            yield DuplicatePanel(self.tr, rehandle_directly=self.rehandle_directly, id="dup-panel")

    @property
    def panel(self) -> DuplicatePanel:
        return self.query_one(DuplicatePanel)

    def on_duplicate_panel_chosen(self, message: DuplicatePanel.Chosen) -> None:
        self.chosen.append(message)


def ids(panel: DuplicatePanel) -> list[str | None]:
    options = panel.options
    return [options.get_option_at_index(i).id for i in range(options.option_count)]


def highlighted(panel: DuplicatePanel) -> str | None:
    options = panel.options
    assert options.highlighted is not None
    return options.get_option_at_index(options.highlighted).id


def prompt(panel: DuplicatePanel, index: int) -> str:
    return str(panel.options.get_option_at_index(index).prompt)


def on_screen(app: App[Any], region: Region) -> bool:
    return Region(0, 0, *SIZE).contains_region(region) and region.area > 0


async def test_choices_visible_at_80x24_new_first_and_keys_move() -> None:
    app = PanelHost()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.panel
        assert not panel.is_open and panel.region.area == 0  # hidden until offered
        panel.offer([OPEN, CLOSED, CALLER_ONLY])
        await pilot.pause()
        await pilot.pause()
        options = panel.options
        # the whole panel, title and list, is inside the 80×24 screen although it sits below 40 lines
        assert on_screen(app, panel.region) and on_screen(app, options.region)
        assert on_screen(app, panel.query_one("#dup-title").region)
        assert app.focused is options and highlighted(panel) == "new"
        assert ids(panel) == [
            "new",
            None,  # OPEN's heading
            f"merge:{OPEN.number}",
            f"follow:{OPEN.number}",
            None,
            f"reopen:{CLOSED.number}",
            f"link_new:{CLOSED.number}",
            None,
            f"follow:{CALLER_ONLY.number}",
            "cancel",
        ]
        assert prompt(panel, 0) == "新建工单（不是重复）"
        assert prompt(panel, 1) == f"{OPEN.number}  已派单  11-29 14:49  同一来电人、同一事项、同一地址"
        assert prompt(panel, 4).endswith("已回访  11-29 14:49  同一事项、同一地址")
        assert prompt(panel, 5).strip() == f"申请重办 {CLOSED.number}"  # an operator requests 重办
        assert prompt(panel, 7).endswith("同一来电人")  # the same caller alone: a follow-up only
        # Down skips the headings; Up from the first choice wraps to the last
        await pilot.press("down")
        assert highlighted(panel) == f"merge:{OPEN.number}"
        await pilot.press("down", "down")
        assert highlighted(panel) == f"reopen:{CLOSED.number}"
        await pilot.press("up", "up", "up")
        assert highlighted(panel) == "new"
        await pilot.press("up")
        assert highlighted(panel) == "cancel"
        await pilot.press("home")
        assert highlighted(panel) == "new"
        assert app.chosen == []
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert [(c.verb, c.number) for c in app.chosen] == [("follow", OPEN.number)]
        assert not panel.is_open


async def test_a_long_list_scrolls_with_page_down_and_stays_on_screen() -> None:
    app = PanelHost()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.panel
        panel.offer(MANY)  # 1 + 8 × 2 + 1 = 18 lines: more than the list shows
        await pilot.pause()
        await pilot.pause()
        options = panel.options
        assert options.option_count == 18 and options.region.height <= LIST_HEIGHT
        assert on_screen(app, panel.region) and options.scroll_y == 0
        await pilot.press("pagedown")
        await pilot.pause()
        after_page = options.highlighted
        assert after_page is not None and after_page >= LIST_HEIGHT - 2
        await pilot.press("end")
        await pilot.pause()
        assert highlighted(panel) == "cancel" and options.scroll_y > 0  # scrolled to show the last choice
        assert on_screen(app, panel.region)  # the panel itself did not move off the screen
        await pilot.press("pageup", "pageup", "pageup")
        await pilot.pause()
        assert highlighted(panel) == "new" and options.scroll_y == 0
        await pilot.press("enter")
        await pilot.pause()
        assert [(c.verb, c.number) for c in app.chosen] == [("new", None)]


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        (("escape",), ("cancel", None)),
        (("end", "enter"), ("cancel", None)),
        (("down", "enter"), ("merge", OPEN.number)),
        (("down", "down", "down", "enter"), ("link_new", CLOSED.number)),
    ],
    ids=["escape", "back", "merge", "link_new"],
)
async def test_enter_and_escape_post_the_choice(keys: tuple[str, ...], expected: tuple[str, Any]) -> None:
    app = PanelHost("en", rehandle_directly=True)
    async with app.run_test(size=SIZE) as pilot:
        panel = app.panel
        panel.offer([dup(OPEN.number, "已派单", ("merge",)), CLOSED])
        await pilot.pause()
        assert prompt(panel, 0) == "New ticket (not a duplicate)"
        assert prompt(panel, 4).strip() == f"Re-handle {CLOSED.number}"  # a supervisor re-handles
        assert prompt(panel, 3).endswith("followed up  11-29 14:49  same matter, same address")
        await pilot.press(*keys)
        await pilot.pause()
        assert [(c.verb, c.number) for c in app.chosen] == [expected]
        await pilot.press("escape")  # closed: a second Esc is not a second choice
        await pilot.pause()
        assert len(app.chosen) == 1


async def test_offered_again_starts_from_new_ticket() -> None:
    app = PanelHost()
    async with app.run_test(size=SIZE) as pilot:
        panel = app.panel
        panel.offer([OPEN])
        await pilot.pause()
        await pilot.press("down")
        panel.offer([CALLER_ONLY])
        await pilot.pause()
        assert highlighted(panel) == "new" and ids(panel) == [
            "new",
            None,
            f"follow:{CALLER_ONLY.number}",
            "cancel",
        ]
        assert isinstance(app.focused, OptionList)


def test_read_back_names_the_parent_after_a_merge() -> None:
    zh = Translator.load("zh_CN")
    merged = read_back(zh, "merged", "AS20261202000044", "AS20261201000001")
    assert merged.number == "AS20261201000001"
    assert "请向来电人报工单号 AS20261201000001" in merged.text and "AS20261202000044" in merged.text
    linked = read_back(zh, "linked", "AS20261202000044", "AS20261129000011")
    assert linked.number == "AS20261202000044" and "AS20261129000011" in linked.text
    assert read_back(zh, "requested", "AS20261129000011").number == "AS20261129000011"
    en = read_back(Translator.load("en"), "follow", "AS20261129000011")
    assert en.text == "Follow-up call on AS20261129000011: read AS20261129000011 to the caller"
