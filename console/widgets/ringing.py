"""The ringing pop: who is calling, from where, and what this number asked us before.

Shown the moment a call is offered (number and place first; the history fills in when the read
returns, so a slow store never delays the ring). Open tickets come first, each with its status and
deadline; then this number's calls of the last 30 days and a repeat-caller mark. In a column too
narrow for the ticket table (an 80-column terminal) each ticket takes two lines, so its number is
never cut: the operator reads it to the caller.
"""

from __future__ import annotations

import datetime as dt

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text
from textual import events
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
        self._draw_history()

    def on_resize(self, _event: events.Resize) -> None:
        if self.history is not None:
            self._draw_history()

    def _draw_history(self) -> None:
        if self.history is not None:
            body = self.query_one("#ring-body", Static)
            body.update(self._render_history(self.history, body.content_size.width))

    def _ticket_rows(self, h: CallerHistory) -> list[tuple[str, str, str, str]]:
        """(number, status, deadline, style) of the tickets shown."""
        t = self.tr.t
        rows = []
        for ticket in h.tickets[:MAX_TICKETS]:
            status = self.tr.label("ticket_status", ticket.status)
            status = t("ui.aside", text=status, aside=t("ring.open")) if ticket.is_open else status
            rows.append((ticket.number, status, _local(ticket.deadline), "bold" if ticket.is_open else "dim"))
        return rows

    def _tickets(self, h: CallerHistory, width: int) -> Table:
        """The ticket table, or (``width`` too narrow for it) two lines per ticket."""
        t = self.tr.t
        heads = tuple(t(col) for col in ("ring.col.number", "ring.col.status", "ring.col.deadline"))
        rows = self._ticket_rows(h)
        columns = zip(heads, *(r[:3] for r in rows), strict=True)
        widths = [max(cell_len(cell) for cell in column) for column in columns]
        if width <= 0 or sum(widths) + 2 * (len(widths) - 1) <= width:
            tickets = Table(box=None, show_edge=False, pad_edge=False)
            for head in heads:
                tickets.add_column(head, no_wrap=True)
            for number, status, deadline, style in rows:
                tickets.add_row(number, status, deadline, style=style)
            return tickets
        stacked = Table.grid()
        for number, status, deadline, style in rows:
            stacked.add_row(Text(number, style=style, no_wrap=True, overflow="ellipsis"))
            stacked.add_row(Text(f"  {status}  {deadline}", style="dim"))
        return stacked

    def _render_history(self, h: CallerHistory, width: int = 0) -> Table:
        t = self.tr.t
        grid = Table.grid(padding=(0, 1))
        mark = (
            Text(f" {t('ring.repeat')} ", style="bold reverse red")
            if h.repeat_caller
            else Text(t("ring.new"))
        )
        grid.add_row(mark)
        grid.add_row(Text(t("ui.aside", text=t("ring.tickets"), aside=len(h.tickets)), style="bold"))
        grid.add_row(self._tickets(h, width) if h.tickets else Text(t("ring.none")))
        grid.add_row(
            Text(t("ui.aside", text=t("ring.calls"), aside=t("ring.count", n=len(h.calls))), style="bold")
        )
        calls = Table(box=None, show_edge=False, pad_edge=False)
        calls.add_column(t("ring.col.time"), no_wrap=True)
        calls.add_column(t("ring.col.result"), no_wrap=True)
        for call in h.calls[:MAX_CALLS]:
            calls.add_row(
                _local(call.offered_at), t("ring.answered") if call.answered_at else t("ring.missed")
            )
        grid.add_row(calls if h.calls else Text(t("ring.none")))
        return grid
