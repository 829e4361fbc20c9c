"""Keys: F1 lists every binding by id, [keymap] remaps them, the palette offers the desk's actions,
English is available, F11 opens the worklists."""

from __future__ import annotations

from desk_harness import add_operator, desk_of, make_rig, plain, ring, wait_until

from console import wiring
from console.config import Config
from console.screens.help import HelpScreen
from console.screens.login import LoginScreen
from store.db import Store
from telephony.sim import ScriptedCall


async def test_f1_lists_every_binding_id_with_its_key(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, HelpScreen))
        text = plain(rig.app.screen.query_one("#help-table"))
        for binding_id in rig.app.config.keymap.model_dump():  # the worklists' keys too
            assert binding_id in text
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
        assert rig.app.desk.status.state == "振铃"
        await pilot.press("ctrl+a")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.desk.status.state == "通话中")
        await pilot.press("ctrl+k")  # the palette, on its remapped key
        await wait_until(pilot, lambda: rig.app.screen.__class__.__name__ == "CommandPalette")


async def test_palette_offers_the_desk_actions(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.desk.status.state == "就绪")
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
    rig = make_rig(sqlite_store, [], auto_login="wang", worklists=wiring.worklists)
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.desk.status.state == "就绪")
        await pilot.press("f11")
        await wait_until(pilot, lambda: rig.app.screen.__class__.__name__ == "WorklistsScreen")


def test_every_text_of_the_desk_exists_in_both_languages() -> None:
    from console.app import CATALOGUES

    for catalogue in CATALOGUES:
        assert set(catalogue["zh_CN"]) == set(catalogue["en"])


async def test_a_worklist_call_placed_shows_on_the_desk(sqlite_store: Store) -> None:
    import datetime as dt

    from console.screens.worklists import WorklistsScreen
    from console.services.worklists import PlacedCall

    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.desk.status.state == "就绪")
        call_id = rig.line.dial("13800138009")
        rig.app.post_message(
            WorklistsScreen.CallPlaced(
                PlacedCall(call_id, "missed", "x", "138****8009", dt.datetime.now(dt.UTC))
            )
        )
        await wait_until(pilot, lambda: rig.app.desk.current is not None)
        assert "外呼中" in plain(desk_of(rig).query_one("#call-panel"))
        rig.advance(0.6)  # the citizen answers
        await wait_until(pilot, lambda: rig.app.desk.status.state == "通话中")
        await pilot.press("f8")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.desk.status.state == "话后整理")
