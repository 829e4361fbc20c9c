"""The ticket form (工单), filled while the caller talks.

API (for the desk screen)::

    form = TicketForm(tickets: TicketService, translator: console.i18n.Translator, call: CallContext | None = None)
    form.set_call(call)        # a (new) call for this form: fills in the caller's number if empty
    form.note_call_ended()     # the caller hung up: the form stays, says so, and can still be saved
    form.focus_search()        # Ctrl+F (the desk's binding id "search")
    form.save()                # Ctrl+S (the form's own binding id "save")
    form.knowledge()           # 直接办结: take the leaf's standard answer (F3 on the desk)
    form.form_data()           # what is typed, as console.services.intake.FormData
    form.discard_draft()       # the operator throws this form away: forget the stored draft too
    form.flush_draft()         # write a pending draft now (the form is about to be removed)

A form belongs to one call (or to none: Ctrl+N while idle) and so does its draft: a form opened for
a call brings back only that call's own unsaved draft (``restore_draft=True``: the console died
mid-call), never another call's; a form opened on an unsaved draft the operator chose
(``draft=``, from ``TicketService.unsaved_drafts``) fills in that draft, with its call. A new form
(Ctrl+N) starts empty and gets a draft of its own; the drafts it leaves behind stay listed.

Messages: ``TicketForm.Saved(number, ticket_id)`` once the ticket is durable (the number is also shown
in big digits to read back); ``TicketForm.CriticalLeaf(leaf_code, path, handoff)`` when an emergency
leaf is picked (the desk offers the hand-off to 110/119/120/122).

Saving: the 五要素 gate first (nothing leaves the form while something is missing; the status line
says what). Then, in a worker thread: likely duplicates (``store.duplicates``, within
``[ui] duplicate_window_hours``) are offered in a ``DuplicatePanel``: 新建 first (the default), 并单 only
into the same matter at the same place still being handled, 重办 / a linked new ticket for one that
is done, 跟进 for the same caller; then the ticket is written. A locked
store is retried a few times with back-off; if it stays locked, the form says so and keeps everything
(the draft too): Ctrl+S again retries, and the form's request id makes a retry idempotent.

The draft is written 0.5 s after the last change and whenever a field loses focus (``flush_draft``
writes it at once, before the desk takes the form away); a saved ticket clears it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer
from textual.widgets import Checkbox, Digits, Input, Label, Select, Static, TextArea

from console.i18n import Translator
from console.services.intake import MAX_LENGTHS, FormData, GateResult, Mode, default_nature
from console.services.ticket_service import (
    CallContext,
    Duplicate,
    SaveResult,
    TicketService,
)
from console.widgets.duplicate_panel import DuplicatePanel, Told, read_back
from console.widgets.taxonomy_picker import TaxonomyPicker
from console.widgets.ticket_form_parts import (
    CleanInput,
    CleanTextArea,
    ReadbackDigits,
    readback_digits,
    with_retries,
)
from console.widgets.ticket_form_text import describe_gate, gate_status
from store.callers import mask_phone
from store.db import StoreError
from store.lifecycle import COMMANDS
from store.vocabulary import BOARDS, DEFAULT_BOARD, DEFAULT_URGENCY, NATURES, URGENCIES

DRAFT_IDLE_SECONDS = 0.5


class TicketForm(VerticalScroll):
    """See the module docstring."""

    DEFAULT_CSS = """
    TicketForm { height: 1fr; padding: 0 1; }
    TicketForm .row { height: auto; }
    TicketForm .row > * { margin-right: 1; }
    TicketForm Select { width: 1fr; }
    TicketForm #address { width: 2fr; }
    TicketForm #when, TicketForm #caller-name, TicketForm #caller-phone { width: 1fr; }
    TicketForm #description { height: 5; }
    TicketForm #answer { height: 4; }
    TicketForm .hidden { display: none; }
    TicketForm #district-hint, TicketForm #desc-count { height: 1; color: $text-muted; }
    TicketForm #form-status { height: auto; min-height: 1; }
    TicketForm #form-status.-error { color: $text-error; text-style: bold; }
    TicketForm #form-status.-warning { color: $text-warning; }
    TicketForm #saved-panel { height: auto; border: heavy $success; padding: 0 1; }
    TicketForm #saved-number { text-style: bold; }
    """

    # the one Ctrl+S of the desk (the desk binds none): priority, so it works wherever the focus is
    # in the form, even on a key an Input binds; Ctrl+F is the desk's ("search", from anywhere)
    BINDINGS = [  # noqa: RUF012 - Textual's class-level declaration
        Binding("ctrl+s", "save", "key.save", id="save", show=False, priority=True),
        # 诉求性质 from anywhere in the form, in NATURES order
        Binding("alt+1", "nature(1)", "key.nature_inquiry", id="nature_inquiry", show=False, priority=True),
        Binding("alt+2", "nature(2)", "key.nature_help", id="nature_help", show=False, priority=True),
        Binding(
            "alt+3", "nature(3)", "key.nature_complaint", id="nature_complaint", show=False, priority=True
        ),
        Binding("alt+4", "nature(4)", "key.nature_report", id="nature_report", show=False, priority=True),
        Binding(
            "alt+5", "nature(5)", "key.nature_suggestion", id="nature_suggestion", show=False, priority=True
        ),
        Binding("alt+6", "nature(6)", "key.nature_praise", id="nature_praise", show=False, priority=True),
    ]

    @dataclass
    class Saved(Message):
        number: str
        ticket_id: int

    @dataclass
    class CriticalLeaf(Message):
        leaf_code: str
        path: tuple[str, ...]
        handoff: str | None = None

    # private: results of the worker threads, posted back to the loop
    @dataclass
    class _Outcome(Message):
        result: SaveResult | None = None
        duplicates: tuple[Duplicate, ...] = ()
        error: str = ""
        busy: str = ""

    @dataclass
    class _DraftNote(Message):
        error: str

    def __init__(
        self,
        tickets: TicketService,
        translator: Translator,
        call: CallContext | None = None,
        *,
        restore_draft: bool = True,
        draft: FormData | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.tickets = tickets
        self.tr = translator
        self.call = call
        self.restore_draft = restore_draft
        self.draft = draft
        self.request_id = FormData().request_id
        self.saved: SaveResult | None = None
        self.saving = False
        self.discarded = False
        self.leaf_code = ""
        self.leaf_path: tuple[str, ...] = ()
        self.leaf_query = ""
        self.leaf_rank = 0
        self.street = ""
        self._auto_district: str | None = None
        self._district_manual = False
        self._auto_nature: str | None = None  # the leaf's default, replaced when another leaf is picked
        self._gate_shown = False  # a refusal is on the status line: refreshed as fields are filled
        self._draft_timer: Timer | None = None
        self._loading = False  # filling fields ourselves: not an edit
        self._pending_name = ""  # a caller's name offered before the fields existed
        self.picker = TaxonomyPicker(
            tickets.search, self.tr, tickets.department_name, limit=tickets.result_limit, id="picker"
        )
        self._choices: dict[str, tuple[str, ...]] = {
            "#nature": NATURES,
            "#board": BOARDS,
            "#urgency": URGENCIES,
            "#district": tickets.district_names(),
        }

    # --- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        t, label = self.tr.t, self.tr.label
        with Horizontal(classes="row"):  # labels in the UI language; the values stay the stored codes
            yield Select([(label("nature", n), n) for n in NATURES], prompt=t("form.nature"), id="nature")
            yield Select(
                [(label("board", b), b) for b in BOARDS], value=DEFAULT_BOARD, allow_blank=False, id="board"
            )
            yield Select(
                [(label("urgency", u), u) for u in URGENCIES],
                value=DEFAULT_URGENCY,
                allow_blank=False,
                id="urgency",
            )
        yield Label(t("form.classify"))
        yield self.picker
        with Horizontal(classes="row"):
            yield Select(
                [(d, d) for d in self._choices["#district"]], prompt=t("form.district"), id="district"
            )
            yield CleanInput(placeholder=t("form.address"), id="address")
        yield Static("", id="district-hint")
        with Horizontal(classes="row"):
            yield CleanInput(placeholder=t("form.when"), id="when")
            yield CleanInput(placeholder=t("form.caller_name"), id="caller-name")
            yield CleanInput(placeholder=t("form.caller_phone"), id="caller-phone")
            yield Checkbox(t("form.consent"), value=True, id="consent")
        yield Static(t("form.description", n=0, max=MAX_LENGTHS["description"]), id="desc-count")
        yield CleanTextArea(id="description", soft_wrap=True, tab_behavior="focus")
        yield Checkbox(t("form.direct"), value=False, id="direct")
        yield CleanTextArea(id="answer", soft_wrap=True, tab_behavior="focus", classes="hidden")
        yield Static("", id="form-status")
        # a supervisor's 重办 re-handles the ticket; an operator's is a request for one
        rehandles = self.tickets.actor.role in COMMANDS["rehandle"].roles
        yield DuplicatePanel(self.tr, rehandle_directly=rehandles, id="dup-panel")
        with Vertical(id="saved-panel", classes="hidden"):
            yield Label(t("saved.title"), id="saved-head")
            yield ReadbackDigits("", id="saved-digits")
            yield Static("", id="saved-number")

    def on_mount(self) -> None:
        if self.call is not None:
            self.set_call(self.call)
        if self._pending_name:
            self.offer_caller_name(self._pending_name)
        if self.draft is not None:  # the draft's own fields win over what the call fills in
            self.fill(self.draft)
            self.status(self.tr.t("status.draft_reopened"), "warning")
        elif self.restore_draft and self.call is not None:
            self._restore(self.call)

    # --- public API ---------------------------------------------------------------------------------

    def set_call(self, call: CallContext | None) -> None:
        self.call = call
        if call is None:
            return
        phone = self.query_one("#caller-phone", Input)
        if not phone.value and call.caller:
            phone.value = call.caller
        if call.display_name:  # the name the line gave (the caller's history may offer one later)
            self.offer_caller_name(call.display_name)
        self.status(self.tr.t("status.call", caller=mask_phone(call.caller) or "-"))

    def offer_caller_name(self, name: str) -> None:
        """The caller's name known from the line or the history goes into an empty 来电人姓名."""
        try:
            field = self.query_one("#caller-name", Input)
        except NoMatches:  # the history can arrive before the form is built: filled in on mount
            self._pending_name = name
            return
        if not field.value and name.strip() and self.saved is None:
            field.value = name.strip()

    def note_call_ended(self) -> None:
        if self.saved is None:
            self.status(self.tr.t("status.call_ended"), "warning")
            self._save_draft_now()

    def focus_search(self) -> None:
        self.picker.focus_search()

    def discard_draft(self) -> None:
        self.discarded = True
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self._clear_stored_draft(self.form_data())

    @work(thread=True, exclusive=True, group="ticket-draft", exit_on_error=False)
    def _clear_stored_draft(self, form: FormData) -> None:
        try:
            self.tickets.clear_draft(form)
        except StoreError as exc:
            self.post_message(self._DraftNote(str(exc)))

    @property
    def unsaved(self) -> bool:
        """Typed text that no saved ticket has taken (and the operator has not thrown away); a query
        typed into the search counts: the operator is writing this call's ticket."""
        if self.saved is not None or self.discarded:
            return False
        try:
            return not self.form_data().is_blank() or bool(self.picker.search_box.value.strip())
        except NoMatches:  # not composed yet: nothing typed
            return False

    def flush_draft(self) -> None:
        """Write a pending draft now, on an app worker: the desk is about to remove this form (and its
        own workers with it)."""
        if self._draft_timer is None or self.saved is not None or self.discarded:
            return
        self._draft_timer.stop()
        self._draft_timer = None
        form, call, tickets = self.form_data(), self.call, self.tickets
        self.app.run_worker(
            lambda: tickets.save_draft(form, call),
            thread=True,
            group="ticket-draft-flush",
            exit_on_error=False,
        )

    def action_knowledge(self) -> None:
        self.knowledge()

    def knowledge(self) -> None:
        """直接办结 with the leaf's standard answer (or an empty answer box to type one)."""
        self.query_one("#direct", Checkbox).value = True
        facts = self.tickets.leaf(self.leaf_code)
        answer = self.query_one("#answer", TextArea)
        if facts is not None and facts.answer and not answer.text.strip():
            answer.load_text(facts.answer)
        answer.remove_class("hidden")
        answer.focus()

    def form_data(self) -> FormData:
        def value(selector: str) -> str:
            v = self.query_one(selector, Select).value
            return v if isinstance(v, str) else ""

        return FormData(
            nature=value("#nature"),
            board=value("#board"),
            leaf_code=self.leaf_code,
            leaf_path=self.leaf_path,
            query=self.leaf_query,
            leaf_rank=self.leaf_rank,
            district=value("#district"),
            street=self.street,
            address=self.query_one("#address", Input).value,
            when=self.query_one("#when", Input).value,
            description=self.query_one("#description", TextArea).text,
            urgency=value("#urgency") or DEFAULT_URGENCY,
            caller_name=self.query_one("#caller-name", Input).value,
            caller_phone=self.query_one("#caller-phone", Input).value,
            callback_consent=self.query_one("#consent", Checkbox).value,
            direct_close=self.query_one("#direct", Checkbox).value,
            answer=self.query_one("#answer", TextArea).text,
            request_id=self.request_id,
        )

    def fill(self, form: FormData) -> None:
        """Put ``form`` into the fields (a restored draft); its request id is kept."""
        self._loading = True
        try:
            self.request_id = form.request_id
            self._set_select("#nature", form.nature)
            self._set_select("#board", form.board)
            self._set_select("#urgency", form.urgency)
            self._set_select("#district", form.district)
            self._district_manual = bool(form.district)
            self.street = form.street
            self.query_one("#address", Input).value = form.address
            self.query_one("#when", Input).value = form.when
            self.query_one("#caller-name", Input).value = form.caller_name
            self.query_one("#caller-phone", Input).value = form.caller_phone
            self.query_one("#consent", Checkbox).value = form.callback_consent
            self.query_one("#direct", Checkbox).value = form.direct_close
            self.query_one("#description", TextArea).load_text(form.description)
            self.query_one("#answer", TextArea).load_text(form.answer)
            self.query_one("#answer", TextArea).set_class(not form.direct_close, "hidden")
            self._set_leaf(form.leaf_code, form.query)
            self.leaf_rank = form.leaf_rank
            if form.query:
                self.picker.search_box.value = form.query
        finally:
            self.call_after_refresh(self._loaded)

    def _loaded(self) -> None:
        self._loading = False

    def _set_select(self, selector: str, value: str) -> None:
        select = self.query_one(selector, Select)
        if value in self._choices[selector]:
            select.value = value
        elif selector in ("#nature", "#district"):  # the two that may stay empty
            select.clear()

    # --- status line --------------------------------------------------------------------------------

    def status(self, text: str, level: str = "") -> None:
        widget = self.query_one("#form-status", Static)
        widget.update(text)
        widget.set_class(level == "error", "-error")
        widget.set_class(level == "warning", "-warning")

    @property
    def status_text(self) -> str:
        return str(self.query_one("#form-status", Static).content)

    # --- the leaf -----------------------------------------------------------------------------------

    @on(TaxonomyPicker.Chosen)
    def _chosen(self, event: TaxonomyPicker.Chosen) -> None:
        event.stop()
        self._set_leaf(event.result.code, event.query)
        self.leaf_rank = event.rank
        facts = self.tickets.leaf(event.result.code)
        if facts is None:
            return
        if self.query_one("#urgency", Select).value == DEFAULT_URGENCY:
            self.query_one("#urgency", Select).value = facts.urgency
        nature = self.query_one("#nature", Select)
        if not isinstance(nature.value, str) or nature.value == self._auto_nature:  # empty, or our default
            self._auto_nature = default_nature(facts)
            if self._auto_nature is not None:
                nature.value = self._auto_nature
        description = self.query_one("#description", TextArea)
        if event.description and not description.text.strip():
            description.load_text(event.description)
        if facts.critical:
            self._gate_shown = False  # the hand-off comes first; Ctrl+S shows what is missing again
            self.status(self.tr.t("status.critical", handoff=facts.handoff or "110/119/120/122"), "error")
            self.post_message(self.CriticalLeaf(facts.code, facts.path, facts.handoff))
        elif facts.answer:
            self.status(self.tr.t("status.has_answer"))
        self.query_one("#address", Input).focus()
        self._changed()

    def _set_leaf(self, code: str, query: str) -> None:
        facts = self.tickets.leaf(code)
        self.leaf_code = facts.code if facts else ""
        self.leaf_path = facts.path if facts else ()
        self.leaf_query = query if facts else ""
        if facts is None:
            self.picker.set_chosen_label("")
            return
        label = Text(self.tr.t("form.chosen"), style="bold")
        label.append(" / ".join(facts.path))
        urgency = self.tr.label("urgency", facts.urgency)
        label.append(f"  {facts.department}  {facts.time_limit}  {urgency}", style="dim")
        self.picker.set_chosen_label(label)

    # --- district and address -------------------------------------------------------------------------

    @on(Input.Changed, "#address")
    def _address(self, event: Input.Changed) -> None:
        if event.value != event.input.value:
            return  # stale value of an input-method burst
        matches = self.tickets.match_address(event.value)
        hint = self.query_one("#district-hint", Static)
        if not matches:
            hint.update("")
            self.street = "" if not self._district_manual else self.street
            return
        best = matches[0]
        hint.update(self.tr.t("form.district_match", district=best.district, street=best.street or ""))
        if not self._district_manual:
            self._auto_district = best.district
            self.street = best.street or ""
            self._set_select("#district", best.district)

    @on(Select.Changed, "#district")
    def _district(self, event: Select.Changed) -> None:
        if not self._loading and event.value != self._auto_district and isinstance(event.value, str):
            self._district_manual = True
            self.street = ""

    # --- edits and the draft ---------------------------------------------------------------------------

    @on(Input.Changed)
    @on(Select.Changed)
    @on(Checkbox.Changed)
    @on(TextArea.Changed)
    def _edited(self, event: Message) -> None:
        if isinstance(event, Checkbox.Changed) and event.checkbox.id == "direct":
            answer = self.query_one("#answer", TextArea)
            answer.set_class(not event.value, "hidden")
            facts = self.tickets.leaf(self.leaf_code)
            if event.value and facts is not None and facts.answer and not answer.text.strip():
                answer.load_text(facts.answer)
        if isinstance(event, TextArea.Changed) and event.text_area.id == "description":
            n = len(event.text_area.text)
            count = self.query_one("#desc-count", Static)
            count.update(self.tr.t("form.description", n=n, max=MAX_LENGTHS["description"]))
            count.set_class(n > MAX_LENGTHS["description"], "-error")
        if not self._loading:
            self._changed()

    def _changed(self) -> None:
        if self.saved is not None or self.discarded or self.saving:
            return  # while saving: written afterwards if the save does not go through
        if self._gate_shown:
            self._refresh_gate()
        if self._draft_timer is not None:
            self._draft_timer.stop()
        self._draft_timer = self.set_timer(DRAFT_IDLE_SECONDS, self._save_draft_now)

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        if self._draft_timer is not None:  # something changed since the last write
            self._save_draft_now()

    def _save_draft_now(self) -> None:
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        if self.saved is None and not self.discarded and self.is_mounted:
            form = self.form_data()
            if not form.is_blank():  # the caller's number alone is no draft worth keeping
                self._write_draft(form, self.call)

    @work(thread=True, exclusive=True, group="ticket-draft", exit_on_error=False)
    def _write_draft(self, form: FormData, call: CallContext | None) -> None:
        try:
            self.tickets.save_draft(form, call)
        except Exception as exc:  # the form keeps the text; the next change tries again
            self.post_message(self._DraftNote(str(exc)))

    @on(_DraftNote)
    def _draft_note(self, event: _DraftNote) -> None:
        self.status(self.tr.t("status.draft_failed", error=event.error), "warning")

    def _restore(self, call: CallContext) -> None:
        try:
            form = self.tickets.draft_of_call(call)
        except StoreError as exc:
            self.status(self.tr.t("status.draft_unreadable", error=str(exc)), "warning")
            return
        if form is None or form.is_blank():
            return
        self.fill(form)
        self.status(self.tr.t("status.restored"), "warning")

    # --- saving -------------------------------------------------------------------------------------

    def action_save(self) -> None:
        self.save()

    def save(self) -> None:
        """Check the form, then write the ticket in a worker (see the module docstring)."""
        if self.saved is not None:
            self.status(self.tr.t("status.already_saved", number=self.saved.number))
            return
        if self.saving:
            return
        form = self.form_data()
        mode: Mode = "direct_close" if form.direct_close else "dispatch"
        gate = self.tickets.check(form, mode)
        if not gate.ok:
            self._refused(gate)
            return
        self._start_save(form, mode, check_duplicates=mode == "dispatch")

    def _refused(self, gate: GateResult) -> None:
        self.status(describe_gate(self.tr, gate), "error")
        self._gate_shown = True
        self._focus_field(gate.focus_field)
        self.app.bell()

    def _focus_field(self, widget_id: str | None) -> None:
        if widget_id == "picker":
            self.focus_search()
        elif widget_id:
            self.query_one(f"#{widget_id}").focus()

    def _refresh_gate(self) -> None:
        form = self.form_data()
        gate = self.tickets.check(form, "direct_close" if form.direct_close else "dispatch")
        self.status(*gate_status(self.tr, gate))  # until the next save: a field emptied again shows

    def action_nature(self, n: int) -> None:
        """Alt+1..Alt+6: 诉求性质 by its place in NATURES."""
        if self.saved is None and 1 <= n <= len(NATURES):
            self._auto_nature = None  # the operator's choice: another leaf does not replace it
            self.query_one("#nature", Select).value = NATURES[n - 1]

    def _start_save(
        self,
        form: FormData,
        mode: Mode,
        *,
        check_duplicates: bool,
        merge_into: str | None = None,
        follow_up: str | None = None,
        reopen: str | None = None,
        link_to: str | None = None,
    ) -> None:
        self.saving = True
        self._gate_shown = False
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self.status(self.tr.t("status.saving"))
        self._save(form, self.call, mode, check_duplicates, merge_into, follow_up, reopen, link_to)

    @work(thread=True, exclusive=True, group="ticket-save", exit_on_error=False)
    def _save(
        self,
        form: FormData,
        call: CallContext | None,
        mode: Mode,
        check_duplicates: bool,
        merge_into: str | None,
        follow_up: str | None,
        reopen: str | None,
        link_to: str | None,
    ) -> None:
        def run() -> SaveResult | tuple[Duplicate, ...]:
            if follow_up:
                return self.tickets.follow_up(follow_up, call, form.request_id)
            if reopen:
                return self.tickets.reopen(reopen, form, call)
            if check_duplicates:
                duplicates = tuple(self.tickets.find_duplicates(form))
                if duplicates:
                    return duplicates
            return self.tickets.save(form, call, mode=mode, merge_into=merge_into, link_to=link_to)

        self.post_message(self._Outcome(**with_retries(run, self._busy)))

    def _busy(self, message: str) -> None:
        self.post_message(self._Outcome(busy=message))

    @on(_Outcome)
    def _outcome(self, event: _Outcome) -> None:
        event.stop()
        if event.busy:
            self.status(self.tr.t("status.busy", error=event.busy), "warning")
            return
        self.saving = False
        if event.result is None:  # refused, failed or waiting for a duplicate decision: keep the draft
            self._save_draft_now()
        if event.error:
            self.status(self.tr.t("status.save_failed", error=event.error), "error")
            self.app.bell()
        elif event.duplicates:
            self._offer_duplicates(event.duplicates)
        elif event.result is not None:
            self._show_saved(event.result)

    def _show_saved(self, result: SaveResult) -> None:
        self.saved = result
        if self._draft_timer is not None:
            self._draft_timer.stop()
            self._draft_timer = None
        self.query_one(DuplicatePanel).hide()
        panel = self.query_one("#saved-panel")
        panel.remove_class("hidden")
        told: Told | None = (
            "merged"
            if result.merged_into
            else result.reopened
            if result.reopened
            else "follow"
            if result.follow_up
            else "linked"
            if result.linked_to
            else None
        )
        if told is None:
            number = result.number
            text = self.tr.t(
                "saved.status", number=number, status=self.tr.label("ticket_status", result.status)
            )
        else:  # after 并单 the caller is told the parent's number: that ticket is handled and answered
            shown = read_back(self.tr, told, result.number, result.merged_into or result.linked_to)
            number, text = shown.number, shown.text
        # the big digits cannot draw letters: the head names the prefix, so the whole number is read back
        prefix = number[: len(number) - len(number.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))]
        head = self.tr.t("saved.title_prefixed", prefix=prefix) if prefix else self.tr.t("saved.title")
        self.query_one("#saved-head", Label).update(head)
        self.query_one("#saved-digits", Digits).update(readback_digits(number))
        self.query_one("#saved-number", Static).update(text)
        self.status(self.tr.t("status.saved", number=result.number))
        for widget in self.query("Input, Select, TextArea, Checkbox"):
            widget.disabled = True
        self.post_message(self.Saved(result.number, result.ticket_id))
        self.call_after_refresh(panel.scroll_visible)

    # --- duplicates -----------------------------------------------------------------------------------

    def _offer_duplicates(self, duplicates: tuple[Duplicate, ...]) -> None:
        self.query_one(DuplicatePanel).offer(duplicates)
        self.status(self.tr.t("status.duplicates", n=len(duplicates)), "warning")

    @on(DuplicatePanel.Chosen)
    def _dup_choice(self, event: DuplicatePanel.Chosen) -> None:
        event.stop()
        form, verb, number = self.form_data(), event.verb, event.number
        if verb == "merge" and number:
            self._start_save(form, "merge", check_duplicates=False, merge_into=number)
        elif verb == "follow" and number:
            self._start_save(form, "dispatch", check_duplicates=False, follow_up=number)
        elif verb == "reopen" and number:
            self._start_save(form, "dispatch", check_duplicates=False, reopen=number)
        elif verb == "link_new" and number:
            self._start_save(form, "dispatch", check_duplicates=False, link_to=number)
        elif verb == "new":
            self._start_save(form, "dispatch", check_duplicates=False)
        else:
            self.status(self.tr.t("status.dup_cancelled"))
            self.focus_search()
