"""Keys: F1 lists every key in words, [keymap] remaps them, the palette offers the desk's actions in
the operator's language (and by pinyin), the footer shows what works now in one order, English is
available, F11 opens the worklists, Ctrl+Q quits at once only when nothing would be lost."""

from __future__ import annotations

import re
from typing import Any

from helpers.desk_harness import Rig, add_operator, answer, desk_of, make_rig, plain, ring, wait_until
from rich.align import Align
from textual.command import CommandInput, CommandList
from textual.widgets._footer import FooterKey

from console.app import HELP_GROUPS, KEYMAP_SCREENS, HotlineApp
from console.config import Config
from console.i18n import Translator
from console.keymap import declared, key_label, key_rank
from console.screens.help import HelpScreen
from console.screens.login import LoginScreen
from console.screens.quit_confirm import QuitConfirm
from store.db import Store
from store.vocabulary import AgentState
from telephony.sim import ScriptedCall

ASCII_WORD = re.compile(r"[A-Za-z]{2,}")
KEY_IN_TITLE = re.compile(r" \([^)]*\)$")  # "接听 (F5)": the key, written as on the keyboard


def help_lines(rig: Rig) -> list[str]:
    return [
        line.rstrip() for line in plain(rig.app.screen.query_one("#help-table")).splitlines() if line.strip()
    ]


def footer(screen: Any) -> list[tuple[str, str]]:
    """(key, text) of the footer keys, left to right (the palette's, docked right, last)."""
    return [(k.key, k.description) for k in screen.query(FooterKey)]


def palette_rows(rig: Rig) -> list[str]:
    """The command palette's options as shown (title and help line)."""
    commands = rig.app.screen.query_one(CommandList)
    prompts = [commands.get_option_at_index(i).prompt for i in range(commands.option_count)]
    # "no matches" is a centred text (rich Align), the commands are Content
    return [str(p.renderable) if isinstance(p, Align) else str(p) for p in prompts]


async def open_palette(rig: Rig, pilot: Any) -> None:
    await pilot.press("ctrl+p")
    await wait_until(pilot, lambda: rig.app.screen.__class__.__name__ == "Palette")
    await wait_until(pilot, lambda: rig.app.screen.query_one(CommandList).option_count > 0)


async def test_f1_lists_every_key_and_what_it_does_in_words(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    tr = Translator.load("zh_CN")
    async with rig.app.run_test(size=(140, 50)) as pilot:
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, HelpScreen))
        lines = help_lines(rig)
        ids = set(declared((HotlineApp, *KEYMAP_SCREENS)))  # the worklists' and the form's keys too
        assert ids == set(rig.app.keys)
        for title, owner in HELP_GROUPS:
            assert tr.t(title) in lines
            for binding_id, binding in declared((owner,)).items():
                row = f"{key_label(rig.app.keys[binding_id])} {tr.t(binding.description)}"
                assert any(" ".join(line.split()) == row for line in lines), row
        text = "\n".join(lines)
        for binding_id in ids:  # [keymap]'s names mean nothing to an operator
            assert not re.search(rf"(?<![A-Za-z_]){binding_id}(?![A-Za-z_])", text), binding_id
        words = [line.split(maxsplit=1)[-1] for line in lines[1:]]  # past the key column
        assert not [w for w in words if ASCII_WORD.search(w)]
        assert "F5" in text and "Ctrl+P" in text and "Ctrl+S" in text and "caller_history" not in text
        assert "[keymap]" in plain(rig.app.screen.query_one("#help-title"))
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(rig.app.screen, HelpScreen))


async def test_f1_keeps_the_status_bar_with_the_live_call(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store, [ScriptedCall("13800138000", ring_at=0.5, hangup_after=600)], auto_login="wang"
    )
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, HelpScreen))
        bar = rig.app.screen.query_one("#status")
        await wait_until(pilot, lambda: "王丽" in plain(bar))  # drawn when the screen came up
        assert "通话中" in plain(bar)
        rig.advance(5)  # and on the app's tick
        rig.app._tick()
        assert "00:05" in plain(bar)


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
        await wait_until(pilot, lambda: rig.app.screen.__class__.__name__ == "Palette")


async def test_palette_offers_the_desk_actions_explained_in_words(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store, [ScriptedCall("13800138000", ring_at=0.5, hangup_after=600)], auto_login="wang"
    )
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        commands = list(rig.app.get_system_commands(rig.app.screen))
        titles = [c.title for c in commands]
        for text in ("转接 (F7)", "挂断 (F8)", "就绪/示忙 (F9)", "帮助 (F1)", "退出 (Ctrl+Q)"):
            assert text in titles
        helps = {c.title: c.help for c in commands}
        assert helps["帮助 (F1)"] == "列出所有快捷键及其功能"
        for command in commands:  # a sentence, not the binding id
            assert command.help and not ASCII_WORD.search(command.help), command


