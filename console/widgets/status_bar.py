"""The status bar: operator, agent state and time in it, line, calls waiting, sync, clock."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from textual.widgets import Static

from console.i18n import Translator
from store.vocabulary import AgentState
from store.workcal import SHANGHAI


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


def clock_text(seconds: int) -> str:
    minutes, secs = divmod(max(0, seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes:02d}:{secs:02d}"


class StatusBar(Static):
    """One line docked at the top; ``show(view)`` redraws it (cheap: one Text)."""

    DEFAULT_CSS = """
    StatusBar { dock: top; height: 1; background: $primary-background; color: $text; padding: 0 1; }
    StatusBar.line-down { background: $error; }
    """

    def __init__(self, translator: Translator, **kw: object) -> None:
        super().__init__("", **kw)  # type: ignore[arg-type]
        self.tr = translator

    def _state(self, view: StatusView) -> str:
        label = self.tr.label("agent_state", view.state)
        return f"{label}({view.reason})" if view.reason else label

    def show(self, view: StatusView) -> None:
        t = self.tr.t
        line = t(f"status.line.{view.line_state}")
        parts = [
            f"{t('status.operator')}：{view.operator or t('status.nobody')}",
            f"{self._state(view)} {clock_text(view.seconds_in_state)}",
            f"{t('status.line')}：{line}",
            f"{t('status.waiting')}：{view.waiting}",
            f"{t('status.sync')}：{view.sync}",
        ]
        if view.pending_pause:
            parts.insert(2, f"{t('status.pending_pause')}：{view.pending_pause}")
        parts.append(view.now.astimezone(SHANGHAI).strftime("%H:%M:%S"))
        self.set_class(view.line_state == "down", "line-down")
        self.update("  |  ".join(parts))
