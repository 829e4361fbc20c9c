"""The worklists screen: 漏接回拨 (missed calls to call back), 回访 (follow-up calls after 办结) and,
for supervisors, 同步待处理 (tickets the city backend refused, with its message).

    WorklistsScreen(service: WorklistService, translator: console.i18n.Translator,
                    *, refresh_seconds: float | None = 30.0,
                    status_view: Callable[[], StatusView] | None = None)

``service`` (console/services/worklists.py) owns the store and the ``dial`` callable; the screen only
shows its pages and turns keys into its calls, each in a thread worker so the UI never waits on the
store or the line. ``translator`` gives the texts (console/locales/*.toml) in the chosen language.
``refresh_seconds=None`` turns the periodic refresh off (tests, snapshots).

The seat's status bar (``console.widgets.status_bar.StatusBar``, id ``status``) sits at the top, so
a callback placed from here stays in view: the app redraws it every tick with
``bar.show(desk.status_view())``; ``status_view``, when given, draws it once on mount so it is never
blank until the first tick.

When a worklist call is placed the screen posts ``WorklistsScreen.CallPlaced(placed)`` (it bubbles to
the app: ``@on(WorklistsScreen.CallPlaced)`` on the desk shows the call; ``placed.call_id`` is the
line's call id, ``placed.history_number`` the callee's number to show the history of and
``placed.ticket_id`` the 回访's ticket).

The 漏接回拨 list tells a caller who hung up on a ringing seat (振铃挂断) from one who gave up
waiting in the queue (排队放弃), and shows when the citizen hung up (``store.worklists.missed_kind``).

Keys (every binding has an id for ``[keymap]``, see ``WorklistsScreen.BINDINGS``): ``d`` dial the selected row; on 漏接回拨
``1`` reached, ``2`` no answer, ``3`` wrong number (records the outcome of the last call placed for
that row, or of a callback made elsewhere); on 回访 ``e`` opens the result form without dialling
(dialling opens it too), ``ctrl+s`` saves it, ``escape`` closes it (with no form open: back to the
desk); ``m`` / ``v`` / ``s`` switch lists (``s``: supervisors only); on 同步待处理 ``a`` sends the
selected entry again (after its ticket was fixed); ``n`` / ``p`` page; ``r`` refreshes; ``b`` adds the older 回访
still waiting (积压) to yesterday's. Tables are diffed on refresh (update_cell / add_row /
remove_row), never rebuilt, and hold one page at a time.

A key the role may not use (``s`` / ``a`` for an operator; dialling and recording for a trainer) is
left out of the footer and, pressed, says why in a toast instead of doing nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import ClassVar, TypeVar

from rich.cells import cell_len
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import (
    Checkbox,
    DataTable,
    Input,
    RadioButton,
    RadioSet,
    Static,
    TabbedContent,
    TabPane,
)
from textual.worker import get_current_worker

from console.i18n import Translator, local_minute
from console.keymap import KeyFooter
from console.services.worklists import (
    DueRow,
    MissedRow,
    Page,
    PlacedCall,
    SyncRow,
    WorklistError,
    WorklistService,
)
from console.widgets.status_bar import StatusBar, StatusView

R = TypeVar("R", MissedRow, DueRow, SyncRow)
AnyPage = Page[MissedRow] | Page[DueRow] | Page[SyncRow]
RESULTS = ("满意", "基本满意", "不满意", "未接通")
MISSED_COLUMNS = ("idx", "phone", "name", "last", "missed", "reason", "tries", "state")
VISIT_COLUMNS = ("idx", "ticket", "caller", "phone", "dept", "closed", "failed", "state")
SYNC_COLUMNS = ("idx", "ticket", "kind", "tries", "created", "error")
LISTS = {"missed": "#wl-missed", "visits": "#wl-visits", "sync": "#wl-sync"}  # tab id -> its table
ACTING = (
    "worklists_dial",
    "worklists_reached",
    "worklists_no_answer",
    "worklists_wrong_number",
    "worklists_record",
)
SUPERVISING = ("worklists_sync", "worklists_requeue")


def shown_total(page: AnyPage) -> str:
    """``1000+`` when the list was cut at the service's row limit."""
    return f"{page.total}+" if page.truncated else str(page.total)


