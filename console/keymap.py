"""How ``[keymap]`` reaches the key bindings, and how the bindings are shown in the operator's language.

Every screen and widget declares its own ``BINDINGS`` with an ``id`` (the key of ``[keymap]``) and, as
description, the locale key of its text (``Binding("f5", "answer", "key.answer", id="answer")``).
:func:`declared` collects them from the owning classes; ``KeymapConfig.keys_over`` checks the
configured table against them, and the app applies the result with Textual's ``App.set_keymap``.
Textual shows ``Binding.description`` as it is, so the texts are looked up where they are displayed:
:class:`KeyFooter` (the footer), the help screen (F1) and the command palette (:class:`Palette`,
:class:`PaletteCommands`). Keys are written the same way in all three (:func:`key_label`, ``Ctrl+S``)
and listed in one order (:func:`key_rank`), so a key sits in the same place on every screen.

The command palette's binding is Textual's own (``App.COMMAND_PALETTE_BINDING``); it has the id
``palette`` here, and the app sets that attribute to the configured key.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from rich.align import Align
from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import ActiveBinding, Binding, BindingsMap
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # the footer's key widget: not re-exported by Textual
from textual.widgets.option_list import Option

from console.i18n import FALLBACK, Translator

if TYPE_CHECKING:
    from textual.screen import Screen

PALETTE_ID = "palette"
QUIT_ID = "quit"
# Textual's own bindings that can reach the footer (shown: True), by their English description
TEXTUAL_DESCRIPTIONS = {"Dismiss menu": "key.dismiss_menu"}
# named keys as printed on the keycaps; anything else keeps Textual's name
KEY_NAMES = {
    "escape": "Esc",
    "enter": "Enter",
    "tab": "Tab",
    "space": "Space",
    "backspace": "Backspace",
    "delete": "Del",
    "insert": "Ins",
    "home": "Home",
    "end": "End",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
}
_FKEY = re.compile(r"f(\d{1,2})")


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


def key_label(key: str) -> str:
    """A key as the operator reads it on the keyboard: ``f5`` → ``F5``, ``ctrl+s`` → ``Ctrl+S``,
    ``escape`` → ``Esc``; a plain letter stays lower-case (``D`` would read as Shift+D). Several keys
    bound to one action (``"f5,ctrl+a"``) are joined with ``/``."""
    if "," in key:
        return "/".join(key_label(part.strip()) for part in key.split(",") if part.strip())
    *modifiers, base = key.split("+")
    if _FKEY.fullmatch(base):
        shown = base.upper()
    elif base in KEY_NAMES:
        shown = KEY_NAMES[base]
    elif modifiers and len(base) == 1:
        shown = base.upper()
    else:
        shown = base
    return "+".join([*(m.capitalize() for m in modifiers), shown])


def key_rank(key: str) -> tuple[int, int, str]:
    """Where a key is listed: F1…F12 in number order, then Ctrl/Alt combinations, digits, letters and
    the other named keys (Esc last). The same key sits at the same place on every screen."""
    *modifiers, base = key.split(",")[0].strip().split("+")
    fkey = _FKEY.fullmatch(base)
    if fkey and not modifiers:
        return (0, int(fkey.group(1)), "")
    if modifiers:
        return (1, 0, key)
    if base.isdigit():
        return (2, int(base), "")
    if len(base) == 1:
        return (3, 0, base)
    return (4, 1 if base == "escape" else 0, base)


def known_text(translator: Translator, key: str) -> bool:
    """Whether ``key`` is a text of the locale files (a description that is not one is Textual's)."""
    return key in translator.texts.get(FALLBACK, {})


def description_key(binding: Binding) -> str | None:
    """The locale key of what ``binding`` does: its description, or the key standing in for one of
    Textual's own English descriptions; None for a binding the operator is not told about."""
    if binding.action == "command_palette":  # Textual adds it itself, described "palette"
        return "key.palette"
    description = binding.description
    if not description:
        return None
    return TEXTUAL_DESCRIPTIONS.get(description, description)


def what_it_does(translator: Translator, binding_id: str | None, binding: Binding) -> str:
    """A longer sentence on what a binding does (the palette's second line): ``palette.what.<id>``,
    or the binding's short text for an id the locale files have no sentence for."""
    if binding_id is not None:
        sentence = f"palette.what.{binding_id}"
        if known_text(translator, sentence):
            return translator.t(sentence)
    key = description_key(binding)
    return translator.t(key) if key and known_text(translator, key) else ""


# -- F1 ---------------------------------------------------------------------------------------------------
class HelpRow(NamedTuple):
    key: str  # as configured, written as on the keyboard (key_label)
    what: str  # in the operator's language


class HelpSection(NamedTuple):
    title: str  # where the keys work, in the operator's language
    rows: list[HelpRow]


def help_sections(
    groups: Iterable[tuple[str, type[DOMNode]]], keys: Mapping[str, str], translator: Translator
) -> list[HelpSection]:
    """One section per (title locale key, owner): each of the owner's bindings with an id, its key as
    configured (its declared one when ``keys`` has none), in :func:`key_rank` order."""
    sections = []
    for title, owner in groups:
        rows = sorted(
            (
                (keys.get(binding_id, binding.key), translator.t(binding.description))
                for binding_id, binding in declared((owner,)).items()
            ),
            key=lambda row: key_rank(row[0]),
        )
        sections.append(HelpSection(translator.t(title), [HelpRow(key_label(k), what) for k, what in rows]))
    return sections


# -- the footer -------------------------------------------------------------------------------------------
# When the footer is too narrow for every key, the ones further down this list leave it first (the
# others keep their place: the order on screen stays key_rank's). Ids not listed (a screen's own keys:
# the worklists', Esc) come right after the call keys (None); a family of keys shown as one entry
# ("Alt+1…6 诉求性质") just before Quit.
FOOTER_PRIORITY = (
    "answer",
    "hangup",
    "save",
    "hold",
    "transfer",
    "mute",
    None,
    "dtmf",
    "ready",
    "pause",
    "knowledge",
    "new_ticket",
    "search",
    "help",
    "worklists",
    "caller_history",
    QUIT_ID,
)


class FooterEntry(NamedTuple):
    key: str  # Textual's key name (what a click simulates)
    label: str  # key_label
    what: str  # translated
    action: str
    binding_id: str | None = None
    palette: bool = False  # the palette's key: docked at the right
    family: bool = False  # several keys of one action ("nature(1)"…"nature(6)") in one entry

    def width(self, compact: bool) -> int:
        """Cells it takes in the footer (FooterKey's padding; the palette's key has a border too)."""
        padding = 2 if compact else 3
        border = (1 if compact else 2) if self.palette else 0
        return cell_len(self.label) + cell_len(self.what) + padding + border

    @property
    def priority(self) -> int:
        """Lower stays longer (twice the FOOTER_PRIORITY index: a family sits between two ids)."""
        if self.family:
            return 2 * FOOTER_PRIORITY.index(QUIT_ID) - 1
        where = self.binding_id if self.binding_id in FOOTER_PRIORITY else None
        return 2 * FOOTER_PRIORITY.index(where)


def footer_entries(
    active: Mapping[str, ActiveBinding], translator: Translator, palette_key: str
) -> list[FooterEntry]:
    """What the footer shows: every binding that works now (an action whose ``check_action`` says
    no is not in ``active`` at all; a disabled one is left out too) and that the operator is told
    about (an id of [keymap], or ``show``), whatever its ``show`` flag, in :func:`key_rank` order
    with Quit last and the palette apart."""
    entries = []
    for key, (_node, binding, enabled, _tooltip) in active.items():
        if not enabled:
            continue
        text = description_key(binding)
        if text is None or not known_text(translator, text):  # Textual's English, or nothing to say
            continue
        is_palette = binding.action == "command_palette" or key == palette_key
        if binding.id is None and not binding.show and not is_palette:
            continue
        entries.append(
            FooterEntry(key, key_label(key), translator.t(text), binding.action, binding.id, is_palette)
        )
    entries.sort(key=lambda e: (e.palette, e.action.rpartition(".")[2] == "quit", key_rank(e.key)))
    return _families(entries, translator)


def _families(entries: list[FooterEntry], translator: Translator) -> list[FooterEntry]:
    """Three or more keys of one parametrised action (``nature(1)``…``nature(6)``) as one entry,
    "Alt+1…6 诉求性质", when the locale files name the family (``key.group.nature``)."""
    members: dict[str, list[FooterEntry]] = {}
    for entry in entries:
        name, paren, _ = entry.action.partition("(")
        if paren:
            members.setdefault(name, []).append(entry)
    out: list[FooterEntry] = []
    for entry in entries:
        name, paren, _ = entry.action.partition("(")
        family = members.get(name, []) if paren else []
        text = f"key.group.{name}"
        if len(family) < 3 or not known_text(translator, text):
            out.append(entry)
        elif entry is family[0]:
            last = family[-1].key.rsplit("+", 1)[-1]
            label = f"{entry.label}…{last}"
            out.append(entry._replace(label=label, what=translator.t(text), binding_id=None, family=True))
    return out


def fit_footer(entries: list[FooterEntry], width: int) -> tuple[list[FooterEntry], bool]:
    """The entries that fit in ``width`` cells (whole ones: a key is never cut in half) and whether
    the compact style is needed. The palette's key stays; the others leave by FOOTER_PRIORITY."""
    if width <= 0 or sum(e.width(False) for e in entries) <= width:
        return entries, False
    kept = list(entries)
    by_priority = sorted((e for e in entries if not e.palette), key=lambda e: e.priority, reverse=True)
    for entry in by_priority:
        if sum(e.width(True) for e in kept) <= width:
            break
        kept.remove(entry)
    return kept, True


class KeyFooter(Footer):
    """The footer: what the keys do now, in the operator's language and in one fixed order.

    Textual's footer lists only ``show=True`` bindings, in binding-chain order (so the order moved
    between screens); this one lists :func:`footer_entries`, as many as fit (:func:`fit_footer`). It
    recomposes when the screen publishes a bindings update (focus moves, ``refresh_bindings()``) or
    the terminal is resized, and what it shows really changed."""

    def __init__(self, translator: Translator, *, id: str | None = None) -> None:
        super().__init__(id=id, show_command_palette=False)
        self.tr = translator
        self.shown: list[FooterEntry] = []

    def fitted(self) -> tuple[list[FooterEntry], bool]:
        """The entries to show now and whether in the compact style."""
        entries = footer_entries(self.screen.active_bindings, self.tr, self.app.COMMAND_PALETTE_BINDING)
        return fit_footer(entries, self.size.width)

    def compose(self) -> ComposeResult:
        if not self._bindings_ready:
            return
        self.shown, compact = self.fitted()
        self.compact = compact
        for entry in self.shown:
            yield FooterKey(
                entry.key,
                entry.label,
                entry.what,
                entry.action,
                classes="-command-palette" if entry.palette else "",
            ).data_bind(compact=Footer.compact)

    def _update(self) -> None:
        if self.fitted()[0] != self.shown:  # most updates change nothing shown: no recompose
            self.call_after_refresh(self.recompose)

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if self.is_attached and screen is self.screen:
            self._update()

    def on_resize(self, event: events.Resize) -> None:
        if self._bindings_ready:
            self._update()


# -- the command palette ----------------------------------------------------------------------------------
def palette_commands(
    active: Mapping[str, ActiveBinding],
    translator: Translator,
    run: Callable[[Binding, DOMNode], Callable[[], object]],
) -> list[SystemCommand]:
    """The palette's commands where it was opened: each binding of [keymap] that works there
    (the palette's own aside), titled "what (key)" and explained by :func:`what_it_does`."""
    commands = []
    for key, (node, binding, enabled, _tooltip) in sorted(active.items(), key=lambda kv: key_rank(kv[0])):
        if binding.id is None or binding.id == PALETTE_ID or not enabled:
            continue
        what = translator.t(binding.description)
        commands.append(
            SystemCommand(
                f"{what} ({key_label(key)})",
                what_it_does(translator, binding.id, binding),
                run(binding, node),
            )
        )
    return commands


def pinyin_score(query: str, title: str, keys: Callable[[str], tuple[str, str]]) -> float:
    """How well an ASCII query matches ``title`` read as pinyin (full syllables or initials):
    新建工单 ← ``xinjian``, ``xjgd``. 0 for no match (or a query that is not letters)."""
    q = query.replace(" ", "").lower()
    if not q.isascii() or not q.isalpha():
        return 0.0
    full, initials = keys(title)
    if full.startswith(q) or initials.startswith(q):
        return 0.9
    if q in full or q in initials:
        return 0.6
    return 0.0


class PaletteCommands(Provider):
    """The palette's only provider: the app's ``get_system_commands``, matched by Textual's fuzzy
    matcher on the title and, for a Chinese title, by pinyin."""

    def __init__(self, screen: Screen[Any], match_style: Any = None) -> None:
        super().__init__(screen, match_style)
        self._pinyin: dict[str, tuple[str, str]] = {}

    def _keys(self, title: str) -> tuple[str, str]:
        if title not in self._pinyin:
            from taxonomy.pinyin import pinyin_keys  # pypinyin loads at the first pinyin query

            self._pinyin[title] = pinyin_keys(title.split(" (")[0])
        return self._pinyin[title]

    def _commands(self) -> list[SystemCommand]:
        return list(self.app.get_system_commands(self.screen))

    async def discover(self) -> Hits:
        for title, help_text, callback, discover in self._commands():
            if discover:
                yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback, _discover in self._commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
            elif (score := pinyin_score(query, title, self._keys)) > 0:
                yield Hit(score, Text(title), callback, text=title, help=help_text)


class Palette(CommandPalette):
    """Textual's command palette with its own two texts (the placeholder, "No matches found") in the
    operator's language."""

    def __init__(self, translator: Translator, **kw: Any) -> None:
        super().__init__(placeholder=translator.t("palette.placeholder"), **kw)
        self.tr = translator

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's own (textual.command.CommandPalette) writes its English text; same steps here
        self._stop_no_matches_countdown()

        def show_no_matches() -> None:
            if search_value:
                self.query_one(CommandList).add_option(
                    Option(
                        Align.center(Text(self.tr.t("palette.no_matches"), style="not bold")),
                        disabled=True,
                        id=self._NO_MATCHES,
                    )
                )
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show_no_matches)
