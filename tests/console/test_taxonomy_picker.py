"""The taxonomy picker alone under Pilot, with the real search over the built-in taxonomy: Ctrl+F's
focus puts the cursor after the query (nothing selected, so typing goes on), a digit typed into an
empty search lists nothing (a code search starts at three digits) and picks only while results are
listed, Alt+digit neither picks nor types, and the chosen message offers the caller's sentence."""

from __future__ import annotations

from collections.abc import Sequence

from helpers.ticket_fixtures import HEATING, make_desk, operator
from helpers.ticket_host import wait_for
from textual import events
from textual.app import App, ComposeResult
from textual.widgets import Input

from console.i18n import Language, Translator
from console.services.ticket_service import TicketService
from console.widgets.taxonomy_picker import MIN_CODE_DIGITS, TaxonomyPicker
from store.db import Store
from taxonomy.search import Result

SIZE = (120, 30)


class PickerHost(App[None]):
    """One picker and one other input (to take the focus away); records searches and choices."""

    def __init__(self, tickets: TicketService, language: Language = "zh_CN") -> None:
        super().__init__()
        self.tickets = tickets
        self.tr = Translator.load(language)
        self.searched: list[str] = []
        self.chosen: list[TaxonomyPicker.Chosen] = []

    def search(self, query: str, limit: int) -> Sequence[Result]:
        self.searched.append(query)
        return self.tickets.search(query, limit)

    def compose(self) -> ComposeResult:
        yield TaxonomyPicker(self.search, self.tr, self.tickets.department_name, id="picker")
        yield Input(id="other")

    @property
    def picker(self) -> TaxonomyPicker:
        return self.query_one(TaxonomyPicker)

    def on_taxonomy_picker_chosen(self, message: TaxonomyPicker.Chosen) -> None:
        self.chosen.append(message)


def host(store: Store, language: Language = "zh_CN") -> PickerHost:
    return PickerHost(make_desk(store, operator(store)), language)


async def test_focus_search_puts_the_cursor_after_the_query(sqlite_store: Store) -> None:
    app = host(sqlite_store)
    async with app.run_test(size=SIZE) as pilot:
        picker = app.picker
        picker.focus_search()
        await pilot.press(*"nqb")
        app.query_one("#other", Input).focus()
        await pilot.pause()
        picker.focus_search()
        await pilot.pause()
        box = picker.search_box
        assert box.selection.is_empty and box.cursor_position == len("nqb")
        await pilot.press("r")  # goes on after the query; select-all would have wiped it
        await pilot.pause()
        assert picker.query_text == "nqbr" and picker.results_view.results[0].code == HEATING
        await pilot.press("1")  # results listed: the digit still picks
        await pilot.pause()
        assert [(c.result.code, c.query, c.rank) for c in app.chosen] == [(HEATING, "nqbr", 1)]


async def test_a_digit_in_an_empty_search_lists_nothing_and_picks_nothing(sqlite_store: Store) -> None:
    app = host(sqlite_store)
    async with app.run_test(size=SIZE) as pilot:
        picker = app.picker
        picker.focus_search()
        await pilot.press("1")
        await pilot.pause()
        assert picker.results_view.results == () and app.chosen == []
        assert app.searched == []  # not a query: the search never ran
        assert picker.results_view.empty_text == app.tr.t("picker.code_hint", min=MIN_CODE_DIGITS)
        await pilot.press("0", "1")  # three digits: a code search, as before
        await wait_for(pilot.pause, lambda: bool(picker.results_view.results))
        assert picker.query_text == "101" and app.searched == ["101"] and app.chosen == []
        assert all(r.code.startswith("101") for r in picker.results_view.results)


async def test_alt_digit_neither_picks_nor_types(sqlite_store: Store) -> None:
    app = host(sqlite_store)
    async with app.run_test(size=SIZE) as pilot:
        picker = app.picker
        picker.focus_search()
        await pilot.press(*"nqbr")
        await pilot.pause()
        assert picker.results_view.results
        # as the terminal parser sends it (ESC 1): key alt+1 with the character 1 (Pilot gives none)
        picker.search_box.post_message(events.Key("alt+1", "1"))
        await pilot.pause()
        assert picker.query_text == "nqbr" and app.chosen == []


async def test_chosen_offers_the_callers_sentence_as_the_description(sqlite_store: Store) -> None:
    app = host(sqlite_store)
    async with app.run_test(size=SIZE) as pilot:
        picker = app.picker
        picker.focus_search()
        picker.search_box.value = "家里暖气不热，屋里只有十五度"  # an IME commit: one Changed
        await wait_for(pilot.pause, lambda: bool(picker.results_view.results))
        await pilot.press("enter")
        await pilot.pause()
        picker.search_box.value = "nqbr"
        await wait_for(pilot.pause, lambda: picker.results_view.results[0].code == HEATING)
        await pilot.press("1")
        await pilot.pause()
        assert [c.description for c in app.chosen] == ["家里暖气不热，屋里只有十五度", None]
