"""Every key binding of the console, with its id, so ``[keymap]`` in the config can remap it.

The ids are the keys of ``console.config.KeymapConfig``; the app applies the configured keys with
Textual's ``App.set_keymap`` (bindings are matched by ``id``). The help screen (F1) and the command
palette are built from ``SPECS``, so they always show what a key really does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from textual.binding import Binding

from console.config import KeymapConfig
from console.i18n import Translator

Scope = Literal["app", "desk"]


@dataclass(frozen=True)
class BindingSpec:
    id: str  # the key of [keymap]
    action: str  # the Textual action it runs
    scope: Scope  # app: everywhere; desk: the operator screen
    show: bool = True  # in the footer


SPECS: tuple[BindingSpec, ...] = (
    BindingSpec("help", "help", "app"),
    BindingSpec("quit", "quit", "app"),
    BindingSpec("caller_history", "caller_history", "desk", show=False),
    BindingSpec("knowledge", "knowledge", "desk", show=False),
    BindingSpec("mute", "mute", "desk"),
    BindingSpec("answer", "answer", "desk"),
    BindingSpec("hold", "hold", "desk"),
    BindingSpec("transfer", "transfer", "desk"),
    BindingSpec("hangup", "hangup", "desk"),
    BindingSpec("ready", "ready", "desk"),
    BindingSpec("pause", "pause", "desk", show=False),
    BindingSpec("save", "save_ticket", "desk", show=False),
    BindingSpec("search", "focus_search", "desk", show=False),
    BindingSpec("new_ticket", "new_ticket", "desk", show=False),
    BindingSpec("worklists", "worklists", "desk", show=False),
    BindingSpec("dtmf", "dtmf", "desk", show=False),
)
# the command palette is Textual's own binding; its key comes from [keymap] palette
PALETTE_ID = "palette"

CATALOGUE = {
    "zh_CN": {
        "key.help": "帮助",
        "key.quit": "退出",
        "key.caller_history": "来电历史",
        "key.knowledge": "知识库",
        "key.mute": "静音",
        "key.answer": "接听",
        "key.hold": "保持/恢复",
        "key.transfer": "转接",
        "key.hangup": "挂断",
        "key.ready": "就绪/示忙",
        "key.pause": "示忙",
        "key.save": "保存工单",
        "key.search": "分类搜索",
        "key.new_ticket": "新建工单",
        "key.worklists": "工作清单",
        "key.dtmf": "拨号键盘",
        "key.palette": "命令面板",
    },
    "en": {
        "key.help": "Help",
        "key.quit": "Quit",
        "key.caller_history": "Caller history",
        "key.knowledge": "Knowledge",
        "key.mute": "Mute",
        "key.answer": "Answer",
        "key.hold": "Hold/resume",
        "key.transfer": "Transfer",
        "key.hangup": "Hang up",
        "key.ready": "Ready/not ready",
        "key.pause": "Not ready",
        "key.save": "Save ticket",
        "key.search": "Classify",
        "key.new_ticket": "New ticket",
        "key.worklists": "Worklists",
        "key.dtmf": "Keypad",
        "key.palette": "Command palette",
    },
}


def keymap_of(config: KeymapConfig) -> dict[str, str]:
    """Binding id → key, as configured (every id of SPECS plus the palette)."""
    return dict(config.model_dump())


def bindings(scope: Scope, keys: Mapping[str, str], translator: Translator) -> list[Binding]:
    """The Textual bindings of ``scope``, with ids (remappable) and translated descriptions."""
    return [
        Binding(
            keys.get(spec.id, spec.id),
            spec.action,
            translator.t(f"key.{spec.id}"),
            show=spec.show,
            id=spec.id,
            priority=spec.scope == "app" or spec.id in PRIORITY_IDS,
        )
        for spec in SPECS
        if spec.scope == scope
    ]


# call control must work whatever widget has the focus (an Input of the ticket form eats F-keys
# otherwise only if it binds them; priority makes the desk's keys win)
PRIORITY_IDS = frozenset({"answer", "hold", "transfer", "hangup", "ready", "pause", "mute", "dtmf", "save"})


def help_rows(
    keys: Mapping[str, str], translator: Translator, others: Mapping[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """(id, key, what it does) for every configured binding: the desk's, the palette, then the ids
    other screens own (described by ``others``, id → text; the id itself when not described)."""
    rows = [(spec.id, keys.get(spec.id, ""), translator.t(f"key.{spec.id}")) for spec in SPECS]
    rows.append((PALETTE_ID, keys.get(PALETTE_ID, "ctrl+p"), translator.t(f"key.{PALETTE_ID}")))
    known = {row[0] for row in rows}
    rows += [(bid, key, (others or {}).get(bid, bid)) for bid, key in keys.items() if bid not in known]
    return rows
