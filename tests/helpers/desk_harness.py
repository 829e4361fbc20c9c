"""Shared pieces of the console app tests: a store with an operator, a SimLine on a manual clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from argon2 import PasswordHasher

from console.app import HotlineApp
from console.bootstrap import SeatParts, build_app
from console.config import Config
from store import users
from store.db import Store
from store.sync import SyncThread
from store.vocabulary import AgentState
from telephony.sim import ManualScheduler, ScriptedCall, SimLine

FIXED = dt.datetime(2026, 11, 28, 1, 30, tzinfo=dt.UTC)  # 09:30 in Anshan
CHEAP = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
PASSWORD = "correct horse"


@dataclass
class Clock:
    """A wall clock the test moves by hand (the app's ``now``)."""

    at: dt.datetime = FIXED

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += dt.timedelta(seconds=seconds)


@dataclass
class Rig:
    store: Store
    line: SimLine
    scheduler: ManualScheduler
    clock: Clock
    app: HotlineApp
    extra: dict[str, Any] = field(default_factory=dict)

    def advance(self, seconds: float = 0.0) -> None:
        """Let the line's time pass (its events are posted to the app) and the wall clock with it."""
        self.scheduler.advance(seconds)
        self.clock.advance(seconds)


def add_operator(store: Store, username: str = "wang", display_name: str = "王丽") -> int:
    with store.session() as s:
        return users.add_user(
            s, username, "operator", PASSWORD, FIXED, display_name=display_name, hasher=CHEAP
        ).id


def make_config(**ui: Any) -> Config:
    data: dict[str, Any] = {"ui": {"wrapup_seconds": 30, **ui}, "operator": {"seat": "A01"}}
    return Config.model_validate(data)


def make_rig(
    store: Store,
    script: Sequence[ScriptedCall],
    *,
    config: Config | None = None,
    auto_login: str | None = None,
    form: bool = False,
    worklists: bool = False,
    sync: SyncThread | None = None,
) -> Rig:
    """The app as ``console.bootstrap`` builds it; the seat gets the ticket form and the worklists
    only when asked (the call-flow tests see the form slot's placeholder)."""
    scheduler = ManualScheduler()
    line = SimLine(script, scheduler=scheduler)
    clock = Clock()
    app = build_app(
        config or make_config(),
        store,
        line,
        now=clock,
        auto_login=auto_login,
        parts=SeatParts(tickets=form, worklists=worklists),
        sync=sync,
        clock_interval=3600,
    )
    return Rig(store, line, scheduler, clock, app)


async def wait_until(pilot: Any, predicate: Any, timeout: float = 20.0) -> None:
    """Let the app run until ``predicate()`` holds (bounded by ``timeout`` seconds of wall time)."""
    import time

    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "condition not reached"
        await pilot.pause(0.02)


CALLER = "13904121037"  # a repeat caller: one open ticket and an earlier call in the store


def seed_history(store: Store, phone: str = CALLER) -> str:
    """One open ticket and one missed call of ``phone`` a few days ago; returns the ticket number."""
    from store import calls, tickets

    earlier = FIXED - dt.timedelta(days=3)
    with store.session() as s:
        ticket = tickets.create_ticket(
            s,
            tickets.draft_from(
                {
                    "nature": "投诉",
                    "description": "楼上漏水，屋顶渗水三天",
                    "caller_phone": phone,
                    "caller_name": "李先生",
                    "district": "铁东区",
                    "address": "园林路 12 号",
                }
            ),
            tickets.Actor("wang", "operator"),
            earlier,
            prefix="AS",
        )
        calls.open_call(
            s, call_id="earlier-call", direction="in", remote_number=phone, display_name=None, at=earlier
        )
        calls.end_call(s, "earlier-call", earlier + dt.timedelta(seconds=20), "cancelled")
        return ticket.number


def desk_of(rig: Rig | HotlineApp) -> Any:
    """The desk screen on top (given the rig or the app)."""
    from console.screens.desk import DeskScreen

    screen = rig.screen if isinstance(rig, HotlineApp) else rig.app.screen
    assert isinstance(screen, DeskScreen), screen
    return screen


def plain(widget: Any) -> str:
    """What a Static shows, as plain text (Rich tables included)."""
    import io

    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), color_system=None)
    console.print(widget.content)
    return console.file.getvalue()  # type: ignore[attr-defined]


async def ring(rig: Rig, pilot: Any, after: float) -> str:
    """Once the desk is ready, let the line's clock run ``after`` s until a call rings; its id."""
    await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.READY)
    rig.advance(after)
    await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.RINGING)
    return rig.app.calls.current.call_id


async def answer(rig: Rig, pilot: Any) -> None:
    """F5 and the line's answer."""
    await pilot.press("f5")
    rig.advance(0)
    await wait_until(pilot, lambda: rig.app.calls.status.state == AgentState.TALKING)
