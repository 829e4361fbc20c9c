"""Keys: F1 lists every binding by id, [keymap] remaps them, the palette offers the desk's actions,
English is available, F11 opens the worklists."""

from __future__ import annotations

from helpers.desk_harness import add_operator, desk_of, make_rig, plain, ring, wait_until

from console.app import KEYMAP_SCREENS, HotlineApp
from console.config import Config
from console.keymap import declared
from console.screens.help import HelpScreen
from console.screens.login import LoginScreen
from store.db import Store
from store.vocabulary import AgentState
from telephony.sim import ScriptedCall


def help_row(text: str, binding_id: str) -> list[str]:
    """The cells of the help table's row for ``binding_id`` (id, key, what it does)."""
    rows = [line.split() for line in text.splitlines() if line.split()[:1] == [binding_id]]
    assert len(rows) == 1, (binding_id, rows)
    return rows[0]


async def test_f1_lists_every_binding_id_with_its_key(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, HelpScreen))
        text = plain(rig.app.screen.query_one("#help-table"))
        ids = set(declared((HotlineApp, *KEYMAP_SCREENS)))  # the worklists' and the form's keys too
        assert ids == set(rig.app.keys) and len(ids) == 31
        for binding_id, key in rig.app.keys.items():
            assert [binding_id, key] == help_row(text, binding_id)[:2]
        assert (
            "palette" in text
            and "ctrl+p" in text
            and "[keymap]" in plain(rig.app.screen.query_one("#help-title"))
        )
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(rig.app.screen, HelpScreen))


async def test_keymap_remaps_answer_and_the_panel_says_so(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    config = Config.model_validate({"keymap": {"answer": "ctrl+a", "palette": "ctrl+k"}})
    rig = make_rig(sqlite_store, [ScriptedCall("13800138000", ring_at=0.5)], config=config, auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await ring(rig, pilot, 0.5)
        assert "CTRL+A 接听" in plain(desk_of(rig).query_one("#call-panel"))
        await pilot.press("f5")  # no longer answers
        rig.advance(0)
        await pilot.pause()
        assert rig.app.calls.status.state == AgentState.RINGING
        await pilot.press("ctrl+a")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.TALKING)
        await pilot.press("ctrl+k")  # the palette, on its remapped key
        await wait_until(pilot, lambda: rig.app.screen.__class__.__name__ == "CommandPalette")


async def test_palette_offers_the_desk_actions(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        titles = [c.title for c in rig.app.get_system_commands(rig.app.screen)]
        for text in ("接听 (f5)", "转接 (f7)", "挂断 (f8)", "就绪/示忙 (f9)", "帮助 (f1)"):
            assert text in titles


async def test_english_login_screen(sqlite_store: Store) -> None:
    rig = make_rig(sqlite_store, [], config=Config.model_validate({"ui": {"language": "en"}}))
    async with rig.app.run_test(size=(120, 36)):
        assert isinstance(rig.app.screen, LoginScreen)
        assert "Log in" in plain(rig.app.screen.query_one("#login-title"))


async def test_f11_opens_the_worklists(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang", worklists=True)
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await pilot.press("f11")
        await wait_until(pilot, lambda: rig.app.screen.__class__.__name__ == "WorklistsScreen")


def test_every_text_of_the_desk_exists_in_both_languages() -> None:
    from console.i18n import read_locales

    texts = read_locales()
    assert set(texts["zh_CN"]) == set(texts["en"])


async def test_a_worklist_call_placed_shows_on_the_desk(sqlite_store: Store) -> None:
    import datetime as dt

    from console.screens.worklists import WorklistsScreen
    from console.services.worklists import PlacedCall

    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        call_id = rig.line.dial("13800138009")
        rig.app.post_message(
            WorklistsScreen.CallPlaced(
                PlacedCall(call_id, "missed", "x", "138****8009", dt.datetime.now(dt.UTC))
            )
        )
        await wait_until(pilot, lambda: rig.app.calls.current is not None)
        assert "外呼中" in plain(desk_of(rig).query_one("#call-panel"))
        rig.advance(0.6)  # the citizen answers
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.TALKING)
        await pilot.press("f8")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)


async def test_remapped_desk_and_worklists_keys_work_and_f1_shows_them(sqlite_store: Store) -> None:
    from textual.widgets import TabbedContent
    from textual.widgets._footer import FooterKey

    from console.screens.worklists import WorklistsScreen

    add_operator(sqlite_store)
    config = Config.model_validate({"keymap": {"worklists": "ctrl+o", "worklists_visits": "x"}})
    rig = make_rig(sqlite_store, [], config=config, auto_login="wang", worklists=True)
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await pilot.press("f1")  # the help shows the keys as configured
        await wait_until(pilot, lambda: isinstance(rig.app.screen, HelpScreen))
        text = plain(rig.app.screen.query_one("#help-table"))
        assert help_row(text, "worklists") == ["worklists", "ctrl+o", "工作清单"]
        assert help_row(text, "worklists_visits") == ["worklists_visits", "x", "回访"]
        assert help_row(text, "answer") == ["answer", "f5", "接听"]
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(rig.app.screen, HelpScreen))
        await pilot.press("f11")  # the desk's old key does nothing now
        await pilot.pause()
        assert not isinstance(rig.app.screen, WorklistsScreen)
        await pilot.press("ctrl+o")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, WorklistsScreen))
        screen = rig.app.screen
        assert isinstance(screen, WorklistsScreen)
        tabs = screen.query_one(TabbedContent)
        await wait_until(pilot, lambda: screen.loads > 0)
        await pilot.press("v")  # the worklists' old key does nothing now
        await pilot.pause()
        assert tabs.active == "missed"
        await pilot.press("x")
        await wait_until(pilot, lambda: tabs.active == "visits")
        shown = {k.key: k.description for k in screen.query(FooterKey)}
        assert shown.get("x") == "回访" and "v" not in shown  # the footer says so too


