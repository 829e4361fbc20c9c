"""The taxonomy picker: search as you type, see path / matched alias / department / time limit, pick.

API::

    picker = TaxonomyPicker(search, translator, department_of, limit=9)   # search(query, limit) -> list[Result]
    picker.focus_search()          # Ctrl+F lands here, the cursor after the query (nothing selected)
    picker.query_text              # what is typed
    picker.set_chosen_label(text)  # the line under the results (the form shows the chosen leaf there)

Keys in the search box: digits 1–9 take that result (while results are listed for a query that
holds a letter or a character; a query of digits only is a leaf-code search, so digits keep typing);
Enter takes the highlighted result (the first unless moved); Up/Down move the highlight. A code
search starts at ``MIN_CODE_DIGITS`` digits: a lone digit typed into the empty box (meant as a pick
while nothing is listed) lists nothing. Alt+digit is left to the form (it never picks nor types).
Posts ``TaxonomyPicker.Chosen(result, query, rank)`` (rank from 1); its ``description`` is the query
when it reads as the caller's sentence (``intake.description_from_query``), for an empty 诉求描述.

Stale values from input-method bursts are dropped: an IME commit of 拖欠工资 arrives as four keys and
four ``Input.Changed``; only a change whose value is still the box's value is searched, and each
search bumps ``generation`` so a slow result never overwrites a newer one. The result list is a fixed
number of lines drawn with ``render_line`` (no widget per result, nothing rebuilt but a few strips).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Input, Static

from console.i18n import Translator
from console.services.intake import description_from_query

if TYPE_CHECKING:  # the search (rapidfuzz, pypinyin) loads with the ticket service, not with the app
    from taxonomy.search import Result

SearchFn = Callable[[str, int], "Sequence[Result]"]
MAX_RESULTS = 9
PATH_SEPARATOR = " / "  # ASCII: ambiguous-width arrows (→ ›) misalign on some CJK terminals
# a code prefix shorter than a domain's code (101 供热) names a whole major category: no use to list
MIN_CODE_DIGITS = 3
DIGITS = "123456789"


def result_line(n: int, result: Result, translator: Translator, department: str) -> Text:
    """One result: number, path, the alias that matched, department and time limit."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"{n} ", style="bold")
    text.append(PATH_SEPARATOR.join(result.path[1:]) or result.path[-1], style="bold")
    if result.matched and result.matched != result.path[-1]:
        text.append("  " + translator.t("picker.matched", alias=result.matched), style="italic")
    extra = "  ".join(x for x in (department, str(result.time_limit or "")) if x)
    if extra:
        text.append("  " + extra, style="dim")
    if result.urgency == "critical":
        text.append("  !!", style="bold red")
    return text