async def test_the_chinese_palette_has_no_english(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await open_palette(rig, pilot)
        assert rig.app.screen.query_one(CommandInput).placeholder == "搜索命令（可输入拼音或首字母）…"
        rows = palette_rows(rig)
        assert any(row.startswith("退出 (Ctrl+Q)") for row in rows)
        for row in rows:  # Textual's Keys, Maximize, Quit, Screenshot, Theme are not there
            assert not ASCII_WORD.search(KEY_IN_TITLE.sub("", row.splitlines()[0])), row
            assert not ASCII_WORD.search("\n".join(row.splitlines()[1:])), row
        await pilot.press(*"qqqzz")
        await wait_until(pilot, lambda: "没有匹配的命令" in palette_rows(rig))


async def test_the_palette_matches_pinyin(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang", form=True)
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await open_palette(rig, pilot)
        await pilot.press(*"xinjian")
        await wait_until(pilot, lambda: any(r.startswith("新建工单 (Ctrl+N)") for r in palette_rows(rig)))
        await pilot.press(*["backspace"] * 7, *"gzqd")  # 工作清单 by its initials
        await wait_until(pilot, lambda: palette_rows(rig)[:1] and palette_rows(rig)[0].startswith("工作清单"))


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

    from console.screens.worklists import WorklistsScreen

    add_operator(sqlite_store)
    config = Config.model_validate({"keymap": {"worklists": "ctrl+o", "worklists_visits": "x"}})
    rig = make_rig(sqlite_store, [], config=config, auto_login="wang", worklists=True)
    async with rig.app.run_test(size=(140, 50)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await pilot.press("f1")  # the help shows the keys as configured
        await wait_until(pilot, lambda: isinstance(rig.app.screen, HelpScreen))
        rows = [" ".join(line.split()) for line in help_lines(rig)]
        assert "Ctrl+O 工作清单" in rows and "x 回访" in rows and "F5 接听" in rows
        assert "F11 工作清单" not in rows and "v 回访" not in rows
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
        shown = dict(footer(screen))
        assert shown.get("x") == "回访" and "v" not in shown  # the footer says so too


async def test_english_footer_and_palette(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store,
        [ScriptedCall("13800138000", ring_at=0.5, hangup_after=600)],
        config=Config.model_validate({"ui": {"language": "en"}}),
        auto_login="wang",
    )
    async with rig.app.run_test(size=(300, 40)) as pilot:  # wide enough for every key
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await wait_until(pilot, lambda: "f1" in dict(footer(desk_of(rig))))
        shown = dict(footer(desk_of(rig)))
        assert shown["f1"] == "Help" and shown["ctrl+q"] == "Quit" and shown["ctrl+p"] == "Command palette"
        titles = [c.title for c in rig.app.get_system_commands(rig.app.screen)]
        assert "Hang up (F8)" in titles and "Quit (Ctrl+Q)" in titles


async def test_the_footer_lists_the_keys_that_work_now_in_one_order(sqlite_store: Store) -> None:
    """F1…F12, then Ctrl+…, Quit last and the palette docked right, on every screen; in Chinese; the
    keys that were hidden (Ctrl+S, F3, F10–F12, Ctrl+N) are there when they work."""
    add_operator(sqlite_store)
    script = [ScriptedCall("13800138000", ring_at=0.5, hangup_after=600)]
    rig = make_rig(sqlite_store, script, auto_login="wang", form=True, worklists=True)
    order: list[list[tuple[str, str]]] = []
    async with rig.app.run_test(size=(300, 40)) as pilot:  # wide enough for every key
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        desk = desk_of(rig)
        await wait_until(
            pilot, lambda: desk.form is not None and rig.app.focused is desk.form.picker.search_box
        )
        await wait_until(pilot, lambda: "ctrl+s" in dict(footer(desk)))
        talking = footer(desk)
        order.append(talking)
        keys = [key for key, _ in talking]
        for key in ("f1", "f3", "f10", "f11", "f12", "ctrl+n", "ctrl+s", "ctrl+q", "ctrl+p"):
            assert key in keys, key
        assert dict(talking)["ctrl+s"] == "保存工单" and dict(talking)["f10"] == "示忙"
        await pilot.press("f1")
        await wait_until(pilot, lambda: isinstance(rig.app.screen, HelpScreen))
        await wait_until(pilot, lambda: bool(footer(rig.app.screen)))
        order.append(footer(rig.app.screen))
        assert dict(order[-1])["escape"] == "关闭"
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(rig.app.screen, HelpScreen))
        await pilot.press("f11")
        await wait_until(pilot, lambda: rig.app.screen.__class__.__name__ == "WorklistsScreen")
        await wait_until(pilot, lambda: bool(footer(rig.app.screen)))
        order.append(footer(rig.app.screen))
    for shown in order:
        keys = [key for key, _ in shown]
        assert keys[-2:] == ["ctrl+q", "ctrl+p"], keys
        assert keys[:-2] == sorted(keys[:-2], key=key_rank), keys
        assert keys[0] == "f1"
        assert not [text for _, text in shown if ASCII_WORD.search(text)], shown


async def test_the_footer_follows_the_call(sqlite_store: Store) -> None:
    """A key whose action is not possible now (the desk's check_action) leaves the footer."""
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store, [ScriptedCall("13800138000", ring_at=0.5, hangup_after=600)], auto_login="wang"
    )
    async with rig.app.run_test(size=(200, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        desk = desk_of(rig)
        await wait_until(pilot, lambda: "f9" in dict(footer(desk)))
        assert not {"f5", "f7", "f8"} & set(dict(footer(desk)))
        await ring(rig, pilot, 0.5)
        await wait_until(pilot, lambda: "f5" in dict(footer(desk)))
        await answer(rig, pilot)
        await wait_until(pilot, lambda: "f5" not in dict(footer(desk)) and "f8" in dict(footer(desk)))
        assert dict(footer(desk))["f7"] == "转接"


async def test_ctrl_c_says_how_to_quit_in_the_ui_language(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await pilot.press("ctrl+c")
        # (the toasts are not drawn headless: the app's list of notifications is what they show)
        await wait_until(pilot, lambda: any("Ctrl+Q" in n.message for n in rig.app._notifications))
        assert "退出话务台请按 Ctrl+Q" in [n.message for n in rig.app._notifications]


# -- Ctrl+Q -----------------------------------------------------------------------------------------------
def quit_text(rig: Rig) -> str:
    """The question's title and text ("" until the dialog is drawn)."""
    screen = rig.app.screen
    assert isinstance(screen, QuitConfirm), screen
    return "".join(
        plain(found.first()) for found in (screen.query("#quit-title"), screen.query("#quit-body")) if found
    )


async def asked(rig: Rig, pilot: Any) -> None:
    """Until the quit question is up, drawn and has the keyboard."""
    await wait_until(pilot, lambda: isinstance(rig.app.screen, QuitConfirm) and quit_text(rig) != "")
    await wait_until(pilot, lambda: getattr(rig.app.focused, "id", None) == "quit-options")


async def test_ctrl_q_when_idle_quits_at_once(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await pilot.press("ctrl+q")
        await wait_until(pilot, lambda: rig.app.return_code == 0)
        assert rig.app.stopped


async def test_ctrl_q_while_ringing_asks_and_no_keeps_the_call(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [ScriptedCall("13800138000", ring_at=0.5)], auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        call_id = await ring(rig, pilot, 0.5)
        await pilot.press("ctrl+q")
        await asked(rig, pilot)
        text = quit_text(rig)
        assert "确定退出" in text and "振铃中的来电 138****8000" in text and "无人接听" in text
        await pilot.press("ctrl+q")  # pressed again: no answer, the question stays
        await pilot.pause()
        assert isinstance(rig.app.screen, QuitConfirm)
        await pilot.press("enter")  # the highlighted choice is "stay"
        await wait_until(pilot, lambda: not isinstance(rig.app.screen, QuitConfirm))
        assert rig.app.return_code is None and not rig.app.stopped
        assert rig.app.calls.current is not None and rig.app.calls.current.call_id == call_id
        assert rig.app.calls.status.state == AgentState.RINGING
        await pilot.press("ctrl+q")
        await asked(rig, pilot)
        await pilot.press("escape")  # Esc: stay too
        await wait_until(pilot, lambda: not isinstance(rig.app.screen, QuitConfirm))
        await pilot.press("ctrl+q")
        await asked(rig, pilot)
        await pilot.press("down", "enter")  # one confirmation is enough for a ringing call
        await wait_until(pilot, lambda: rig.app.return_code == 0)


async def test_ctrl_q_while_talking_takes_two_confirmations(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store, [ScriptedCall("13800138000", ring_at=0.5, hangup_after=600)], auto_login="wang"
    )
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await pilot.press("ctrl+q")
        await asked(rig, pilot)
        assert "通话中的电话 138****8000" in quit_text(rig)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: "再次确认" in quit_text(rig))
        assert rig.app.return_code is None and rig.app.calls.status.state == AgentState.TALKING
        await pilot.press("enter")  # the second question starts on "stay" too
        await wait_until(pilot, lambda: not isinstance(rig.app.screen, QuitConfirm))
        assert rig.app.return_code is None and rig.app.calls.in_call
        await pilot.press("ctrl+q")
        await asked(rig, pilot)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: "再次确认" in quit_text(rig))
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: rig.app.return_code == 0)


async def test_the_palettes_quit_asks_too(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(
        sqlite_store, [ScriptedCall("13800138000", ring_at=0.5, hangup_after=600)], auto_login="wang"
    )
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        await open_palette(rig, pilot)
        await pilot.press(*"tuichu")
        await wait_until(pilot, lambda: palette_rows(rig)[:1] and palette_rows(rig)[0].startswith("退出"))
        await pilot.press("enter")
        await asked(rig, pilot)
        assert "通话中的电话 138****8000" in quit_text(rig)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(rig.app.screen, QuitConfirm))
        assert rig.app.return_code is None and rig.app.calls.in_call


async def test_ctrl_q_with_an_unsaved_ticket_asks_once(sqlite_store: Store) -> None:
    from helpers.ticket_host import fill_heating_request

    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], auto_login="wang", form=True)
    async with rig.app.run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        await pilot.press("ctrl+n")
        desk = desk_of(rig)
        await wait_until(
            pilot, lambda: desk.form is not None and rig.app.focused is desk.form.picker.search_box
        )
        await fill_heating_request(pilot, desk.form)
        await wait_until(pilot, desk.unsaved_ticket)
        await pilot.press("ctrl+q")
        await asked(rig, pilot)
        text = quit_text(rig)
        assert "未保存的工单" in text and "电话" not in text
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: rig.app.return_code == 0)


