"""Login on the real app (Pilot): refused password, then 就绪 or 示忙 with a reason, in the store."""

from __future__ import annotations

import pytest
from helpers.desk_harness import PASSWORD, add_operator, make_rig, plain, wait_until
from sqlalchemy import select

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
