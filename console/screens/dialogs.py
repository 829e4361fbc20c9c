"""Small modal dialogs of the desk: pause reason, transfer target, consultation, DTMF keypad.

Each one is keyboard-only and returns its answer with ``dismiss`` (None = cancelled with Escape).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from console.i18n import Translator
from console.services.transfer_notes import TransferMode
from taxonomy.model import HANDOFFS

# An overlay over the form side of the desk (the desk's left column is at most 40% wide, see
# console/app.tcss), below the status bar: the caller, the call timer and the bar stay in view.
DIALOG_CSS = """
NAME { align: right top; }
NAME > Vertical { width: 60%; min-width: 44; max-width: 90; height: auto; max-height: 90%;
                  margin: 1 0 1 0; border: thick $accent; background: $surface; padding: 0 1; }
NAME OptionList { height: auto; max-height: 12; }
"""


class _PickDialog(ModalScreen[str | None]):
    """A title and a list: Enter returns the option's id, Escape None."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, title: str, options: Sequence[Option]) -> None:
        super().__init__()
        self.title_text = title
        self.options = list(options)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.title_text)
            yield OptionList(*self.options)

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class PauseReasonDialog(_PickDialog):
    DEFAULT_CSS = DIALOG_CSS.replace("NAME", "PauseReasonDialog")

    def __init__(self, translator: Translator, reasons: Sequence[str]) -> None:
        super().__init__(translator.t("dlg.pause"), [Option(r, id=r) for r in reasons])


@dataclass(frozen=True)
class TransferTarget:
    number: str
    label: str


@dataclass(frozen=True)
class TransferChoice:
    target: TransferTarget
    mode: TransferMode


EMERGENCY_KEYS = {str(key): number for key, number in enumerate(HANDOFFS, start=1)}  # 1 → 110 … 4 → 122


class TransferDialog(ModalScreen[TransferChoice | None]):
    """Targets: the four emergency numbers (keys 1-4), departments with a number, or a typed number."""

    DEFAULT_CSS = DIALOG_CSS.replace("NAME", "TransferDialog")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", show=False),
        Binding("ctrl+o", "consult", show=False, priority=True),
        *[Binding(k, f"emergency('{n}')", show=False) for k, n in EMERGENCY_KEYS.items()],
    ]

    def __init__(
        self, translator: Translator, targets: Sequence[TransferTarget], preselect: str = ""
    ) -> None:
        super().__init__()
        self.tr = translator
        emergency = [TransferTarget(n, translator.t(f"dlg.emergency.{n}")) for n in EMERGENCY_KEYS.values()]
        self.targets = [*emergency, *(t for t in targets if t.number not in EMERGENCY_KEYS.values())]
        self.preselect = preselect

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.tr.t("dlg.transfer"))
            yield OptionList(
                *[Option(f"{t.label}  {t.number}", id=str(i)) for i, t in enumerate(self.targets)],
                id="targets",
            )
            yield Input(
                placeholder=self.tr.t("dlg.transfer_number"),
                id="number",
                restrict=r"[0-9*#+]*",
                max_length=32,
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        for i, target in enumerate(self.targets):
            if target.number == self.preselect:
                options.highlighted = i

    def _highlighted(self) -> TransferTarget | None:
        number = self.query_one("#number", Input).value.strip()
        if number:
            return TransferTarget(number, number)
        index = self.query_one(OptionList).highlighted
        return self.targets[index] if index is not None else None

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(TransferChoice(self.targets[int(event.option.id or 0)], "blind"))

    @on(Input.Submitted, "#number")
    def _typed(self, event: Input.Submitted) -> None:
        if event.value.strip():
            self.dismiss(TransferChoice(TransferTarget(event.value.strip(), event.value.strip()), "blind"))

    def action_emergency(self, number: str) -> None:
        if isinstance(self.focused, Input):  # digits typed into the number field are digits
            return
        self.dismiss(TransferChoice(TransferTarget(number, number), "blind"))

    def action_consult(self) -> None:
        target = self._highlighted()
        if target is not None:
            self.dismiss(TransferChoice(target, "attended"))

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConsultDialog(_PickDialog):
    """During a consultation: complete the transfer or go back to the caller."""

    DEFAULT_CSS = DIALOG_CSS.replace("NAME", "ConsultDialog")

    def __init__(self, translator: Translator, target: str, connected: bool) -> None:
        t = translator.t
        super().__init__(
            f"{t('dlg.consult')}  {target}",
            [
                Option(t("dlg.consult.complete"), id="complete", disabled=not connected),
                Option(t("dlg.consult.cancel"), id="cancel"),
            ],
        )


class DtmfDialog(ModalScreen[None]):
    """A keypad: each Enter sends what was typed, the dialog stays until Escape."""

    DEFAULT_CSS = DIALOG_CSS.replace("NAME", "DtmfDialog")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", show=False)]

    def __init__(self, translator: Translator, send: Callable[[str], object]) -> None:
        super().__init__()
        self.tr = translator
        self.send = send

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.tr.t("dlg.dtmf"))
            yield Input(id="digits", restrict=r"[0-9*#A-Da-d]*", max_length=32)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _send(self, event: Input.Submitted) -> None:
        if event.value:
            self.send(event.value.upper())
        event.input.value = ""

    def action_close(self) -> None:
        self.dismiss(None)
