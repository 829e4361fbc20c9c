"""Login on the real app (Pilot): refused password, then 就绪 or 示忙 with a reason, in the store;
the first start on a store without users says how to add one; the title names ``[ui] product_name``."""

from __future__ import annotations

import pytest
from helpers.desk_harness import PASSWORD, add_operator, make_config, make_rig, plain, wait_until
from sqlalchemy import select

from console.config import ConfigError, load_config
from console.screens.desk import DeskScreen
from console.screens.login import LoginScreen
from store.db import Store
from store.models import AgentSession, AgentStateChange
from store.vocabulary import AgentState


def _states(store: Store) -> list[tuple[str, str | None]]:
    with store.read() as s:
        return [
            (r.state, r.reason) for r in s.scalars(select(AgentStateChange).order_by(AgentStateChange.id))
        ]


async def _type_login(pilot, app, user: str, password: str) -> None:  # type: ignore[no-untyped-def]
    app.screen.query_one("#username").value = user
    app.screen.query_one("#password").value = password
    app.screen.query_one("#password").focus()
    await pilot.press("enter")


async def test_wrong_password_is_refused_then_login_ready(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [])
    async with rig.app.run_test(size=(120, 36)) as pilot:
        assert isinstance(rig.app.screen, LoginScreen)
        await _type_login(pilot, rig.app, "wang", "nope")
        await wait_until(pilot, lambda: "错误" in plain(rig.app.screen.query_one("#login-message")))
        assert isinstance(rig.app.screen, LoginScreen)
        await _type_login(pilot, rig.app, "wang", PASSWORD)
        await wait_until(pilot, lambda: rig.app.screen.has_class("picking"))
        await pilot.press("enter")  # 就绪 is first
        await wait_until(pilot, lambda: isinstance(rig.app.screen, DeskScreen))
        assert rig.app.calls.status.state == AgentState.READY
        rig.app.calls.writer.flush()
        assert _states(sqlite_store) == [(AgentState.READY, None)]
        await pilot.press("ctrl+q")
    with sqlite_store.read() as s:
        session = s.scalars(select(AgentSession)).one()
        assert session.ended_at is not None
    assert _states(sqlite_store)[-1] == (AgentState.OFFLINE, None)


@pytest.mark.parametrize("reason", ["用餐"])
async def test_login_with_a_pause_reason(sqlite_store: Store, reason: str) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [])
    async with rig.app.run_test(size=(120, 36)) as pilot:
        await _type_login(pilot, rig.app, "wang", PASSWORD)
        await wait_until(pilot, lambda: rig.app.screen.has_class("picking"))
        await pilot.press("down", "down", "enter")  # 就绪, 小休, 用餐
        await wait_until(pilot, lambda: isinstance(rig.app.screen, DeskScreen))
        assert (rig.app.calls.status.state, rig.app.calls.status.reason) == (AgentState.PAUSED, reason)
        assert "示忙(用餐)" in plain(rig.app.screen.query_one("#status"))
        rig.app.calls.writer.flush()
    assert (AgentState.PAUSED, reason) in _states(sqlite_store)


async def test_first_start_without_users_says_how_to_add_one(sqlite_store: Store) -> None:
    from console import cli
    from console.commands import users as users_command

    rig = make_rig(sqlite_store, [])
    async with rig.app.run_test(size=(120, 36)) as pilot:
        message = rig.app.screen.query_one("#login-message")
        await wait_until(pilot, lambda: "hotline users add" in plain(message))
        assert "尚无任何用户" in plain(message) and message.has_class("error")
        # the command it names is the real one: `hotline` parses it into `users add`
        command = plain(message).split("hotline ", 1)[1].split("（", 1)[0].replace("用户名", "li")
        parser, _ = cli.build_parser()
        args = parser.parse_args(command.split())
        assert args.handler is users_command.run_add and args.password_stdin and args.role == "operator"
        # a password typed anyway: still the hint, not "wrong password"
        await _type_login(pilot, rig.app, "demo", "demo")
        await wait_until(pilot, lambda: not plain(message).startswith("正在验证"))
        await pilot.pause(0.1)
        assert "hotline users add" in plain(message) and "用户名或密码错误" not in plain(message)
        await pilot.press("ctrl+q")


async def test_with_a_user_the_screen_keeps_its_usual_hint(sqlite_store: Store) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [])
    async with rig.app.run_test(size=(120, 36)) as pilot:
        await pilot.pause(0.3)  # the look for users runs off the UI loop
        assert plain(rig.app.screen.query_one("#login-message")).strip() == "输入用户名和密码后回车"
        await pilot.press("ctrl+q")


@pytest.mark.parametrize(
    ("ui", "title"),
    [
        ({}, "8890 热线话务台  登录"),
        ({"product_name": "12345"}, "12345 热线话务台  登录"),
        ({"language": "en"}, "8890 hotline desk  Log in"),
    ],
)
async def test_the_login_title_names_the_product(sqlite_store: Store, ui: dict[str, str], title: str) -> None:
    add_operator(sqlite_store)
    rig = make_rig(sqlite_store, [], config=make_config(**ui))
    async with rig.app.run_test(size=(120, 36)) as pilot:
        assert plain(rig.app.screen.query_one("#login-title")).strip() == title
        await pilot.press("ctrl+q")


@pytest.mark.parametrize("bad", ["", " 8890", "8890 ", "x" * 17, "88\n90"])
def test_product_name_is_validated(bad: str) -> None:
    with pytest.raises(ConfigError, match=r"ui\.product_name: expected 1-16 printable characters"):
        load_config(env={"HOTLINE_UI__PRODUCT_NAME": bad})
    assert load_config(env={"HOTLINE_UI__PRODUCT_NAME": "12345"}).ui.product_name == "12345"
