"""A small host App that mounts the TicketForm alone, without the desk screen, for the Pilot tests,
the snapshot test and the benches."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.app import App, ComposeResult
from textual.pilot import Pilot
from textual.widgets import Input, Select, TextArea

from console.i18n import Language, Translator
from console.services.ticket_service import CallContext, TicketService
from console.widgets.ticket_form import TicketForm


class FormHost(App[None]):
    """Mounts one TicketForm; records the messages it posts."""

    def __init__(
        self, desk: TicketService, call: CallContext | None = None, language: Language = "zh_CN"
    ) -> None:
        super().__init__()
        self.desk = desk
        self.call = call
        self.language: Language = language
        self.saved: list[TicketForm.Saved] = []
        self.critical: list[TicketForm.CriticalLeaf] = []

    def compose(self) -> ComposeResult:
        yield TicketForm(self.desk, Translator.load(self.language), self.call, id="form")

    @property
    def form(self) -> TicketForm:
        return self.query_one(TicketForm)

    def on_ticket_form_saved(self, message: TicketForm.Saved) -> None:
        self.saved.append(message)

    def on_ticket_form_critical_leaf(self, message: TicketForm.CriticalLeaf) -> None:
        self.critical.append(message)


def set_fields(form: TicketForm, **values: str) -> None:
    """Fill fields directly (typing each character through Pilot costs ~0.1 s a key)."""
    for name, value in values.items():
        widget = form.query_one(f"#{name.replace('_', '-')}")
        if isinstance(widget, Input):
            widget.value = value
        elif isinstance(widget, TextArea):
            widget.load_text(value)
        elif isinstance(widget, Select):
            widget.value = value
        else:  # pragma: no cover - a test asking for a field that is not there
            raise AssertionError(f"no field {name}")


# the other four elements of the 暖气不热 request most form tests save (with the caller's phone from the call)
HEATING_FIELDS: dict[str, str] = {
    "nature": "投诉",
    "address": "铁东区胜利街道园林小区3栋501",
    "when": "昨晚起",
    "caller_name": "王先生",
    "description": "家里暖气不热，屋里只有十五度",
}


async def fill_heating_request(pilot: Pilot[Any], form: TicketForm, *first: str) -> None:
    """Press ``first`` (e.g. ctrl+f to reach the search), pick 暖气不热 by its initials and digit 1 in
    the same press, fill HEATING_FIELDS and let the form settle: the form is then ready to save."""
    await pilot.press(*first, *"nqbr", "1")
    set_fields(form, **HEATING_FIELDS)
    await pilot.pause()


async def wait_for(pause: Callable[[], object], condition: Callable[[], bool], timeout: float = 15.0) -> None:
    """Pause the Pilot until ``condition`` holds (bounded; fails the test with the timeout)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not condition():
        if loop.time() > end:
            raise AssertionError("timed out waiting for the form")
        await pause()  # type: ignore[misc]
