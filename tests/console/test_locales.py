"""The locale files: both languages have the same keys and placeholders, and every key the console's
code names exists.

Keys are found in the code's syntax tree: the first argument of every ``….t(…)`` / ``t(…)`` call
and of ``….label(kind, …)`` (``kind.`` must start some key), f-string prefixes such as
``t(f"status.line.{state}")`` (some key must start with ``status.line.``), and every other string
constant shaped like a key of a known area (``("ring.col.number", …)`` tuples, ``message="msg.x"``
of ``CallUpdate``, binding descriptions), since those reach ``t()`` through a variable; and no key
in the files is left unused.

Then, on the real app (Pilot): the words stored as identities (agent states, ticket statuses,
dispositions, natures, boards, urgencies) are shown by their label in the UI language, so the
English UI says "Ready", not 就绪.
"""

from __future__ import annotations

import ast
import re
import string
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers.desk_harness import (
    CALLER,
    PASSWORD,
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
from textual.widgets import Input, OptionList

from console.i18n import LANGUAGES, Translator, read_locales
from console.screens.desk import DeskScreen
from console.services.call_service import DISPOSITIONS
from console.widgets.ringing import RingingPop
from store.db import Store
from store.vocabulary import BOARDS, NATURES, STATUSES, URGENCIES, AgentState
from telephony.sim import ScriptedCall

CONSOLE = Path(__file__).resolve().parents[2] / "console"
TEXTS = read_locales()
KEYS = set(TEXTS["zh_CN"])
AREAS = {key.split(".", 1)[0] for key in KEYS if "." in key}
KEY_SHAPE = re.compile(r"^[a-z_]+(?:\.[^\s./{}]+)+$")
KEY_START = re.compile(r"^[a-z_]+(?:\.[^\s./{}]+)*\.$")  # f"reason.{why}" kept in a variable
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "msg"}


@dataclass(frozen=True)
class Use:
    where: str  # path:line
    text: str  # the key, or the fixed start of an f-string key
    prefix: bool = False


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _fixed_start(node: ast.JoinedStr) -> str:
    start = ""
    for part in node.values:
        if not (isinstance(part, ast.Constant) and isinstance(part.value, str)):
            break
        start += part.value
    return start


def _called(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _branches(node: ast.expr) -> list[ast.expr]:
    """``t("a" if x else "b")`` looks up both."""
    if isinstance(node, ast.IfExp):
        return [*_branches(node.body), *_branches(node.orelse)]
    return [node]


def _not_texts(tree: ast.AST) -> set[int]:
    """String constants shaped like keys that are something else: log event names, file names."""
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) in LOG_METHODS and node.args:
            ids.add(id(node.args[0]))
        if isinstance(node, ast.Assign) and any(
            isinstance(target, ast.Name) and target.id == "CSS_PATH" for target in node.targets
        ):
            ids.update(id(n) for n in ast.walk(node.value))
    return ids


def uses_in(path: Path, root: Path = CONSOLE.parent) -> list[Use]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    where = path.relative_to(root).as_posix()
    skip = _docstrings(tree) | _not_texts(tree)
    uses: list[Use] = []
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and _called(n) in ("t", "label") and n.args]
    for call in calls:
        kind = _called(call)
        for first in _branches(call.args[0]):
            if isinstance(first, ast.JoinedStr):
                skip.update(id(v) for v in first.values)
                if start := _fixed_start(first):
                    uses.append(Use(f"{where}:{call.lineno}", start, prefix=True))
            elif isinstance(first, ast.Constant) and isinstance(first.value, str):
                skip.add(id(first))
                if kind == "label":
                    uses.append(Use(f"{where}:{call.lineno}", f"{first.value}.", prefix=True))
                else:
                    uses.append(Use(f"{where}:{call.lineno}", first.value))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip
            and KEY_SHAPE.match(node.value)
            and node.value.split(".", 1)[0] in AREAS
        ):
            uses.append(Use(f"{where}:{node.lineno}", node.value))
        elif (
            isinstance(node, ast.JoinedStr)
            and id(node.values[0]) not in skip
            and KEY_START.match(start := _fixed_start(node))
            and start.split(".", 1)[0] in AREAS
        ):
            uses.append(Use(f"{where}:{node.lineno}", start, prefix=True))
    return uses


def code_uses() -> list[Use]:
    return [use for path in sorted(CONSOLE.rglob("*.py")) for use in uses_in(path)]


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def test_both_languages_have_the_same_keys() -> None:
    assert set(TEXTS["en"]) - KEYS == set(), "in en.toml only"
    assert KEYS - set(TEXTS["en"]) == set(), "in zh_CN.toml only"


def test_each_key_has_the_same_placeholders_in_both_languages() -> None:
    differ = {
        key: (placeholders(TEXTS["zh_CN"][key]), placeholders(TEXTS["en"][key]))
        for key in KEYS & set(TEXTS["en"])
        if placeholders(TEXTS["zh_CN"][key]) != placeholders(TEXTS["en"][key])
    }
    assert differ == {}


