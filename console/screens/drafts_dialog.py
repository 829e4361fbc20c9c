"""The operator's unsaved ticket drafts (Ctrl+R): pick one to reopen it, with the call it was for.

Each line names the call (masked number and when it came in, or "no call"), the matter picked and
the first words typed, so the operator can tell one caller's draft from another's. Enter returns the
chosen ``UnsavedDraft``; Escape None.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from console.i18n import Translator, local_minute
from console.screens.dialogs import DIALOG_CSS
from console.services.ticket_service import UnsavedDraft
from store.callers import mask_phone

EXCERPT = 24  # characters of the description on each line


def draft_line(tr: Translator, draft: UnsavedDraft) -> str:
    """One line of the list: whose call, when, what."""
    call = draft.call
    who = tr.t("drafts.call", number=mask_phone(call.caller) or "—") if call else tr.t("drafts.no_call")
    matter = " / ".join(draft.form.leaf_path[-2:]) or tr.t("drafts.no_matter")
    words = " ".join(draft.form.description.split())
    if len(words) > EXCERPT:
        words = words[:EXCERPT] + "…"
    return f"{who}  {local_minute(draft.at)}  {matter}  {words}".rstrip()


class DraftsDialog(ModalScreen[UnsavedDraft | None]):
    DEFAULT_CSS = DIALOG_CSS.replace("NAME", "DraftsDialog")
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", show=False)]

    def __init__(self, translator: Translator, drafts: Sequence[UnsavedDraft]) -> None:
        super().__init__()
        self.tr = translator
        self.drafts = list(drafts)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.tr.t("drafts.title"))
            yield OptionList(*[Option(draft_line(self.tr, d), id=str(i)) for i, d in enumerate(self.drafts)])

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _picked(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self.drafts[int(event.option.id or 0)])

    def action_cancel(self) -> None:
        self.dismiss(None)
