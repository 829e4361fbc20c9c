"""F1: every key, as configured in [keymap], and what it does in words, grouped by where it works.

The rows come from the bindings the screens declare (``console.keymap.help_sections``), so the list
cannot drift from what the keys really do. The binding ids ([keymap]'s names) are not shown: they
mean nothing to an operator. The status bar stays on top (the app draws it, like on the desk).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Static

from console.i18n import Translator
from console.keymap import KeyFooter, help_sections
from console.widgets.status_bar import StatusBar


class HelpScreen(Screen[None]):
    DEFAULT_CSS = "HelpScreen #help-body { padding: 1 2; } HelpScreen #help-title { text-style: bold; }"
    # (the help key itself is the app's priority binding: pressed here it leaves the list open)
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "help.close")]

    def __init__(
        self,
        translator: Translator,
        groups: Iterable[tuple[str, type[DOMNode]]],
        keys: Mapping[str, str],
    ) -> None:
        super().__init__()
        self.tr, self.groups, self.keys = translator, tuple(groups), keys

    def compose(self) -> ComposeResult:
        t = self.tr.t
        table = Table(box=None, pad_edge=False)
        for col in ("help.key", "help.what"):
            table.add_column(t(col), no_wrap=True)
        for section in help_sections(self.groups, self.keys, self.tr):
            table.add_row("", "")
            table.add_row(Text(section.title, style="bold"), "")
            for row in section.rows:
                table.add_row(row.key, row.what)
        yield StatusBar(self.tr, id="status")
        with VerticalScroll(id="help-body"):
            yield Static(Text(t("help.title")), id="help-title")
            yield Static(table, id="help-table")
        yield KeyFooter(self.tr)

    def action_close(self) -> None:
        self.dismiss(None)
