"""F1: every binding by id, its key (as configured in [keymap]) and what it does.

The rows come from the bindings the screens declare (``console.keymap.declared``), so the list
cannot drift from what the keys really do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from console.i18n import Translator
from console.keymap import KeyFooter, help_rows


class HelpScreen(Screen[None]):
    DEFAULT_CSS = "HelpScreen { padding: 1 2; } HelpScreen #help-title { text-style: bold; }"
    # (the help key itself is the app's priority binding: pressed here it leaves the list open)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "help.close")]

    def __init__(
        self, translator: Translator, bindings: Mapping[str, Binding], keys: Mapping[str, str]
    ) -> None:
        super().__init__()
        self.tr, self.bindings, self.keys = translator, bindings, keys

    def compose(self) -> ComposeResult:
        t = self.tr.t
        table = Table(box=None, pad_edge=False)
        for col in ("help.id", "help.key", "help.what"):
            table.add_column(t(col), no_wrap=True)
        for row in help_rows(self.bindings, self.keys, self.tr):
            table.add_row(row.binding_id, row.key, row.what)
        yield Static(Text(t("help.title")), id="help-title")
        with VerticalScroll():
            yield Static(table, id="help-table")
        yield KeyFooter(self.tr)

    def action_close(self) -> None:
        self.dismiss(None)
