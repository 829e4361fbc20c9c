"""The ringing pop: who is calling, from where, and what this number asked us before.

Shown the moment a call is offered (number and place first; the history fills in when the read
returns, so a slow store never delays the ring). Open tickets come first, each with its status and
deadline; then this number's calls of the last 30 days and a repeat-caller mark.
"""

from __future__ import annotations

import datetime as dt

from rich.table import Table
from rich.text import Text
from textual.containers import Vertical
from textual.widgets import Static

from console.i18n import Translator, local_minute
from store.caller_history import CallerHistory

MAX_TICKETS = 8
MAX_CALLS = 6


def _local(moment: dt.datetime | None) -> str:
    return local_minute(moment) if moment else "—"


class RingingPop(Vertical):
    """Caller header (number, place, repeat mark) and the history tables."""

    DEFAULT_CSS = """
    RingingPop { height: auto; border: round $panel; padding: 0 1; }
    RingingPop #ring-head { height: auto; text-style: bold; }
    RingingPop.ringing { border: heavy $warning; }
    RingingPop.ringing #ring-head { background: $warning; color: $background; }
    RingingPop #ring-body { height: auto; }
    """

    def __init__(self, translator: Translator, **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.tr = translator
        self.call_id: str | None = None
        self.history: CallerHistory | None = None
        self._caller: tuple[str, str, str] = ("", "", "")

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(self.tr.t("ring.idle"), id="ring-head")
        yield Static("", id="ring-body")

    def show_caller(self, call_id: str, number: str, name: str, place: str, ringing: bool) -> None:
        """The header, at once (no store access)."""
        self.call_id, self.history = call_id, None
        self._caller = (number, name, place)
        self.query_one("#ring-body", Static).update(self.tr.t("ring.loading"))
        self.set_ringing(ringing)

    def set_ringing(self, ringing: bool) -> None:
        """The header, with the ringing mark while it rings."""
        t = self.tr.t
        number, name, place = self._caller
        head = Text()
        head.append(f"{t('ring.title') if ringing else t('ring.history')}  ")
        head.append(number or "—", style="bold")
        if name:
            head.append(f"  {name}")
        head.append(f"  {place or t('ring.unknown_place')}")
        self.query_one("#ring-head", Static).update(head)
        self.set_class(ringing, "ringing")

    def clear(self) -> None:
        self.call_id, self.history = None, None
        self.set_class(False, "ringing")
        self.query_one("#ring-head", Static).update(self.tr.t("ring.idle"))
        self.query_one("#ring-body", Static).update("")

    def show_history(self, call_id: str, history: CallerHistory) -> None:
        """The history for ``call_id`` (ignored when another call is shown by now)."""
        if call_id != self.call_id:
            return
        self.history = history
        self.query_one("#ring-body", Static).update(self._render_history(history))

    def _render_history(self, h: CallerHistory) -> Table:
        t = self.tr.t
        grid = Table.grid(padding=(0, 1))
        mark = (
            Text(f" {t('ring.repeat')} ", style="bold reverse red")
            if h.repeat_caller
            else Text(t("ring.new"))
        )
        grid.add_row(mark)
        grid.add_row(Text(f"{t('ring.tickets')}（{len(h.tickets)}）", style="bold"))
        tickets = Table(box=None, show_edge=False, pad_edge=False)
        for col in ("ring.col.number", "ring.col.status", "ring.col.deadline"):
            tickets.add_column(t(col), no_wrap=True)
        for ticket in h.tickets[:MAX_TICKETS]:
            style = "bold" if ticket.is_open else "dim"
            status = self.tr.label("ticket_status", ticket.status)
            status += f"（{t('ring.open')}）" if ticket.is_open else ""
            tickets.add_row(ticket.number, status, _local(ticket.deadline), style=style)
        grid.add_row(tickets if h.tickets else Text(t("ring.none")))
        grid.add_row(Text(f"{t('ring.calls')}（{t('ring.count', n=len(h.calls))}）", style="bold"))
        calls = Table(box=None, show_edge=False, pad_edge=False)
        calls.add_column(t("ring.col.time"), no_wrap=True)
        calls.add_column(t("ring.col.result"), no_wrap=True)
        for call in h.calls[:MAX_CALLS]:
            calls.add_row(
                _local(call.offered_at), t("ring.answered") if call.answered_at else t("ring.missed")
            )
        grid.add_row(calls if h.calls else Text(t("ring.none")))
        return grid