def test_keys_are_written_as_on_the_keyboard() -> None:
    assert [key_label(k) for k in ("f5", "ctrl+s", "escape", "d", "1", "f5,ctrl+a", "ctrl+shift+x")] == [
        "F5",
        "Ctrl+S",
        "Esc",
        "d",
        "1",
        "F5/Ctrl+A",
        "Ctrl+Shift+X",
    ]
    assert sorted(["ctrl+n", "f10", "escape", "f2", "d", "1"], key=key_rank) == [
        "f2",
        "f10",
        "ctrl+n",
        "1",
        "d",
        "escape",
    ]


async def test_at_80_columns_the_footer_keeps_whole_keys_and_the_call_keys(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    script = [ScriptedCall("13800138000", ring_at=0.5, hangup_after=600)]
    rig = make_rig(sqlite_store, script, auto_login="wang", form=True)
    async with rig.app.run_test(size=(80, 24)) as pilot:
        await ring(rig, pilot, 0.5)
        await answer(rig, pilot)
        desk = desk_of(rig)
        await wait_until(pilot, lambda: desk.form is not None and "ctrl+s" in dict(footer(desk)))
        await pilot.pause()
        keys = list(desk.query(FooterKey))
        shown = [k.key for k in keys]
        for key in ("f8", "f6", "f7", "ctrl+s", "ctrl+p"):  # hang up, hold, transfer, save, palette
            assert key in shown, shown
        assert all(k.region.right <= 80 and k.region.width > 0 for k in keys)  # none cut or pushed off
        assert sum(k.region.width for k in keys) <= 80


def test_a_family_of_keys_is_one_footer_entry() -> None:
    """Alt+1…Alt+6 (one action, six parameters) take one place: "Alt+1…6 诉求性质"."""
    from textual.app import App
    from textual.binding import ActiveBinding, Binding

    from console.keymap import footer_entries

    node = App()
    active = {"f5": ActiveBinding(node, Binding("f5", "answer", "key.answer", id="answer"), True, "")}
    for i in range(1, 7):
        binding = Binding(f"alt+{i}", f"nature({i})", "key.answer", id=f"nature_{i}")
        active[binding.key] = ActiveBinding(node, binding, True, "")
    entries = footer_entries(active, Translator.load("zh_CN"), "ctrl+p")
    assert [(e.label, e.what) for e in entries] == [("F5", "接听"), ("Alt+1…6", "诉求性质")]
