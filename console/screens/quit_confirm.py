"""Ctrl+Q (and the palette's Quit) when quitting would drop something: ask first, and say what.

:func:`quit_risk` reads what is at stake from the seat's call and the desk's form; ``QuitRisk.steps``
says how many explicit confirmations it takes: none when idle with nothing unsaved (quit at once),
one for a ringing or dialled call, an unfinished wrap-up or an unsaved ticket, two for a connected
call (the citizen hears the line drop) unless it is on hold and already transferred.

:class:`QuitConfirm` is an overlay (the desk, its caller and timer stay visible behind it). The
highlighted choice is always "stay", so an Enter typed for something else never quits. It re-reads
the risk when it is confirmed: if a call rang meanwhile, the operator is shown that first and asked
again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.i18n import Translator
from console.services.call_service import CallState, LiveCall
from store.vocabulary import AgentState

STAY, QUIT = "stay", "quit"


@dataclass(frozen=True)
class QuitRisk:
    """What quitting now would drop (nothing: quit at once)."""

    call_id: str | None = None
    call_state: CallState | None = None  # of the seat's current call
    masked: str = ""  # its number, masked
    transferred_to: str = ""  # a held call already handed on (the last transfer target)
    wrapup: bool = False  # the call ended and its disposition is not recorded yet
    unsaved_ticket: bool = False  # the desk's form holds typed text no saved ticket has taken

    @property
    def live(self) -> bool:
        """A connected call the citizen would hear drop (a held call already transferred is not)."""
        return self.call_state == "talking" or (self.call_state == "held" and not self.transferred_to)

    @property
    def steps(self) -> int:
        """How many explicit confirmations quitting takes."""
        if self.live:
            return 2
        if self.call_state in ("ringing", "dialing", "held") or self.wrapup or self.unsaved_ticket:
            return 1
        return 0


def quit_risk(call: LiveCall | None, agent_state: AgentState, unsaved_ticket: bool) -> QuitRisk:
    """The risk from the seat's current call, the agent state and whether the desk's form is unsaved."""
    if call is None:
        return QuitRisk(unsaved_ticket=unsaved_ticket)
    # a transfer the line confirmed (one only asked for may still fail: the citizen would be dropped)
    handed_on = (
        call.transferred[-1].text if call.transferred else call.transfers[-1] if call.transfers else ""
    )
    return QuitRisk(
        call_id=call.call_id,
        call_state=call.state,
        masked=call.masked,
        transferred_to=handed_on if call.state == "held" else "",
        wrapup=call.state == "ended" and agent_state == AgentState.WRAP_UP,
        unsaved_ticket=unsaved_ticket,
    )


def dropped_lines(risk: QuitRisk, translator: Translator) -> list[str]:
    """One line per thing quitting drops, in the operator's language."""
    t = translator.t
    lines = []
    state = t(f"call.{risk.call_state}") if risk.call_state else ""
    if risk.live:
        lines.append(t("quit.drop.live", number=risk.masked, state=state))
    elif risk.call_state == "held":
        lines.append(t("quit.drop.handed_on", number=risk.masked, state=state, target=risk.transferred_to))
    elif risk.call_state == "ringing":
        lines.append(t("quit.drop.ringing", number=risk.masked, state=state))
    elif risk.call_state == "dialing":
        lines.append(t("quit.drop.dialing", number=risk.masked, state=state))
    elif risk.wrapup:
        lines.append(t("quit.drop.wrapup", number=risk.masked))
    if risk.unsaved_ticket:
        lines.append(t("quit.drop.ticket"))
    return lines


class QuitConfirm(ModalScreen[bool]):
    """Asks before quitting; dismisses True only after ``risk().steps`` confirmations of what it showed."""

    DEFAULT_CSS = """
    QuitConfirm { align: center middle; }
    QuitConfirm > Vertical { width: 72; max-width: 100%; height: auto; border: thick $error;
                             background: $surface; padding: 0 1; }
    QuitConfirm #quit-title { text-style: bold; }
    QuitConfirm #quit-body { margin: 1 0; }
    QuitConfirm OptionList { height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "stay", show=False)]

    def __init__(self, translator: Translator, risk: Callable[[], QuitRisk]) -> None:
        super().__init__()
        self.tr = translator
        self.risk = risk
        self.shown = risk()  # what the operator is being asked about
        self.confirmed = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="quit-title")
            yield Static(id="quit-body")
            yield OptionList(id="quit-options")
            yield Static(self.tr.t("quit.keys"), id="quit-keys")

    def on_mount(self) -> None:
        self._draw()

    @property
    def step(self) -> int:
        """1 for the first question, 2 for the second one a live call takes."""
        return self.confirmed + 1

    def _draw(self) -> None:
        if not self.query("#quit-options"):  # not composed yet: on_mount draws what is shown then
            return
        t = self.tr.t
        risk = self.shown
        second = self.confirmed > 0
        self.query_one("#quit-title", Static).update(t("quit.again_title" if second else "quit.title"))
        if second:
            body = t("quit.again", number=risk.masked)
        elif risk.steps == 0:  # what was at stake is gone (the call ended, the ticket was saved)
            body = t("quit.nothing")
        else:
            body = "\n".join([t("quit.dropped"), *(f"· {line}" for line in dropped_lines(risk, self.tr))])
        self.query_one("#quit-body", Static).update(body)
        options = self.query_one("#quit-options", OptionList)
        options.clear_options()
        options.add_options(
            [
                Option(t("quit.stay"), id=STAY),
                Option(t("quit.hang_up_and_quit" if risk.live else "quit.quit"), id=QUIT),
            ]
        )
        options.highlighted = 0  # "stay": an Enter meant for the desk keeps the app
        options.focus()

    def refresh_risk(self) -> None:
        """What is at stake changed (a call rang, ended, was answered): show it, and start over."""
        now = self.risk()
        if now != self.shown:
            self.shown, self.confirmed = now, 0
            self._draw()

    @on(OptionList.OptionSelected, "#quit-options")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id != QUIT:
            self.dismiss(False)
            return
        now = self.risk()
        if now.steps == 0:  # nothing to drop any more
            self.dismiss(True)
            return
        if now != self.shown:  # the operator confirmed something else than what is at stake now
            self.shown, self.confirmed = now, 0
            self._draw()
            return
        self.confirmed += 1
        if self.confirmed >= now.steps:
            self.dismiss(True)
        else:
            self._draw()

    def action_stay(self) -> None:
        self.dismiss(False)