class ResultList(Widget):
    """A fixed-height list of result lines, drawn line by line."""

    DEFAULT_CSS = """
    ResultList { height: 9; width: 1fr; }
    """

    def __init__(
        self,
        translator: Translator,
        department_of: Callable[[str | None], str],
        *,
        limit: int = MAX_RESULTS,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.tr = translator
        self.department_of = department_of
        self.limit = limit
        self.styles.height = limit  # one line per result ([taxonomy] result_limit)
        self.results: tuple[Result, ...] = ()
        self.highlight = 0
        self.empty_text = translator.t("picker.hint")
        self._lines: list[Text] = []
        self.shown = 0  # how many times results were shown (benches time the frame that draws them)

    def show(self, results: Sequence[Result], empty_text: str) -> None:
        self.results = tuple(results[: self.limit])
        self.highlight = 0
        self.empty_text = empty_text
        self._lines = [
            result_line(i, r, self.tr, self.department_of(r.department))
            for i, r in enumerate(self.results, start=1)
        ]
        self.shown += 1
        self.refresh()

    def move(self, step: int) -> None:
        if self.results:
            self.highlight = (self.highlight + step) % len(self.results)
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if not self._lines:
            text = Text(self.empty_text, style="dim") if y == 0 else Text("")
        elif y < len(self._lines):
            text = self._lines[y].copy()
            if y == self.highlight:
                text.stylize(Style(reverse=True))
        else:
            text = Text("")
        text.truncate(width, overflow="ellipsis")
        segments = list(text.render(self.app.console))
        return Strip(segments).extend_cell_length(width).crop(0, width).apply_style(self.rich_style)


class SearchInput(Input):
    """The search box: digits pick, Up/Down move the highlight (Enter submits, as any Input)."""

    BINDINGS = [  # noqa: RUF012 - Textual's class-level declaration
        Binding("down", "move(1)", show=False),
        Binding("up", "move(-1)", show=False),
    ]

    def __init__(self, picker: TaxonomyPicker, **kwargs: object) -> None:
        # no select-all on focus: the next key would wipe the query the operator comes back to
        super().__init__(select_on_focus=False, **kwargs)  # type: ignore[arg-type]
        self.picker = picker

    async def _on_key(self, event: events.Key) -> None:
        # Textual then runs Input's own _on_key (handlers run along the MRO) unless we prevent it
        key = event.key
        if key.startswith("alt+") and key[4:] in DIGITS:
            event.prevent_default()  # not typed; it bubbles on to the form's bindings
        elif key in DIGITS and self.picker.digit_picks():
            event.stop()
            event.prevent_default()
            self.picker.pick(int(key) - 1)

    def action_move(self, step: int) -> None:
        self.picker.results_view.move(step)


class TaxonomyPicker(Vertical):
    """Search box, result lines and the chosen leaf."""

    DEFAULT_CSS = """
    TaxonomyPicker { height: auto; }
    TaxonomyPicker #tx-chosen { height: 1; color: $text-success; }
    """

    @dataclass
    class Chosen(Message):
        result: Result
        query: str
        rank: int

        @property
        def description(self) -> str | None:
            """The query as the caller's words for 诉求描述, or None (search keys, the leaf's name)."""
            return description_from_query(self.query, (self.result.matched, self.result.path[-1]))

    def __init__(
        self,
        search: SearchFn,
        translator: Translator,
        department_of: Callable[[str | None], str],
        *,
        limit: int = MAX_RESULTS,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.search = search
        self.limit = limit  # results asked for and shown; digits pick the first nine
        self.tr = translator
        self.department_of = department_of
        self.generation = 0  # bumped per search: the latest query wins
        self.search_box = SearchInput(self, placeholder=self.tr.t("picker.placeholder"), id="tx-query")
        self.results_view = ResultList(self.tr, department_of, limit=limit, id="tx-results")
        self.chosen_label = Static("", id="tx-chosen")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.search_box
        yield self.results_view
        yield self.chosen_label

    @property
    def query_text(self) -> str:
        return self.search_box.value

    def focus_search(self) -> None:
        self.search_box.focus()
        self.search_box.cursor_position = len(self.search_box.value)  # typing goes on after the query

    def set_chosen_label(self, text: str | Text) -> None:
        self.chosen_label.update(text)

    def digit_picks(self) -> bool:
        query = self.search_box.value.strip()
        return bool(self.results_view.results) and bool(query) and not query.isdigit()

    @on(Input.Changed, "#tx-query")
    def _changed(self, event: Input.Changed) -> None:
        event.stop()
        if event.value != self.search_box.value:
            return  # an earlier value of an IME burst: a newer Changed follows
        self.run_search(event.value)

    def run_search(self, query: str) -> None:
        self.generation += 1
        generation = self.generation
        text = query.strip()
        short_code = text.isdigit() and len(text) < MIN_CODE_DIGITS
        results = list(self.search(query, self.limit)) if text and not short_code else []
        if generation != self.generation:  # pragma: no cover - only if search itself re-entered
            return
        if short_code:
            empty = self.tr.t("picker.code_hint", min=MIN_CODE_DIGITS)
        else:
            empty = self.tr.t("picker.none") if text else self.tr.t("picker.hint")
        self.results_view.show(results, empty)

    @on(Input.Submitted, "#tx-query")
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.pick(self.results_view.highlight)

    def pick(self, index: int) -> None:
        results = self.results_view.results
        if 0 <= index < len(results):
            self.post_message(self.Chosen(results[index], self.search_box.value, index + 1))