def test_every_key_the_code_names_exists() -> None:
    uses = code_uses()
    # the scan must see the lookups it is about, or it proves nothing
    assert {"app.title", "login.pick", "ring.col.number", "msg.line_up"} <= {u.text for u in uses}
    assert {"status.line.", "agent_state.", "kind."} <= {u.text for u in uses if u.prefix}
    missing = [
        use
        for use in uses
        if (not any(key.startswith(use.text) for key in KEYS) if use.prefix else use.text not in KEYS)
    ]
    assert missing == []


def test_every_key_in_the_files_is_used() -> None:
    uses = code_uses()
    literal = {use.text for use in uses if not use.prefix}
    starts = [use.text for use in uses if use.prefix]
    unused = sorted(key for key in KEYS if key not in literal and not any(key.startswith(s) for s in starts))
    assert unused == []


def test_the_scan_finds_a_key_that_is_not_in_the_files(tmp_path: Path) -> None:
    module = tmp_path / "probe.py"
    source = (
        'def f(tr, why):\n    kept = f"ring.nosuch.{why}"\n'
        '    return tr.t("msg.no_such_text"), tr.t(f"nosuch.{tr}"), ("ring.no_such",), tr.t(kept)\n'
    )
    module.write_text(source, encoding="utf-8")
    uses = {(u.text, u.prefix) for u in uses_in(module, tmp_path)}
    assert {
        ("msg.no_such_text", False),
        ("nosuch.", True),
        ("ring.no_such", False),
        ("ring.nosuch.", True),
    } <= uses
    assert "msg.no_such_text" not in KEYS and "ring.no_such" not in KEYS
    assert not any(key.startswith(("nosuch.", "ring.nosuch.")) for key in KEYS)


@pytest.mark.parametrize("state", list(AgentState))
def test_every_agent_state_has_a_label_in_both_languages(state: AgentState) -> None:
    for language in LANGUAGES:
        assert state.label_key in TEXTS[language]
    assert Translator("en", TEXTS).label("agent_state", state) != Translator("zh_CN", TEXTS).label(
        "agent_state", state
    )


def test_every_stored_domain_code_has_an_english_label() -> None:
    english = Translator("en", TEXTS)
    for kind, words in (
        ("ticket_status", STATUSES),
        ("disposition", DISPOSITIONS),
        ("nature", NATURES),
        ("board", BOARDS),
        ("urgency", URGENCIES),
    ):
        for word in words:
            assert TEXTS["zh_CN"][f"{kind}.{word}"] == word  # the Chinese label is the code itself
            assert english.label(kind, word) != word


@pytest.mark.parametrize(
    ("language", "shown", "not_shown"), [("en", "Ready", "就绪"), ("zh_CN", "就绪", "Ready")]
)
async def test_the_status_bar_shows_the_agent_state_in_the_ui_language(
    sqlite_store: Store, language: str, shown: str, not_shown: str
) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], config=make_config(language=language), auto_login="wang")
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await wait_until(pilot, lambda: isinstance(rig.app.screen, DeskScreen))
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
        desk_of(rig).refresh_view()
        status = plain(desk_of(rig).query_one("#status"))
        assert f"{shown} 00:00" in status and not_shown not in status


async def test_the_english_login_offers_ready_and_not_ready_in_english(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], config=make_config(language="en"))
    async with rig.app.run_test(size=(120, 36)) as pilot:
        rig.app.screen.query_one("#username", Input).value = "wang"
        rig.app.screen.query_one("#password", Input).value = PASSWORD
        rig.app.screen.query_one("#password", Input).focus()
        await pilot.press("enter")
        await wait_until(pilot, lambda: rig.app.screen.has_class("picking"))
        options = rig.app.screen.query_one("#login-states", OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert prompts[:2] == ["Ready", "Not ready (小休)"]  # the reasons are [ui] pause_reasons, as written


@pytest.mark.parametrize(
    ("language", "status", "first_disposition"),
    [("en", "received", "Ticket created"), ("zh_CN", "已受理", "已建工单")],
)
async def test_the_caller_history_and_the_wrap_up_speak_the_ui_language(
    sqlite_store: Store, language: str, status: str, first_disposition: str
) -> None:
    add_operator(sqlite_store)
    seed_history(sqlite_store)
    rig = make_rig(
        sqlite_store,
        [ScriptedCall(CALLER, "李先生", ring_at=1.0)],
        config=make_config(language=language),
        auto_login="wang",
    )
    async with rig.app.run_test(size=(140, 40)) as pilot:
        await ring(rig, pilot, 1.0)
        await wait_until(pilot, lambda: rig.app.screen.query_one(RingingPop).history is not None)
        assert status in plain(rig.app.screen.query_one("#ring-body"))
        await answer(rig, pilot)
        await pilot.press("f8")
        rig.advance(0)
        await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.WRAP_UP)
        options = rig.app.screen.query_one("#wrap-options", OptionList)
        assert str(options.get_option_at_index(0).prompt) == f"1. {first_disposition}"
        assert options.get_option_at_index(0).id == "已建工单"  # the stored identity stays the code
