"""The operator's main screen: status bar, call panel, wrap-up, the ringing pop and the ticket form.

All call logic lives in ``console.services.call_service.CallService`` (``seat.calls``); this screen turns
keys into its methods and its ``CallUpdate`` results into what the operator sees and hears (bell,
pop, messages). The caller history is read in a thread worker, so the ring shows before the store
answers. The screen gets the operator's ``console.seat.Seat``; it mounts a ``TicketForm`` on the
seat's ticket service in its form slot and drives it through ``FormSlot``; the form answers with
its typed messages (``TicketForm.Saved``, ``TicketForm.CriticalLeaf``).

One call's data stays with that call: a ringing call clears the previous caller's finished form; a
form is opened for the call it is for (Ctrl+N: an empty one); a form that is not saved keeps its
draft on its call, and unsaved drafts come back only when the operator picks one (Ctrl+R, offered at
login). When the caller hangs up mid-form, the form keeps the focus and the wrap-up waits for the
ticket to be saved or abandoned (Ctrl+D: the draft stays on the call).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import ClassVar, Protocol

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Horizontal, Vertical
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import OptionList, Static

from console.i18n import Translator, local_minute
from console.keymap import KeyFooter
from console.screens.dialogs import (
    ConsultDialog,
    DtmfDialog,
    PauseReasonDialog,
    TransferChoice,
    TransferDialog,
)
from console.screens.drafts_dialog import DraftsDialog
from console.screens.worklists import WorklistsScreen
from console.seat import Seat
from console.services.call_service import DISPOSITIONS, CallService, CallUpdate, LiveCall
from console.services.ticket_service import CallContext, UnsavedDraft
from console.widgets.call_panel import CallPanel, CallView, WrapupPanel
from console.widgets.ringing import RingingPop
from console.widgets.status_bar import StatusBar, StatusView
from console.widgets.ticket_form import TicketForm
from store.caller_history import CallerHistory
from store.callers import mask_phone, place_of
from store.vocabulary import AgentState


class FormSlot(Protocol):
    """What the desk asks of the form in its slot (``console.widgets.ticket_form.TicketForm``)."""

    def focus_search(self) -> None: ...

    def knowledge(self) -> None: ...

    def note_call_ended(self) -> None: ...


class DeskScreen(Screen[None]):
    DEFAULT_CSS = """
    DeskScreen #desk-main { height: 1fr; }
    DeskScreen #desk-left { height: 1fr; }  /* its width: console/app.tcss */
    DeskScreen #ticket-form-slot { width: 1fr; height: 1fr; border: round $panel; }
    DeskScreen .form-placeholder { color: $text-muted; padding: 1 2; }
    """
    # ids: the keys of [keymap]; descriptions: locale keys (KeyFooter shows them translated). Call
    # control is priority so it works whatever widget has the focus. Ctrl+S is the ticket form's own.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "caller_history", "key.caller_history", show=False, id="caller_history"),
        Binding("f3", "knowledge", "key.knowledge", show=False, id="knowledge"),
        Binding("f4", "mute", "key.mute", id="mute", priority=True),
        Binding("f5", "answer", "key.answer", id="answer", priority=True),
        Binding("f6", "hold", "key.hold", id="hold", priority=True),
        Binding("f7", "transfer", "key.transfer", id="transfer", priority=True),
        Binding("f8", "hangup", "key.hangup", id="hangup", priority=True),
        Binding("f9", "ready", "key.ready", id="ready", priority=True),
        Binding("f10", "pause", "key.pause", show=False, id="pause", priority=True),
        Binding("ctrl+f", "focus_search", "key.search", show=False, id="search"),
        Binding("ctrl+n", "new_ticket", "key.new_ticket", show=False, id="new_ticket"),
        Binding("f11", "worklists", "key.worklists", show=False, id="worklists"),
        Binding("f12", "dtmf", "key.dtmf", show=False, id="dtmf", priority=True),
        Binding("ctrl+r", "drafts", "key.drafts", show=False, id="drafts"),
        Binding(
            "ctrl+d", "abandon_ticket", "key.abandon_ticket", show=False, id="abandon_ticket", priority=True
        ),
    ]

    def __init__(
        self,
        seat: Seat,
        translator: Translator,
        keys: Mapping[str, str],
        *,
        sync_status: Callable[[], str] = lambda: "—",
        place: Callable[[str], str] = place_of,
    ) -> None:
        super().__init__()
        self.seat = seat
        self.calls: CallService = seat.calls
        self.tr = translator
        self.keys = keys
        self.sync_status = sync_status
        self.place = place
        self.places: dict[str, str] = {}
        self.form: FormSlot | None = None
        self.form_call_id: str | None = None
        self._key_state: tuple[object, ...] = ()  # what check_action depends on, when last drawn

    # -- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(self.tr, id="status")
        with Horizontal(id="desk-main"):
            with Vertical(id="desk-left"):
                yield CallPanel(self.tr, self.keys, id="call-panel")
                yield WrapupPanel(self.tr, DISPOSITIONS, id="wrapup")
                yield RingingPop(self.tr, id="ringing")
            with Container(id="ticket-form-slot"):
                yield Static(self.tr.t("desk.form_slot"), classes="form-placeholder")
        yield KeyFooter(self.tr)

    def on_mount(self) -> None:
        self.calls.ticket_in_progress = self._ticket_in_progress
        self.refresh_view()
        if self.seat.tickets is not None:  # the search's priors are store reads: off the UI loop
            self.run_worker(self.seat.tickets.load_priors, thread=True, group="search-priors")
            self._load_drafts(offer=True)
        if self.calls.current is not None and self.calls.current.state == "ringing":
            self.show_update(CallUpdate("ringing", self.calls.current))

    # -- drawing ----------------------------------------------------------------------------------
    def _place(self, number: str) -> str:
        if number not in self.places:
            self.places[number] = self.place(number)
        return self.places[number]

    def status_view(self) -> StatusView:
        """What every screen's status bar shows now (the app draws it on screens above the desk)."""
        calls = self.calls
        op = calls.operator
        current = calls.current
        return StatusView(
            operator=op.display_name if op else "",
            state=calls.status.state,
            reason=calls.status.reason,
            seconds_in_state=calls.seconds_in_state(),
            line_state=calls.line_state,
            waiting=len(calls.waiting),
            sync=self.sync_status(),
            now=calls.now(),
            pending_pause=calls.pending_pause,
            in_call=calls.in_call,
            call_seconds=calls.call_seconds(),
            muted=current is not None and current.muted,
        )

    def unsaved_ticket(self) -> bool:
        """Whether the form in the slot holds typed text that no saved ticket has taken."""
        form = self.form
        return isinstance(form, TicketForm) and form.unsaved

    def refresh_view(self) -> None:
        calls = self.calls
        self.query_one(StatusBar).show(self.status_view())
        call = calls.current
        if call is None:
            view = CallView("idle")
        else:
            view = CallView(
                call.state,
                call.caller,
                self._place(call.caller),
                calls.call_seconds(),
                call.muted,
                call.consult.target if call.consult else "",
                call.consult is not None and call.consult.up,
            )
        self.query_one(CallPanel).show(view)
        wrap = self.query_one(WrapupPanel)
        in_wrapup = calls.status.state == AgentState.WRAP_UP
        if in_wrapup:
            wrap.show(calls.wrapup_left(), calls.pending_pause, held=calls.wrapup_held)
        wrap.set_class(in_wrapup, "active")
        key_state = (call.state if call else None, calls.status.state, calls.wrapup_held)
        if key_state != self._key_state:  # the footer shows only the keys that do something now
            self._key_state = key_state
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Call keys are offered (footer) and honoured only in the call states where they act."""
        calls = self.calls
        state = calls.current.state if calls.current is not None else None
        match action:
            case "answer":
                return state == "ringing"
            case "hold" | "transfer" | "mute":
                return calls.in_call
            case "dtmf":
                return state == "talking"
            case "hangup":
                return state in ("ringing", "dialing", "talking", "held")
            case "abandon_ticket":
                return calls.wrapup_held
        return True

    def tick(self) -> None:
        """Every second (the app's timer): wrap-up countdown, timers, clock."""
        update = self.calls.tick()
        self.show_update(update)

    # -- what an update means on screen -----------------------------------------------------------
    def show_update(self, update: CallUpdate) -> None:
        pop = self.query_one(RingingPop)
        call = update.call
        if update.kind == "ringing" and call is not None:
            self.app.bell()
            self._clear_finished_form()  # the previous caller's ticket leaves the screen
            pop.show_caller(
                call.call_id, call.caller, call.display_name, self._place(call.caller), ringing=True
            )
            self._load_history(call.call_id, call.caller)
        elif update.kind == "dialing" and call is not None:  # a callback: the callee's history
            self._clear_finished_form()
            pop.show_caller(
                call.call_id, call.caller, call.display_name, self._place(call.caller), ringing=False
            )
            self._load_history(call.call_id, call.caller)
        elif update.kind == "answered" and call is not None:
            pop.set_ringing(False)
            self._open_form(call)
        elif update.kind == "abandoned":
            pop.clear()
        elif update.kind == "ended":
            pop.set_ringing(False)
            if self.form is not None and call is not None and call.call_id == self.form_call_id:
                self.form.note_call_ended()
            if self.calls.status.state == AgentState.WRAP_UP and not self.calls.wrapup_held:
                self._start_wrapup()
        elif update.kind == "wrapup":
            self._start_wrapup()
        if update.message:
            severity: SeverityLevel = (
                "error"
                if update.kind in ("error", "line_down") or update.message == "msg.call_failed"
                else "warning"
                if update.kind in ("abandoned", "waiting")
                else "information"
            )
            self.notify(self.tr.t(update.message, **update.values), severity=severity)
        self.refresh_view()

    class HistoryLoaded(Message):
        """The caller's history read by the worker thread (``error`` names what went wrong)."""

        def __init__(self, call_id: str, found: CallerHistory | None, error: str = "") -> None:
            super().__init__()
            self.call_id, self.found, self.error = call_id, found, error

    @work(thread=True, exclusive=True, group="history")
    def _load_history(self, call_id: str, number: str) -> None:
        # post_message, not call_from_thread: it never blocks this thread on a busy (or closing) UI loop
        try:
            found = self.seat.history(number, call_id)
        except Exception as exc:  # a locked or unreachable store: the call still rings
            self.post_message(self.HistoryLoaded(call_id, None, type(exc).__name__))
            return
        self.post_message(self.HistoryLoaded(call_id, found))

    def on_desk_screen_history_loaded(self, message: HistoryLoaded) -> None:
        if message.found is None:
            self.notify(self.tr.t("msg.history_failed", why=message.error), severity="warning")
            return
        self.query_one(RingingPop).show_history(message.call_id, message.found)
        form = self.form
        if isinstance(form, TicketForm) and message.found.name and self.form_call_id == message.call_id:
            form.offer_caller_name(message.found.name)

    def _start_wrapup(self) -> None:
        """The wrap-up's clock runs: its list opens on what the call's facts imply, and takes the keys."""
        self.query_one(WrapupPanel).start(self.calls.implied_disposition())
        self.query_one("#wrap-options", OptionList).focus()

    # -- the ticket form slot ---------------------------------------------------------------------
    def _ticket_in_progress(self, call_id: str) -> bool:
        """Whether the form in the slot is this call's and holds text no saved ticket has taken."""
        return self.form_call_id == call_id and self.unsaved_ticket()

    def _open_form(
        self, call: LiveCall | None, *, fresh: bool = False, draft: UnsavedDraft | None = None
    ) -> None:
        """A form for ``call`` (None: no call) in the slot: its own draft restored unless ``fresh``,
        or the unsaved ``draft`` the operator picked (with the call it was written for)."""
        tickets = self.seat.tickets
        if tickets is None:
            return
        if draft is None and not fresh and call is not None and call.call_id == self.form_call_id:
            return
        self._vacate_slot(None)
        if draft is not None:
            context = draft.call
        else:
            context = CallContext(call.call_id, call.caller, call.display_name) if call else None
        form = TicketForm(
            tickets, self.tr, context, restore_draft=not fresh, draft=draft.form if draft else None
        )
        self.form = form
        self.form_call_id = context.call_id if context else None
        self.query_one("#ticket-form-slot", Container).mount(form)
        # the operator classifies while the caller talks: the cursor waits in the taxonomy search
        self.call_after_refresh(form.focus_search)

    def _vacate_slot(self, note: str | None = "desk.form_slot") -> None:
        """Take the form away (an unsaved one's draft is written first and stays on its call); the
        slot then says ``note`` (a locale key; None: a form follows at once)."""
        form = self.form
        if isinstance(form, TicketForm) and form.unsaved:
            form.flush_draft()
            self.notify(self.tr.t("msg.draft_kept"), severity="warning")
        self.form, self.form_call_id = None, None
        slot = self.query_one("#ticket-form-slot", Container)
        slot.remove_children()
        if note is not None:
            slot.mount(Static(self.tr.t(note), classes="form-placeholder"))

    def _clear_finished_form(self) -> None:
        """A new call: a saved or empty form of the previous one leaves the screen (an unsaved one,
        typed with no call, stays: it is the operator's own work in progress)."""
        form = self.form
        if isinstance(form, TicketForm) and not form.unsaved:
            self._vacate_slot()

    def _call_of_new_form(self) -> LiveCall | None:
        """The call a new form is for: the one in progress, or the one being wrapped up."""
        calls = self.calls
        if calls.current is not None and calls.current.state in ("talking", "held", "ended"):
            return calls.current
        if calls.status.state == AgentState.WRAP_UP:
            return calls.last_call
        return None

    def _with_form(self, act: Callable[[FormSlot], None]) -> None:
        """``act`` on the form in the slot, or say there is none."""
        if self.form is None:
            self.notify(self.tr.t("msg.no_form"), severity="warning")
        else:
            act(self.form)

    # -- key actions ------------------------------------------------------------------------------
    def action_answer(self) -> None:
        self.show_update(self.calls.answer())

    def action_hold(self) -> None:
        self.show_update(self.calls.toggle_hold())

    def action_mute(self) -> None:
        self.show_update(self.calls.toggle_mute())

    def action_hangup(self) -> None:
        self.show_update(self.calls.hangup())

    def action_ready(self) -> None:
        if self.calls.wants_reason_for_toggle():
            self.action_pause()
        else:
            self.show_update(self.calls.toggle_ready())

    def action_pause(self) -> None:
        if self.calls.status.state == AgentState.PAUSED and self.calls.current is None:
            return

        def chosen(reason: str | None) -> None:
            if reason:
                self.show_update(self.calls.pause(reason))

        self.app.push_screen(PauseReasonDialog(self.tr, self.seat.pause_reasons), chosen)

    def action_transfer(self, preselect: str = "") -> None:
        call = self.calls.current
        if call is None or call.state not in ("talking", "held"):
            self.show_update(CallUpdate("error", message="msg.no_call"))
            return
        if call.consult is not None:

            def consult(choice: str | None) -> None:
                if choice == "complete":
                    self.show_update(self.calls.complete_consultation())
                elif choice == "cancel":
                    self.show_update(self.calls.cancel_consultation())

            self.app.push_screen(ConsultDialog(self.tr, call.consult.target, call.consult.up), consult)
            return

        def chosen(choice: TransferChoice | None) -> None:
            if choice is None:
                return
            if choice.mode == "blind":
                self.show_update(self.calls.blind_transfer(choice.target.number, choice.target.label))
            else:
                self.show_update(self.calls.start_consultation(choice.target.number, choice.target.label))

        self.app.push_screen(TransferDialog(self.tr, self.seat.transfer_targets, preselect), chosen)

    def action_dtmf(self) -> None:
        if not self.calls.in_call:
            self.show_update(CallUpdate("error", message="msg.no_call"))
            return
        self.app.push_screen(
            DtmfDialog(self.tr, lambda digits: self.show_update(self.calls.send_dtmf(digits)))
        )

    def action_caller_history(self) -> None:
        pop = self.query_one(RingingPop)
        pop.display = not pop.display

    def action_knowledge(self) -> None:
        self._with_form(lambda form: form.knowledge())

    def action_focus_search(self) -> None:
        self._with_form(lambda form: form.focus_search())

    def action_new_ticket(self) -> None:
        """An empty form for the call in progress (or none); the form it replaces keeps its draft."""
        if self.seat.tickets is None:
            self.notify(self.tr.t("msg.no_form"), severity="warning")
            return
        self._open_form(self._call_of_new_form(), fresh=True)

    def action_abandon_ticket(self) -> None:
        """The caller has gone and no ticket will be saved now: the draft stays on the call, the
        wrap-up clock starts."""
        self._vacate_slot("desk.form_abandoned")
        self.show_update(self.calls.release_wrapup())

    def action_drafts(self) -> None:
        if self.seat.tickets is None:
            self.notify(self.tr.t("msg.no_form"), severity="warning")
            return
        self._load_drafts(offer=False)

    class DraftsLoaded(Message):
        """The operator's unsaved drafts, read by a worker (``offer``: at login, say so only)."""

        def __init__(self, found: list[UnsavedDraft], offer: bool, error: str = "") -> None:
            super().__init__()
            self.found, self.offer, self.error = found, offer, error

    @work(thread=True, exclusive=True, group="drafts")
    def _load_drafts(self, offer: bool) -> None:
        tickets = self.seat.tickets
        if tickets is None:
            return
        try:
            found = tickets.unsaved_drafts()
        except Exception as exc:  # a locked store: the desk goes on, and says so
            self.post_message(self.DraftsLoaded([], offer, type(exc).__name__))
            return
        self.post_message(self.DraftsLoaded(found, offer))

    def on_desk_screen_drafts_loaded(self, message: DraftsLoaded) -> None:
        if message.error:
            self.notify(self.tr.t("msg.drafts_failed", why=message.error), severity="warning")
            return
        live = self.form_call_id
        found = [d for d in message.found if d.call is None or d.call.call_id != live]
        if message.offer:
            if found:
                first = found[0]
                self.notify(
                    self.tr.t(
                        "msg.drafts_waiting",
                        n=len(found),
                        number=mask_phone(first.call.caller) if first.call else "—",
                        when=local_minute(first.at),
                        shortcut=self.keys.get("drafts", "ctrl+r"),
                    ),
                    severity="warning",
                    timeout=20,
                )
            return
        if not found:
            self.notify(self.tr.t("msg.no_drafts"))
            return

        def chosen(draft: UnsavedDraft | None) -> None:
            if draft is not None:
                self._open_form(None, draft=draft)

        self.app.push_screen(DraftsDialog(self.tr, found), chosen)

    def action_worklists(self) -> None:
        if self.seat.worklists is None:
            self.notify(self.tr.t("msg.no_worklists"), severity="warning")
            return
        self.app.push_screen(WorklistsScreen(self.seat.worklists, self.tr, status_view=self.status_view))

    @on(WrapupPanel.Picked)
    def _disposed(self, event: WrapupPanel.Picked) -> None:
        self.show_update(self.calls.finish_wrapup(event.disposition))

    # -- what the ticket form tells us ------------------------------------------------------------
    @on(TicketForm.Saved)
    def _ticket_saved(self, message: TicketForm.Saved) -> None:
        message.stop()
        if self.form_call_id is not None:  # a form with no call files a ticket of no call
            self.calls.note_ticket(message.ticket_id, self.form_call_id)
        self.seat.ticket_saved()
        self.notify(self.tr.t("msg.ticket_saved", number=message.number))
        ended = self.calls.last_call
        if self.calls.wrapup_held and ended is not None and self.form_call_id == ended.call_id:
            self.show_update(self.calls.release_wrapup())

    @on(TicketForm.CriticalLeaf)
    def _critical_leaf(self, message: TicketForm.CriticalLeaf) -> None:
        number = message.handoff or ""
        call = self.calls.current
        if call is not None and call.call_id == self.form_call_id:
            call.matter = " / ".join(message.path)  # what is handed off, for the call's record
        self.notify(
            self.tr.t("msg.critical", number=number or "110/119/120/122"), severity="error", timeout=10
        )
        if self.calls.in_call:
            self.action_transfer(preselect=number)
