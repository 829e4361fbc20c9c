"""How ``[keymap]`` reaches the key bindings, and how the bindings are shown in the operator's language.

Every screen and widget declares its own ``BINDINGS`` with an ``id`` (the key of ``[keymap]``) and, as
description, the locale key of its text (``Binding("f5", "answer", "key.answer", id="answer")``).
:func:`declared` collects them from the owning classes; ``KeymapConfig.keys_over`` checks the
configured table against them, and the app applies the result with Textual's ``App.set_keymap``.
Textual shows ``Binding.description`` as it is, so the texts are looked up where they are displayed:
:class:`KeyFooter` (the footer), the help screen (F1) and the command palette.

The command palette's binding is Textual's own (``App.COMMAND_PALETTE_BINDING``); it has the id
``palette`` here, and the app sets that attribute to the configured key.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import NamedTuple

from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap
from textual.dom import DOMNode
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # the footer's key widget: not re-exported by Textual

from console.i18n import Translator

PALETTE_ID = "palette"


def declared(owners: Iterable[type[DOMNode]]) -> dict[str, Binding]:
    """Binding id → the binding an owner declares for it, in declaration order; an id declared by two
    owners (``save``: the ticket form's and the worklists') keeps the first one."""
    found: dict[str, Binding] = {}
    for owner in owners:
        for _key, binding in BindingsMap(owner.BINDINGS):
            if binding.id is not None:
                found.setdefault(binding.id, binding)
        if issubclass(owner, App) and owner.ENABLE_COMMAND_PALETTE:
            found.setdefault(
                PALETTE_ID,
                Binding(
                    owner.COMMAND_PALETTE_BINDING, "command_palette", "key.palette", show=False, id=PALETTE_ID
                ),
            )
    return found


def default_keys(bindings: Mapping[str, Binding]) -> dict[str, str]:
    """Binding id → its declared key: the defaults ``[keymap]`` changes."""
    return {binding_id: binding.key for binding_id, binding in bindings.items()}


class HelpRow(NamedTuple):
    binding_id: str
    key: str  # as configured
    what: str  # in the operator's language


def help_rows(
    bindings: Mapping[str, Binding], keys: Mapping[str, str], translator: Translator
) -> list[HelpRow]:
    """One row per binding id, with its configured key (its declared one when ``keys`` has none)."""
    return [
        HelpRow(binding_id, keys.get(binding_id, binding.key), translator.t(binding.description))
        for binding_id, binding in bindings.items()
    ]


class KeyFooter(Footer):
    """Textual's footer, with each binding's description (a locale key) in the operator's language."""

    def __init__(self, translator: Translator, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.tr = translator

    def compose(self) -> ComposeResult:
        for widget in super().compose():
            if isinstance(widget, FooterKey) and widget.description:
                widget.description = self.tr.t(widget.description)
            yield widget