def sync_table(
    table: DataTable[str], columns: Sequence[str], rows: Sequence[tuple[str, tuple[str, ...]]]
) -> None:
    """Make ``table`` show ``rows`` (key, cells) in that order by diffing: gone keys are removed,
    changed cells updated, new keys added; the order is restored by sorting on the first column
    (the row's position, an integer)."""
    wanted = {key for key, _ in rows}
    for gone in [k for k in table.rows if k.value not in wanted]:
        table.remove_row(gone)
    for key, cells in rows:
        if key in table.rows:
            for column, old, new in zip(columns, table.get_row(key), cells, strict=True):
                if old != new:
                    table.update_cell(key, column, new, update_width=True)
        else:
            table.add_row(*cells, key=key)
    if [r.key.value for r in table.ordered_rows] != [key for key, _ in rows]:
        table.sort(columns[0], key=int)


class WorklistsScreen(Screen[None]):
    """漏接回拨 and 回访 (see the module docstring)."""

    # ids: the keys of [keymap]; descriptions: locale keys (KeyFooter shows them translated). "save"
    # is also the ticket form's Ctrl+S id, so remapping the save key moves both.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("d", "dial", "key.dial", id="worklists_dial"),
        Binding("1", "outcome('reached')", "key.reached", id="worklists_reached"),
        Binding("2", "outcome('no_answer')", "key.no_answer", id="worklists_no_answer"),
        Binding("3", "outcome('wrong_number')", "key.wrong", id="worklists_wrong_number"),
        Binding("e", "open_form", "key.evaluate", id="worklists_record"),
        Binding("ctrl+s", "save_visit", "key.save_visit", id="save"),
        Binding("escape", "close", "key.close", id="worklists_close"),
        Binding("m", "show('missed')", "key.missed", id="worklists_missed"),
        Binding("v", "show('visits')", "key.visits", id="worklists_visits"),
        Binding("s", "show('sync')", "key.sync", id="worklists_sync"),
        Binding("a", "requeue", "key.requeue", id="worklists_requeue"),
        Binding("n", "page(1)", "key.next", id="worklists_next_page"),
        Binding("p", "page(-1)", "key.prev", id="worklists_prev_page"),
        Binding("r", "reload", "key.refresh", id="worklists_refresh"),
        Binding("b", "backlog", "key.backlog", id="worklists_backlog"),
    ]

    DEFAULT_CSS = """
    WorklistsScreen { layout: vertical; }
    WorklistsScreen #wl-title { height: 1; padding: 0 1; background: $panel; text-style: bold; }
    WorklistsScreen TabbedContent { height: 1fr; }
    WorklistsScreen DataTable { height: 1fr; }
    WorklistsScreen .wl-pager { height: 1; padding: 0 1; color: $text-muted; }
    WorklistsScreen #wl-form { display: none; height: auto; border: round $accent; padding: 0 1; }
    WorklistsScreen #wl-form.-open { display: block; }
    WorklistsScreen #wl-form RadioSet { layout: horizontal; width: auto; height: auto; }
    WorklistsScreen #wl-form RadioButton { width: auto; margin-right: 2; }
    WorklistsScreen #wl-fault { margin-left: 2; }
    WorklistsScreen #wl-form-row { height: auto; }
    WorklistsScreen #wl-reason { width: 1fr; }
    WorklistsScreen #wl-status { height: 1; padding: 0 1; }
    WorklistsScreen #wl-status.-error { color: $error; }
    """

    class CallPlaced(Message):
        """A worklist call was dialled; the desk shows it (``placed.call_id`` is the line's id)."""

        def __init__(self, placed: PlacedCall) -> None:
            super().__init__()
            self.placed = placed

    class Loaded(Message, bubble=False):
        def __init__(self, missed: Page[MissedRow], due: Page[DueRow], held: Page[SyncRow] | None) -> None:
            super().__init__()
            self.missed, self.due, self.held = missed, due, held

    class Done(Message, bubble=False):
        """A worker's outcome for the status line (a refusal: ``error``)."""

        def __init__(self, text: str, error: bool = False) -> None:
            super().__init__()
            self.text, self.error = text, error

    class Recorded(Message, bubble=False):
        """An outcome was written for the row ``key``: its pending call is done."""

        def __init__(self, key: str, text: str) -> None:
            super().__init__()
            self.key, self.text = key, text

    def __init__(
        self,
        service: WorklistService,
        translator: Translator,
        *,
        refresh_seconds: float | None = 30.0,
        status_view: Callable[[], StatusView] | None = None,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.service = service
        self.tr = translator
        self.refresh_seconds = refresh_seconds
        self.status_view = status_view
        # bindings this role may not use: disabled (out of the footer), pressed they say why (on_key)
        self.refused: dict[str, str] = {
            **({} if service.can_act else dict.fromkeys(ACTING, "err.read_only")),
            **({} if service.sees_sync else dict.fromkeys(SUPERVISING, "wl.sync_supervisors_only")),
        }
        self.missed_page_no = 0
        self.due_page_no = 0
        self.sync_page_no = 0
        self.missed_rows: dict[str, MissedRow] = {}
        self.due_rows: dict[str, DueRow] = {}
        self.sync_rows: dict[str, SyncRow] = {}
        self.placed: dict[str, PlacedCall] = {}  # row key -> the call we placed for it, until recorded
        self.form_row: DueRow | None = None
        self.form_call: str | None = None
        self.loads = 0  # pages applied (tests wait on it)

    # --- layout -----------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        t = self.tr.t
        yield StatusBar(self.tr, id="status")
        yield Static(t("title.backlog" if self.service.backlog else "title"), id="wl-title")
        with TabbedContent(initial="missed"):
            with TabPane(t("tab.missed"), id="missed"):
                yield DataTable(id="wl-missed", cursor_type="row", zebra_stripes=True)
                yield Static("", id="wl-missed-pager", classes="wl-pager")
            with TabPane(t("tab.visits"), id="visits"):
                yield DataTable(id="wl-visits", cursor_type="row", zebra_stripes=True)
                yield Static("", id="wl-visits-pager", classes="wl-pager")
            if self.service.sees_sync:
                with TabPane(t("tab.sync"), id="sync"):
                    yield DataTable(id="wl-sync", cursor_type="row", zebra_stripes=True)
                    yield Static("", id="wl-sync-pager", classes="wl-pager")
        with Vertical(id="wl-form"):
            yield Static("", id="wl-form-title")
            with Horizontal(id="wl-form-row"):
                with RadioSet(id="wl-result"):
                    for result in RESULTS:
                        yield RadioButton(t(f"result.{result}"), name=result)
                yield Checkbox(t("form.fault"), id="wl-fault")
            yield Input(placeholder=t("form.reason"), id="wl-reason")
            yield Static(t("form.hint"))
        yield Static("", id="wl-status")
        yield KeyFooter(self.tr)

    def on_mount(self) -> None:
        t = self.tr.t
        if self.status_view is not None:
            self.query_one("#status", StatusBar).show(self.status_view())
        # the state column is as wide as its longest text from the start: marking a row never relayouts
        state_width = max(cell_len(t(k)) for k in ("col.state", "state.dialing", "state.visiting"))
        tables: list[tuple[str, tuple[str, ...]]] = [
            ("#wl-missed", MISSED_COLUMNS),
            ("#wl-visits", VISIT_COLUMNS),
        ]
        if self.service.sees_sync:
            tables.append(("#wl-sync", SYNC_COLUMNS))
        for selector, columns in tables:
            table = self.query_one(selector, DataTable)
            for column in columns:
                table.add_column(
                    t(f"col.{column}"), key=column, width=state_width if column == "state" else None
                )
        missed = self.query_one("#wl-missed", DataTable)
        missed.focus()
        self.reload()
        if self.refresh_seconds:
            self.set_interval(self.refresh_seconds, self.reload)

    # --- loading ----------------------------------------------------------------------------------

    @work(thread=True, exclusive=True, group="worklists-load", exit_on_error=False)
    def reload(self) -> None:
        try:
            missed = self.service.missed_page(self.missed_page_no)
            due = self.service.due_page(self.due_page_no)
            held = self.service.sync_page(self.sync_page_no) if self.service.sees_sync else None
        except Exception as exc:  # a locked or unreachable store: say so, keep what is shown
            self.post_message(self.Done(self._error_text(exc), error=True))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(self.Loaded(missed, due, held))

    def on_worklists_screen_loaded(self, message: Loaded) -> None:
        t = self.tr.t
        self.missed_page_no, self.due_page_no = message.missed.page, message.due.page
        self.missed_rows = {r.key: r for r in message.missed.rows}
        self.due_rows = {r.key: r for r in message.due.rows}
        pages: list[tuple[str, AnyPage]] = [("missed", message.missed), ("visits", message.due)]
        self.placed = {k: v for k, v in self.placed.items() if k in self.missed_rows or k in self.due_rows}
        with self.app.batch_update():
            sync_table(
                self.query_one("#wl-missed", DataTable),
                MISSED_COLUMNS,
                [
                    (r.key, self._missed_cells(message.missed.first + i, r))
                    for i, r in enumerate(message.missed.rows)
                ],
            )
            sync_table(
                self.query_one("#wl-visits", DataTable),
                VISIT_COLUMNS,
                [(r.key, self._due_cells(message.due.first + i, r)) for i, r in enumerate(message.due.rows)],
            )
            self._pager("#wl-missed-pager", message.missed, "empty.missed")
            self._pager("#wl-visits-pager", message.due, "empty.visits")
            if message.held is not None:
                self.sync_page_no = message.held.page
                self.sync_rows = {r.key: r for r in message.held.rows}
                sync_table(
                    self.query_one("#wl-sync", DataTable),
                    SYNC_COLUMNS,
                    [
                        (r.key, self._sync_cells(message.held.first + i, r))
                        for i, r in enumerate(message.held.rows)
                    ],
                )
                self._pager("#wl-sync-pager", message.held, "empty.sync")
                pages.append(("sync", message.held))
            for pane, page in pages:
                self.query_one(TabbedContent).get_tab(
                    pane
                ).label = f"{t('tab.' + pane)} ({shown_total(page)})"
        self.loads += 1

    def _pager(self, selector: str, page: AnyPage, empty: str) -> None:
        t = self.tr.t
        text = (
            t(empty)
            if not page.total
            else t("pager", page=page.page + 1, pages=page.pages, total=shown_total(page))
        )
        self.query_one(selector, Static).update(text)

    def _missed_cells(self, index: int, row: MissedRow) -> tuple[str, ...]:
        t = self.tr.t
        state = t("state.dialing") if row.key in self.placed else ""
        return (
            str(index + 1),
            row.phone,
            row.name or "",
            local_minute(row.last_at),
            str(row.missed),
            t(f"reason.{row.kind}"),
            str(row.tries),
            state,
        )

    def _due_cells(self, index: int, row: DueRow) -> tuple[str, ...]:
        state = self.tr.t("state.visiting") if row.key in self.placed else ""
        return (
            str(index + 1),
            row.number,
            row.caller or "",
            row.phone or "",
            row.department or "",
            local_minute(row.closed_at),
            str(row.failed_attempts),
            state,
        )

    def _sync_cells(self, index: int, row: SyncRow) -> tuple[str, ...]:
        kind = self.tr.t(f"kind.{row.kind}") if row.kind in ("create", "update") else row.kind
        error = " ".join(row.error.split())  # one line: the server's message may hold newlines
        return (str(index + 1), row.number, kind, str(row.attempts), local_minute(row.created_at), error)

    # --- helpers ----------------------------------------------------------------------------------

    def _say(self, text: str, error: bool = False) -> None:
        status = self.query_one("#wl-status", Static)
        status.update(text)
        status.set_class(error, "-error")

    def _error_text(self, exc: Exception) -> str:
        if isinstance(exc, WorklistError):
            return self.tr.t(f"err.{exc.key}", **exc.values)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return self.tr.t("err.store", error=first_line)

    @property
    def active_list(self) -> str:
        return self.query_one(TabbedContent).active or "missed"

    def _selected(self) -> MissedRow | DueRow | SyncRow | None:
        table = self.query_one(LISTS[self.active_list], DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        lists: dict[str, Mapping[str, MissedRow | DueRow | SyncRow]] = {
            "missed": self.missed_rows,
            "visits": self.due_rows,
            "sync": self.sync_rows,
        }
        return lists[self.active_list].get(key or "")

    def _selected_as(self, kind: type[R]) -> R | None:
        """The selected row if it is a ``kind`` (the list in view), else say to select one."""
        row = self._selected()
        if isinstance(row, kind):
            return row
        self._say(self.tr.t("msg.no_row"), error=True)
        return None

    def _mark_row(self, key: str) -> None:
        """Show the state column of one row at once (the next refresh would too)."""
        if key in self.missed_rows:
            self.query_one("#wl-missed", DataTable).update_cell(key, "state", self.tr.t("state.dialing"))
        elif key in self.due_rows:
            self.query_one("#wl-visits", DataTable).update_cell(key, "state", self.tr.t("state.visiting"))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        form_open = self.form_row is not None
        if action in ("dial", "outcome", "open_form") and not self.service.can_act:
            return None  # a trainer looks only: disabled, and the key says so (on_key)
        if action == "dial":
            return self.active_list != "sync" or form_open
        if (action == "show" and parameters == ("sync",)) or action == "requeue":
            if not self.service.sees_sync:
                return None  # operators have no such list: disabled, and the key says why (on_key)
            return True if action == "show" else self.active_list == "sync" and not form_open
        if action == "outcome":
            return self.active_list == "missed" and not form_open
        if action == "open_form":
            return self.active_list == "visits" and not form_open
        if action == "save_visit":
            return form_open
        return True

    def on_key(self, event: events.Key) -> None:
        """A key bound to what this role may not do says why instead of nothing (the binding itself
        is disabled by ``check_action``, so Textual would drop the key silently). Keys typed into
        an input never get here: the input takes them first."""
        if not self.refused:
            return
        active = self.active_bindings.get(event.key)
        if active is None or active.enabled or (why := self.refused.get(active.binding.id or "")) is None:
            return
        event.stop()
        event.prevent_default()
        self.notify(self.tr.t(why), severity="warning")

    # --- actions ----------------------------------------------------------------------------------

    def action_show(self, which: str) -> None:
        self.query_one(TabbedContent).active = which
        self.query_one(LISTS[which], DataTable).focus()
        self.refresh_bindings()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()

    def action_page(self, delta: int) -> None:
        if self.active_list == "missed":
            self.missed_page_no = max(0, self.missed_page_no + delta)
        elif self.active_list == "sync":
            self.sync_page_no = max(0, self.sync_page_no + delta)
        else:
            self.due_page_no = max(0, self.due_page_no + delta)
        self.reload()

    def action_reload(self) -> None:
        self.reload()

    def action_backlog(self) -> None:
        """回访 of yesterday only, or also the older ones still waiting (积压)."""
        self.service.backlog = not self.service.backlog
        self.due_page_no = 0
        self.query_one("#wl-title", Static).update(
            self.tr.t("title.backlog" if self.service.backlog else "title")
        )
        self.reload()

    def action_requeue(self) -> None:
        if (row := self._selected_as(SyncRow)) is not None:
            self._requeue(row)

    @work(thread=True, group="worklists-act", exit_on_error=False)
    def _requeue(self, row: SyncRow) -> None:
        try:
            self.service.requeue(row)
        except Exception as exc:
            self.post_message(self.Done(self._error_text(exc), error=True))
            return
        self.post_message(self.Recorded(row.key, self.tr.t("msg.requeued", number=row.number)))

    def action_dial(self) -> None:
        row = self.form_row or self._selected()  # with the form open: its citizen
        if not isinstance(row, MissedRow | DueRow):
            self._say(self.tr.t("msg.no_row"), error=True)
            return
        if isinstance(row, DueRow) and self.form_row is None:
            self._open_form(row)
        self._dial(row)

    @work(thread=True, group="worklists-act", exit_on_error=False)
    def _dial(self, row: MissedRow | DueRow) -> None:
        try:
            placed = (
                self.service.call_back(row)
                if isinstance(row, MissedRow)
                else self.service.call_for_visit(row)
            )
        except Exception as exc:
            self.post_message(self.Done(self._error_text(exc), error=True))
            return
        self.post_message(self.CallPlaced(placed))

    def on_worklists_screen_call_placed(self, message: CallPlaced) -> None:
        placed = message.placed
        key = next(
            (k for k, r in self.missed_rows.items() if placed.kind == "missed" and r.call_id == placed.ref),
            f"t{placed.ref}" if placed.kind == "visit" else None,
        )
        if key is None:
            return
        self.placed[key] = placed
        self._mark_row(key)
        if placed.kind == "visit":
            if self.form_row is not None and self.form_row.key == key:
                self.form_call = placed.call_id
            self._say(self.tr.t("msg.visit_dialing", phone=placed.phone))
        else:
            self._say(self.tr.t("msg.dialing", phone=placed.phone))

    def action_outcome(self, outcome: str) -> None:
        if (row := self._selected_as(MissedRow)) is None:
            return
        placed = self.placed.get(row.key)
        self._record_callback(row, outcome, placed.call_id if placed else None)

    @work(thread=True, group="worklists-act", exit_on_error=False)
    def _record_callback(self, row: MissedRow, outcome: str, by_call_id: str | None) -> None:
        t = self.tr.t
        try:
            rec = self.service.record_callback(row, outcome, by_call_id=by_call_id)
        except Exception as exc:
            self.post_message(self.Done(self._error_text(exc), error=True))
            return
        text = (
            t("msg.callback_closed", phone=row.phone, outcome=t(f"outcome.{outcome}"))
            if rec.closed
            else t("msg.callback_again", phone=row.phone, tries=rec.tries)
        )
        self.post_message(self.Recorded(row.key, text))

    def action_open_form(self) -> None:
        if (row := self._selected_as(DueRow)) is not None:
            self._open_form(row)

    def _open_form(self, row: DueRow) -> None:
        self.form_row = row
        placed = self.placed.get(row.key)
        self.form_call = placed.call_id if placed else None
        self.query_one("#wl-form-title", Static).update(
            self.tr.t(
                "form.title",
                number=row.number,
                caller=row.caller or "",
                phone=row.phone or "",
                dept=row.department or "-",
            )
        )
        self.query_one("#wl-form").add_class("-open")
        self.query_one("#wl-result", RadioSet).focus()
        self.refresh_bindings()

    def action_close(self) -> None:
        """Escape: close the 回访 form, else go back to the screen below (the desk)."""
        if self.form_row is not None:
            self.action_close_form()
        elif len(self.app.screen_stack) > 1:
            self.dismiss()

    def action_close_form(self) -> None:
        self.form_row, self.form_call = None, None
        form = self.query_one("#wl-form")
        form.remove_class("-open")
        radios = self.query_one("#wl-result", RadioSet)
        for button in radios.query(RadioButton):
            button.value = False
        self.query_one("#wl-reason", Input).value = ""
        self.query_one("#wl-fault", Checkbox).value = False
        self.query_one("#wl-visits", DataTable).focus()
        self.refresh_bindings()

    def action_save_visit(self) -> None:
        row = self.form_row
        if row is None:
            return
        pressed = self.query_one("#wl-result", RadioSet).pressed_button
        if pressed is None or pressed.name not in RESULTS:
            self._say(self.tr.t("msg.pick_result"), error=True)
            return
        result = pressed.name
        reason = self.query_one("#wl-reason", Input).value
        fault = self.query_one("#wl-fault", Checkbox).value if result == "不满意" else None
        self._save_visit(row, result, reason, fault, self.form_call)

    @work(thread=True, group="worklists-act", exit_on_error=False)
    def _save_visit(
        self, row: DueRow, result: str, reason: str, fault: bool | None, call_id: str | None
    ) -> None:
        t = self.tr.t
        try:
            rec = self.service.record_visit(
                row.ticket_id, result, reason=reason, department_at_fault=fault, call_id=call_id
            )
        except Exception as exc:  # the form stays open with what was typed
            self.post_message(self.Done(self._error_text(exc), error=True))
            return
        if rec.rehandled:
            text = t("msg.visit_rehandle", number=rec.number, dept=rec.department or "-")
        elif result == "未接通":
            text = t("msg.visit_not_reached", number=rec.number, tries=row.failed_attempts + 1)
        else:
            text = t("msg.visit_done", number=rec.number, result=t(f"result.{result}"))
        self.post_message(self.Recorded(row.key, text))

    def on_worklists_screen_recorded(self, message: Recorded) -> None:
        self.placed.pop(message.key, None)
        if self.form_row is not None and self.form_row.key == message.key:
            self.action_close_form()
        self._say(message.text)
        self.reload()

    def on_worklists_screen_done(self, message: Done) -> None:
        self._say(message.text, error=message.error)