async def test_english_footer_and_palette(sqlite_store: Store) -> None:
    from textual.widgets._footer import FooterKey

    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store, [], config=Config.model_validate({"ui": {"language": "en"}}), auto_login="wang"
    )
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await wait_until(pilot, lambda: bool(desk_of(rig).query(FooterKey)))
        shown = {k.key: k.description for k in desk_of(rig).query(FooterKey)}
        assert shown["f5"] == "Answer" and shown["f1"] == "Help" and shown["ctrl+q"] == "Quit"
        titles = [c.title for c in rig.app.get_system_commands(rig.app.screen)]
        assert "Answer (f5)" in titles and "Classify (ctrl+f)" in titles


async def test_remapped_save_moves_the_ticket_forms_ctrl_s(sqlite_store: Store) -> None:
    """Ctrl+S is the form's own binding (id "save"): [keymap] save moves it on the desk too."""
    from helpers.desk_harness import answer
    from helpers.ticket_host import fill_heating_request

    add_operator(sqlite_store)
    config = Config.model_validate({"keymap": {"save": "ctrl+e"}})  # an Input binds it too
    script = [ScriptedCall("13904121037", ring_at=0.5, hangup_after=600)]
    rig = make_rig(sqlite_store, script, config=config, auto_login="wang", form=True)
    async with rig.app.run_test(size=(160, 60)) as pilot:
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        form = desk_of(rig).form
        await wait_until(pilot, lambda: rig.app.focused is form.picker.search_box)
        await fill_heating_request(pilot, form)
        await pilot.press("ctrl+s")  # no longer saves
        for _ in range(5):
            await pilot.pause(0.05)
        assert rig.app.calls.current is not None and rig.app.calls.current.ticket_id is None
        await pilot.press("ctrl+e")  # the form's binding wins over the focused Input's "end"
        await wait_until(pilot, lambda: rig.app.calls.current.ticket_id is not None)
