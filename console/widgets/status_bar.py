"""The status bar: operator, agent state and time in it, line, calls waiting, sync, clock.

One line on every narrow or wide terminal: when the parts do not fit, the separators narrow first,
then the least useful parts go (sync, operator, waiting, pause after call, line), never the agent
state with its timer, the mute mark or the clock. During a call the timer is the call's talk time
(the number the call panel shows), not the time since the last state change, which restarts on
hold and resume.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import Static

from console.i18n import Translator
from store.vocabulary import AgentState
from store.workcal import SHANGHAI

SEPARATORS = ("  |  ", " | ", " ")  # tried widest first
KEEP = 0  # rank of the parts never dropped


@dataclass(frozen=True)
class StatusView:
    """What the bar shows; built by the desk screen from ``console.services.call_service.CallService``."""

    operator: str
    state: AgentState  # shown by its label in the locale files
    seconds_in_state: int
    line_state: str
    waiting: int
    sync: str
    now: dt.datetime
    pending_pause: str | None = None
    reason: str | None = None  # of 示忙
    in_call: bool = False  # a call is connected (talking or held)
    call_seconds: int = 0  # talk time of the current call (the call panel shows the same)
    muted: bool = False  # the operator's microphone is off


def clock_text(seconds: int) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


@dataclass(frozen=True)
class Part:
    """One part of the bar; parts of a higher ``rank`` are dropped first when the line is too narrow."""

    text: Text
    rank: int


def fit(parts: list[Part], width: int) -> Text:
    """The parts, in their order, joined into at most ``width`` cells (``width`` <= 0: all of them).

    Narrower separators are tried before any part is dropped; the parts of rank ``KEEP`` always stay.
    """
    ranks = sorted({p.rank for p in parts if p.rank != KEEP}, reverse=True)
    for dropped in range(len(ranks) + 1):
        gone = set(ranks[:dropped])
        kept = [p.text for p in parts if p.rank not in gone]
        for sep in SEPARATORS:
            line = Text(sep).join(kept)
            if width <= 0 or cell_len(line.plain) <= width:
                return line
    return Text(SEPARATORS[-1]).join([p.text for p in parts if p.rank == KEEP])


class StatusBar(Static):
    """One line docked at the top; ``show(view)`` redraws it (cheap: one Text), a resize refits it."""

    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; background: $primary-background; color: $text; padding: 0 1; }
    StatusBar.muted { background: $warning; color: auto 90%; text-style: bold; }
    StatusBar.line-down { background: $error; }
    """

    def __init__(self, translator: Translator, **kw: object) -> None:
        super().__init__("", **kw)  # type: ignore[arg-type]
        self.tr = translator
        self.view: StatusView | None = None

    def _state(self, view: StatusView) -> Text:
        label = self.tr.label("agent_state", view.state)
        text = Text(f"{label}({view.reason})" if view.reason else label)
        seconds = view.call_seconds if view.in_call else view.seconds_in_state
        text.append(f" {clock_text(seconds)}")
        if view.muted:
            text.append(" ")
            text.append(f" {self.tr.t('status.muted')} ", style="bold reverse")
        return text

    def parts(self, view: StatusView) -> list[Part]:
        """Every part of the bar in display order, with the rank that says which go first."""
        t = self.tr.t
        line_down = view.line_state == "down"
        parts = [
            Part(
                Text(t("ui.labelled", label=t("status.operator"), value=view.operator or t("status.nobody"))),
                5,
            ),
            Part(self._state(view), KEEP),
        ]
        if view.pending_pause:
            parts.append(
                Part(Text(t("ui.labelled", label=t("status.pending_pause"), value=view.pending_pause)), 3)
            )
        parts += [
            Part(
                Text(t("ui.labelled", label=t("status.line"), value=t(f"status.line.{view.line_state}"))),
                KEEP if line_down else 2,
            ),
            Part(Text(t("ui.labelled", label=t("status.waiting"), value=view.waiting)), 4),
            Part(Text(t("ui.labelled", label=t("status.sync"), value=view.sync)), 6),
            Part(Text(view.now.astimezone(SHANGHAI).strftime("%H:%M:%S")), 1),
        ]
        return parts

    def show(self, view: StatusView) -> None:
        self.view = view
        self.set_class(view.line_state == "down", "line-down")
        self.set_class(view.muted, "muted")
        self.update(fit(self.parts(view), self.content_size.width))

    def on_resize(self, _event: events.Resize) -> None:
        if self.view is not None:
            self.show(self.view)
