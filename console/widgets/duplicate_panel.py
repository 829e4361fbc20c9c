"""The choices offered when a request being filed looks like an earlier one (``store.duplicates``).

API::

    panel = DuplicatePanel(translator, rehandle_directly=False, id="dup-panel")   # hidden until offered
    panel.offer(duplicates)     # show the choices, "new ticket" highlighted, the list focused
    panel.hide()

Message: ``DuplicatePanel.Chosen(verb, number)`` once the operator presses Enter on a choice (or Esc:
``cancel``); ``verb`` is ``new`` (新建工单, the default: highlighted first), ``merge`` (并单),
``follow`` (跟进), ``reopen`` (重办, or 申请重办 for a role that cannot re-handle), ``link_new`` (a new
ticket linking the old one) or ``cancel`` (back to the form); ``number`` is the earlier ticket's,
``None`` for ``new`` and ``cancel``.

The list shows, per candidate, one dimmed line (number, status, time, why) and only the choices the
store allows for it (``Duplicate.offers``): 并单 never into an answered, closed, evaluated or archived
ticket, and the same caller alone is a follow-up. The list is at most ``LIST_HEIGHT`` lines (it
scrolls with Up/Down/PageUp/PageDown/Home/End), so title and choices fit an 80×24 screen; on offer
the panel scrolls itself into its container's view.

``read_back(tr, told, number, old)``: what the read-back box says after a choice was saved, and
which number the operator reads to the caller (after 并单: the parent's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from console.i18n import Translator, local_minute
from store.duplicates import Duplicate, Offer, Reason

__all__ = ["LIST_HEIGHT", "DuplicatePanel", "ReadBack", "Told", "Verb", "read_back"]

Verb = Literal["merge", "follow", "reopen", "link_new", "new", "cancel"]
VERBS: tuple[Verb, ...] = ("merge", "follow", "reopen", "link_new", "new", "cancel")
# the store's offers in the order the panel lists them under a candidate
OFFER_ORDER: tuple[Offer, ...] = ("merge", "reopen", "link_new", "follow")
REASON_KEYS: dict[Reason, str] = {
    "same_caller": "dup.same_caller",
    "same_leaf": "dup.same_leaf",
    "same_matter": "dup.same_matter",
    "same_place": "dup.same_place",
}
LIST_HEIGHT = 9  # lines: with the title and the border the panel takes 12 rows, half of 24

Told = Literal["merged", "follow", "rehandled", "requested", "linked"]


class DuplicatePanel(Vertical):
    """See the module docstring."""

    DEFAULT_CSS = f"""
    DuplicatePanel {{ height: auto; border: round $warning; padding: 0 1; }}
    DuplicatePanel.hidden {{ display: none; }}
    DuplicatePanel > #dup-title {{ height: 1; text-style: bold; }}
    DuplicatePanel > OptionList {{ height: auto; max-height: {LIST_HEIGHT}; }}
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "dup.cancel", show=False),
    ]

    @dataclass
    class Chosen(Message):
        verb: Verb
        number: str | None = None

    def __init__(
        self, translator: Translator, *, rehandle_directly: bool = False, id: str | None = None
    ) -> None:
        super().__init__(id=id, classes="hidden")  # the form's convention: shown by dropping "hidden"
        self.tr = translator
        self.rehandle_directly = rehandle_directly  # a supervisor: 重办 itself, not a request for one
        self.duplicates: tuple[Duplicate, ...] = ()

    def compose(self) -> ComposeResult:
        yield Label(self.tr.t("dup.title"), id="dup-title")
        yield OptionList(id="dup-options")

    @property
    def options(self) -> OptionList:
        return self.query_one("#dup-options", OptionList)

    @property
    def is_open(self) -> bool:
        return not self.has_class("hidden")

    def offer(self, duplicates: Sequence[Duplicate]) -> None:
        """Show the choices for ``duplicates``; "new ticket" is highlighted and the list focused."""
        self.duplicates = tuple(duplicates)
        options = self.options
        options.clear_options()
        options.add_options(self._choices())
        self.remove_class("hidden")
        options.highlighted = 0  # 新建工单: a wrong merge loses a complaint, a wrong new ticket does not
        options.focus(scroll_visible=False)
        # after the layout that gives the opened panel its size (before it, it has none to show)
        self.call_after_refresh(self.scroll_visible, animate=False, immediate=True)

    def hide(self) -> None:
        self.add_class("hidden")

    def _choices(self) -> list[Option]:
        t = self.tr.t
        choices = [Option(t("dup.new"), id="new")]
        for dup in self.duplicates:
            why = t("dup.why_separator").join(t(REASON_KEYS[reason]) for reason in dup.reasons)
            choices.append(
                Option(
                    t(
                        "dup.ticket",
                        number=dup.number,
                        status=self.tr.label("ticket_status", dup.status),
                        when=local_minute(dup.created_at),
                        why=why,
                    ),
                    disabled=True,  # a heading: the cursor skips it
                )
            )
            for verb in (o for o in OFFER_ORDER if o in dup.offers):
                # indented under its heading
                choices.append(Option(f"  {self._verb_text(verb, dup.number)}", id=f"{verb}:{dup.number}"))
        choices.append(Option(t("dup.cancel"), id="cancel"))
        return choices

    def _verb_text(self, verb: Offer, number: str) -> str:
        key = {
            "merge": "dup.merge_into",
            "reopen": "dup.reopen" if self.rehandle_directly else "dup.reopen_request",
            "link_new": "dup.link_new",
            "follow": "dup.follow",
        }[verb]
        return self.tr.t(key, number=number)

    @on(OptionList.OptionSelected, "#dup-options")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        verb, _, number = (event.option.id or "cancel").partition(":")
        self._choose(verb if verb in VERBS else "cancel", number or None)

    def action_cancel(self) -> None:
        if self.is_open:
            self._choose("cancel", None)

    def _choose(self, verb: Verb, number: str | None) -> None:
        self.hide()
        self.post_message(self.Chosen(verb, number))


@dataclass(frozen=True)
class ReadBack:
    """The number the operator reads to the caller, and the sentence under it."""

    number: str
    text: str


def read_back(tr: Translator, told: Told, number: str, old: str | None = None) -> ReadBack:
    """After a choice was saved: ``number`` is the ticket written (the new one; for ``follow``,
    ``rehandled`` and ``requested`` the earlier one itself), ``old`` the earlier ticket (the parent of a
    merge, the ticket a new one links). After 并单 the caller is told the parent's number: that is the
    ticket that will be handled and answered."""
    old = old or number
    if told == "merged":
        return ReadBack(old, tr.t("dup.told_merged", parent=old, number=number))
    if told == "linked":
        return ReadBack(number, tr.t("dup.told_linked", number=number, old=old))
    key = {"follow": "dup.told_follow", "rehandled": "dup.told_rehandled", "requested": "dup.told_requested"}
    return ReadBack(number, tr.t(key[told], number=number))
