"""The call panel (state, number, timer, hold/mute, the keys that apply now) and the wrap-up panel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.i18n import Translator
from console.widgets.status_bar import clock_text

# which keys the panel suggests in each call state (binding ids)
HINTS: Mapping[str, tuple[str, ...]] = {
    "idle": ("ready", "pause"),
    "ringing": ("answer", "hangup"),
    "dialing": ("hangup",),
    "talking": ("hold", "mute", "transfer", "dtmf", "hangup"),
    "held": ("hold", "transfer", "hangup"),
    "ended": ("ready",),
}


@dataclass(frozen=True)
class CallView:
    state: str  # idle | ringing | dialing | talking | held | ended
    number: str = ""
    place: str = ""
    seconds: int = 0
    muted: bool = False
    consult_target: str = ""
    consult_up: bool = False


class CallPanel(Static):
    DEFAULT_CSS = """
    CallPanel { height: auto; border: round $panel; padding: 0 1; }
    CallPanel.talking { border: round $success; }
    CallPanel.held { border: round $warning; }
    """

    def __init__(self, translator: Translator, keys: Mapping[str, str], **kw: object) -> None:
        super().__init__("", **kw)  # type: ignore[arg-type]
        self.tr = translator
        self.keys = keys

    def show(self, view: CallView) -> None:
        t = self.tr.t
        text = Text()
        text.append(t(f"call.{view.state}"), style="bold")
        if view.number:
            text.append(f"  {view.number}")
        if view.place:
            text.append(f"  {view.place}")
        if view.state in ("talking", "held", "ended"):
            text.append(f"\n{t('call.timer')} {clock_text(view.seconds)}")
        if view.muted:
            text.append(f"  {t('call.muted')}", style="bold red")
        if view.consult_target:
            text.append("\n" + t("call.consult", target=view.consult_target))
            text.append(t("call.consult_up") if view.consult_up else t("call.consult_wait"))
        hints = [f"{self.keys.get(k, k).upper()} {t(f'key.{k}')}" for k in HINTS.get(view.state, ())]
        text.append("\n" + "  ".join(hints), style="dim")
        for state in ("talking", "held"):
            self.set_class(view.state == state, state)
        self.update(text)


class WrapupPanel(Vertical):
    """Shown during 话后整理: the countdown and the disposition list. ``start(implied)`` opens it for a
    call: nothing highlighted, or the one the call's facts imply; Enter or the digit shown confirms.
    While the call's ticket is still being written (``show(..., held=True)``) the list is hidden, so
    keys typed for the form never pick a disposition."""

    DEFAULT_CSS = """
    WrapupPanel { height: auto; max-height: 14; border: round $accent; padding: 0 1; display: none; }
    WrapupPanel.active { display: block; }
    WrapupPanel OptionList { height: auto; max-height: 9; }
    WrapupPanel.held OptionList { display: none; }
    """

    class Picked(Message):
        def __init__(self, disposition: str) -> None:
            super().__init__()
            self.disposition = disposition

    def __init__(self, translator: Translator, dispositions: Sequence[str], **kw: object) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.tr = translator
        self.dispositions = tuple(dispositions)

    def compose(self) -> ComposeResult:
        yield Static("", id="wrap-head")
        yield OptionList(
            *[
                Option(f"{i}. {self.tr.label('disposition', d)}", id=d)
                for i, d in enumerate(self.dispositions, 1)
            ],
            id="wrap-options",
        )

    def start(self, implied: str | None) -> None:
        """A new wrap-up: forget the last call's highlight; ``implied`` (if any) is highlighted."""
        options = self.query_one("#wrap-options", OptionList)
        options.highlighted = self.dispositions.index(implied) if implied in self.dispositions else None

    def show(self, seconds_left: int, pending_pause: str | None, *, held: bool = False) -> None:
        t = self.tr.t
        if held:
            head = f"{t('wrap.title')}  {t('wrap.held')}"
        else:
            head = f"{t('wrap.title')}  {t('wrap.left', left=seconds_left)}  {t('wrap.pick')}"
        if pending_pause:
            head += "\n" + t("wrap.then_pause", reason=pending_pause)
        self.set_class(held, "held")
        self.query_one("#wrap-head", Static).update(head)

    def on_key(self, event: events.Key) -> None:
        """The digit shown next to a disposition confirms it."""
        if self.has_class("held") or not event.character or not event.character.isdigit():
            return
        index = int(event.character) - 1
        if 0 <= index < len(self.dispositions):
            event.stop()
            event.prevent_default()
            self.post_message(self.Picked(self.dispositions[index]))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if event.option.id and not self.has_class("held"):
            self.post_message(self.Picked(event.option.id))
