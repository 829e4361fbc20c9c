"""The worklists harness: a seeded SQLite store, a recording dialer and a host app for
console.screens.worklists.WorklistsScreen, shared by tests/console/test_worklists.py and the
worklists snapshots."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from textual.app import App
from textual.widgets import DataTable, Static

from console.i18n import Translator
from console.screens.worklists import WorklistsScreen
from console.services.worklists import WorklistService
from console.widgets.status_bar import StatusView
from store import calls, sync
from store.db import Store
from store.deadlines import DeadlineCalculator
from store.models import OutboxEntry
from store.tickets import Actor, apply_command, create_ticket, draft_from
from store.workcal import SHANGHAI
from store.worklists import SEAT_RINGING

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=SHANGHAI)
OPERATOR = Actor("alice", "operator", None)
TRAINER = Actor("tina", "trainer", None)
DEPT = Actor("dept", "department")
SIZE = (120, 34)


# --- seeded data ------------------------------------------------------------------------------------


@dataclass
class Seeded:
    missed: dict[str, str] = field(default_factory=dict)  # number -> latest missed call id
    tickets: dict[str, int] = field(default_factory=dict)  # label -> ticket id


def add_missed_call(
    store: Store,
    number: str,
    at: dt.datetime,
    reason: str = "cancelled",
    name: str | None = None,
    *,
    rang_after: dt.timedelta | None = None,
    lasted: dt.timedelta = dt.timedelta(seconds=18),
) -> str:
    """An inbound call offered at ``at`` that ended unanswered ``lasted`` later; with ``rang_after``
    it rang at a seat that long after it came in (the seat's ``seat_ringing`` event), else it only
    waited in the queue."""
    call_id = uuid.uuid4().hex
    with store.session() as s:
        calls.open_call(s, call_id=call_id, direction="in", remote_number=number, display_name=name, at=at)
        if rang_after is not None:
            calls.add_call_event(s, call_id, SEAT_RINGING, at + rang_after, {"user_id": None})
        calls.end_call(s, call_id, at + lasted, reason)
    return call_id


def add_closed_ticket(store: Store, phone: str, name: str, dept: str, closed: dt.datetime, what: str) -> int:
    draft = draft_from(
        {
            "nature": "投诉",
            "description": what,
            "leaf_code": "101.01",
            "caller_name": name,
            "caller_phone": phone,
        }
    )
    opened = closed - dt.timedelta(days=3)
    with store.session() as s:
        t = create_ticket(s, draft, OPERATOR, opened)
        apply_command(s, t, "dispatch", OPERATOR, opened, department=dept)
        apply_command(s, t, "accept", DEPT, opened + dt.timedelta(hours=1))
        apply_command(s, t, "reply", DEPT, closed - dt.timedelta(hours=5), answer="已处理")
        apply_command(s, t, "close", OPERATOR, closed)
        return t.id


def seed(store: Store) -> Seeded:
    out = Seeded()
    h = dt.timedelta(hours=1)
    add_missed_call(store, "13812345678", NOW - 5 * h, name="王先生")
    out.missed["13812345678"] = add_missed_call(store, "13812345678", NOW - 2 * h, "abandoned", name="王先生")
    out.missed["04122345678"] = add_missed_call(
        store, "04122345678", NOW - 3 * h, rang_after=dt.timedelta(seconds=5)
    )  # rang at the seat, the caller hung up
    out.missed["13900001111"] = add_missed_call(
        store, "+8613900001111", NOW - 4 * h, "rejected"
    )  # refused: not listed
    yesterday = dt.datetime(2026, 11, 27, 15, 0, tzinfo=SHANGHAI)
    out.tickets["heat"] = add_closed_ticket(
        store, "13700002222", "李女士", "铁东区供暖办", yesterday, "暖气不热"
    )
    out.tickets["road"] = add_closed_ticket(
        store, "13600003333", "赵先生", "立山区城管局", yesterday + h, "路灯不亮"
    )
    out.tickets["today"] = add_closed_ticket(
        store, "13500004444", "钱先生", "铁西区住建局", NOW - h, "井盖缺失"
    )
    return out


@dataclass
class RecordingDialer:
    """Stands in for ``Line.dial`` where the test is about the screen, not the line."""

    numbers: list[str] = field(default_factory=list)
    fail: Exception | None = None

    def __call__(self, number: str) -> str:
        if self.fail is not None:
            raise self.fail
        self.numbers.append(number)
        return f"out-{len(self.numbers)}"


def make_service(
    store: Store, dial: Callable[[str], str], actor: Actor = OPERATOR, **kw: object
) -> WorklistService:
    return WorklistService(store, dial, actor, clock=lambda: NOW, deadlines=DeadlineCalculator(), **kw)  # type: ignore[arg-type]


class WorklistApp(App[None]):
    """The desk's part: push the screen, collect the calls it places."""

    def __init__(
        self,
        service: WorklistService,
        language: str = "zh_CN",
        status_view: Callable[[], StatusView] | None = None,
    ) -> None:
        super().__init__()
        self.service = service
        self.language = language
        self.status_view = status_view
        self.placed: list[WorklistsScreen.CallPlaced] = []

    def on_mount(self) -> None:
        self.push_screen(
            WorklistsScreen(
                self.service,
                Translator.load(self.language),  # type: ignore[arg-type]
                refresh_seconds=None,
                status_view=self.status_view,
            )
        )

    def on_worklists_screen_call_placed(self, message: WorklistsScreen.CallPlaced) -> None:
        self.placed.append(message)


async def settle(pilot, until: Callable[[], bool] = lambda: True, tries: int = 50) -> None:  # type: ignore[no-untyped-def]
    """Let workers finish and their messages land (bounded)."""
    for _ in range(tries):
        await pilot.app.workers.wait_for_complete()
        await pilot.pause()
        if until():
            return
    raise AssertionError("the screen did not settle")


def screen_of(app: App[None]) -> WorklistsScreen:
    screen = app.screen
    assert isinstance(screen, WorklistsScreen)
    return screen


async def press_and_reload(pilot, screen: WorklistsScreen, *keys: str) -> None:  # type: ignore[no-untyped-def]
    """Press ``keys`` and wait until the lists were loaded again (after a recorded outcome)."""
    loads = screen.loads
    await pilot.press(*keys)
    await settle(pilot, lambda: screen.loads > loads)


@asynccontextmanager
async def opened(
    service: WorklistService,
    language: str = "zh_CN",
    status_view: Callable[[], StatusView] | None = None,
) -> AsyncIterator[tuple[WorklistApp, Any, WorklistsScreen]]:
    """The app with the worklists screen up and its first page loaded."""
    app = WorklistApp(service, language, status_view)
    async with app.run_test(size=SIZE) as pilot:
        screen = screen_of(app)
        await settle(pilot, lambda: screen.loads > 0)
        yield app, pilot, screen


def table_rows(screen: WorklistsScreen, selector: str) -> list[list[str]]:
    table = screen.query_one(selector, DataTable)
    return [[str(c) for c in table.get_row(r.key)] for r in table.ordered_rows]


def status(screen: WorklistsScreen) -> str:
    return str(screen.query_one("#wl-status", Static).render())


def toasts(app: App[None]) -> list[str]:
    """The notifications shown so far."""
    return [n.message for n in app._notifications]


# --- 同步待处理 (supervisors) -----------------------------------------------------------------------

SUPERVISOR = Actor("sam", "supervisor", None)
REFUSAL = "400 invalid attribute district\n(service_code 101.01)"


def refuse(store: Store, ticket_id: int) -> int:
    """What the sync worker does with a 4xx: the ticket's outbox entry waits for a supervisor."""
    with store.session() as s:
        entry = s.scalars(select(OutboxEntry).where(OutboxEntry.ticket_id == ticket_id)).first()
        assert entry is not None
        entry.state, entry.attempts, entry.last_error = sync.ATTENTION, 1, REFUSAL
        return entry.id
