"""F1: every binding by id, its key (as configured in [keymap]) and what it does."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from console.i18n import Translator
from console.keymap import help_rows

CATALOGUE = {
    "zh_CN": {
        "help.title": "快捷键（可在配置文件 [keymap] 中修改）",
        "help.id": "编号",
        "help.key": "按键",
        "help.what": "功能",
        "help.close": "关闭",
    },
    "en": {
        "help.title": "Keys (remap them in [keymap] of the config file)",
        "help.id": "id",
        "help.key": "key",
        "help.what": "does",
        "help.close": "Close",
    },
}


class HelpScreen(Screen[None]):
    DEFAULT_CSS = "HelpScreen { padding: 1 2; } HelpScreen #help-title { text-style: bold; }"

    def __init__(
        self, translator: Translator, keys: Mapping[str, str], others: Mapping[str, str] | None = None
    ) -> None:
        super().__init__()
        self.tr, self.keys, self.others = translator, keys, others or {}
        self._bindings.bind("escape", "close", translator.t("help.close"))
        self._bindings.bind(keys.get("help", "f1"), "close", show=False)

    def compose(self) -> ComposeResult:
        t = self.tr.t
        table = Table(box=None, pad_edge=False)
        for col in ("help.id", "help.key", "help.what"):
            table.add_column(t(col), no_wrap=True)
        for binding_id, key, what in help_rows(self.keys, self.tr, self.others):
            table.add_row(binding_id, key, what)
        yield Static(Text(t("help.title")), id="help-title")
        with VerticalScroll():
            yield Static(table, id="help-table")
        yield Footer()

    def action_close(self) -> None:
        self.dismiss(None)
