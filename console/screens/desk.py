"""The operator's main screen: status bar, call panel, wrap-up, the ringing pop and the ticket form.

All call logic lives in ``console.services.desk.DeskService``; this screen turns keys into its
methods and its ``DeskUpdate`` results into what the operator sees and hears (bell, pop, messages).
The caller history is read in a thread worker, so the ring shows before the store answers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingsMap
from textual.containers import Container, Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, OptionList, Static

from console.i18n import Translator
from console.keymap import bindings
from console.screens.dialogs import (
    ConsultDialog,
    DtmfDialog,
    PauseReasonDialog,
    TransferChoice,
    TransferDialog,
    TransferTarget,
)
from console.services.desk import DISPOSITIONS, PAUSED, WRAPUP, DeskService, DeskUpdate, LiveCall, place_of
from console.widgets.call_panel import CallPanel, CallView, WrapupPanel
from console.widgets.ringing import RingingPop
from console.widgets.status_bar import StatusBar, StatusView
from store.calls import CallerHistory

CATALOGUE = {
    "zh_CN": {
        "desk.form_slot": "工单表单（接听后在此填写）",
        "msg.ready_after_call": "通话结束后将就绪",
        "msg.pause_after_call": "通话结束后将示忙（{reason}）",
        "msg.disposed": "处理结果已记录",
        "msg.line_up": "线路已恢复",
        "msg.line_down": "线路断开：{why}",
        "msg.line_error": "线路错误：{why}",
        "msg.waiting_abandoned": "排队来电 {number} 已挂断",
        "msg.transferred": "已转接至 {target}",
        "msg.abandoned": "来电 {number} 未接即挂断",
        "msg.call_failed": "通话异常中断：{why}",
        "msg.consult_up": "{target} 已接通，F7 完成转接",
        "msg.consult_ended": "咨询通话已结束",
        "msg.command_refused": "操作未执行：{why}",
        "msg.no_call": "当前没有可操作的通话",
        "msg.muted": "已静音",
        "msg.unmuted": "已取消静音",
        "msg.bad_dtmf": "只能发送 0-9 * #",
        "msg.dtmf_sent": "已发送按键 {digits}",
        "msg.bad_target": "请输入转接号码",
        "msg.consult_dialled": "正在呼叫 {target}（来电已保持）",
        "msg.consult_not_up": "对方尚未接通",
        "msg.store_problem": "数据暂未保存（{what}），系统将继续运行",
        "msg.no_form": "工单表单尚未接入",
        "msg.no_worklists": "工作清单尚未接入",
        "msg.history_failed": "查询来电历史失败：{why}",
        "msg.ticket_saved": "工单已保存：{number}",
        "msg.critical": "紧急事项：请立即转接 {number}",
    },
    "en": {
        "desk.form_slot": "Ticket form (fill it in once the call is answered)",
        "msg.ready_after_call": "Ready after this call",
        "msg.pause_after_call": "Not ready ({reason}) after this call",
        "msg.disposed": "Disposition recorded",
        "msg.line_up": "Line is back",
        "msg.line_down": "Line down: {why}",
        "msg.line_error": "Line error: {why}",
        "msg.waiting_abandoned": "Waiting call {number} hung up",
        "msg.transferred": "Transferred to {target}",
        "msg.abandoned": "Caller {number} hung up before answer",
        "msg.call_failed": "Call dropped: {why}",
        "msg.consult_up": "{target} answered; F7 completes the transfer",
        "msg.consult_ended": "Consultation call ended",
        "msg.command_refused": "Not done: {why}",
        "msg.no_call": "No call to act on",
        "msg.muted": "Muted",
        "msg.unmuted": "Unmuted",
        "msg.bad_dtmf": "Only 0-9 * # can be sent",
        "msg.dtmf_sent": "Sent {digits}",
        "msg.bad_target": "Type a number to transfer to",
        "msg.consult_dialled": "Calling {target} (caller on hold)",
        "msg.consult_not_up": "Not answered yet",
        "msg.store_problem": "Not saved yet ({what}); the desk goes on",
        "msg.no_form": "The ticket form is not available",
        "msg.no_worklists": "Worklists are not available",
        "msg.history_failed": "Caller history failed: {why}",
        "msg.ticket_saved": "Ticket saved: {number}",
        "msg.critical": "Emergency: transfer to {number} now",
    },
}
FormFactory = Callable[[LiveCall | None], Widget]
HistoryLookup = Callable[[str, str], CallerHistory]


class DeskScreen(Screen[None]):
    DEFAULT_CSS = """
    DeskScreen #desk-main { height: 1fr; }
    DeskScreen #desk-left { width: 52; height: 1fr; }
    DeskScreen #ticket-form-slot { width: 1fr; height: 1fr; border: round $panel; }
    DeskScreen #form-placeholder { color: $text-muted; padding: 1 2; }
    """

    def __init__(
        self,
        desk: DeskService,
        translator: Translator,
        keys: Mapping[str, str],
        *,
        pause_reasons: Sequence[str],
        transfer_targets: Sequence[TransferTarget],
        history: HistoryLookup,
        sync_status: Callable[[], str] = lambda: "—",
        form_factory: FormFactory | None = None,
        worklists: Callable[[], Screen[Any]] | None = None,
        place: Callable[[str], str] = place_of,
    ) -> None:
        super().__init__()
        self.desk = desk
        self.tr = translator
        self.keys = keys
        self.pause_reasons = tuple(pause_reasons)
        self.transfer_targets = tuple(transfer_targets)
        self.history = history
        self.sync_status = sync_status
        self.form_factory = form_factory
        self.worklists = worklists
        self.place = place
        self.places: dict[str, str] = {}
        self.form: Widget | None = None
        self.form_call_id: str | None = None
        own = [b for _, b in self._bindings]
        self._bindings = BindingsMap([*own, *bindings("desk", keys, translator)])

    # -- layout -----------------------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield StatusBar(self.tr, id="status")
        with Horizontal(id="desk-main"):
            with Vertical(id="desk-left"):
                yield CallPanel(self.tr, self.keys, id="call-panel")
                yield WrapupPanel(self.tr, DISPOSITIONS, id="wrapup")
                yield RingingPop(self.tr, id="ringing")
            with Container(id="ticket-form-slot"):
                yield Static(self.tr.t("desk.form_slot"), id="form-placeholder")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_view()
        if self.desk.current is not None and self.desk.current.state == "ringing":
            self.show_update(DeskUpdate("ringing", self.desk.current))

    # -- drawing ----------------------------------------------------------------------------------
    def _place(self, number: str) -> str:
        if number not in self.places:
            self.places[number] = self.place(number)
        return self.places[number]

    def refresh_view(self) -> None:
        desk = self.desk
        op = desk.operator
        self.query_one(StatusBar).show(
            StatusView(
                operator=op.display_name if op else "",
                state=desk.status.label,
                seconds_in_state=desk.seconds_in_state(),
                line_state=desk.line_state,
                waiting=len(desk.waiting),
                sync=self.sync_status(),
                now=desk.now(),
                pending_pause=desk.pending_pause,
            )
        )
        call = desk.current
        if call is None:
            view = CallView("idle")
        else:
            view = CallView(
                call.state,
                call.caller,
                self._place(call.caller),
                desk.call_seconds(),
                call.muted,
                call.consult_target if call.consult_id else "",
                call.consult_up,
            )
        self.query_one(CallPanel).show(view)
        wrap = self.query_one(WrapupPanel)
        in_wrapup = desk.status.state == WRAPUP
        if in_wrapup:
            wrap.show(desk.wrapup_left(), desk.pending_pause)
        wrap.set_class(in_wrapup, "active")

    def tick(self) -> None:
        """Every second (the app's timer): wrap-up countdown, timers, clock."""
        update = self.desk.tick()
        self.show_update(update)

    # -- what an update means on screen -----------------------------------------------------------
    def show_update(self, update: DeskUpdate) -> None:
        pop = self.query_one(RingingPop)
        call = update.call
        if update.kind == "ringing" and call is not None:
            self.app.bell()
            pop.show_caller(
                call.call_id, call.caller, call.display_name, self._place(call.caller), ringing=True
            )
            self._load_history(call.call_id, call.caller)
        elif update.kind == "answered" and call is not None:
            pop.set_ringing(False)
            self._open_form(call)
        elif update.kind == "abandoned":
            pop.clear()
        elif update.kind == "ended":
            pop.set_ringing(False)
            if call is not None and call.call_id == self.form_call_id:
                self._form_action("note_call_ended", prefix="")
            if self.desk.status.state == WRAPUP:
                self.query_one("#wrap-options", OptionList).focus()
        if update.message:
            severity = (
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
            found = self.history(number, call_id)
        except Exception as exc:  # a locked or unreachable store: the call still rings
            self.post_message(self.HistoryLoaded(call_id, None, type(exc).__name__))
            return
        self.post_message(self.HistoryLoaded(call_id, found))

    def on_desk_screen_history_loaded(self, message: HistoryLoaded) -> None:
        if message.found is None:
            self.notify(self.tr.t("msg.history_failed", why=message.error), severity="warning")
        else:
            self.query_one(RingingPop).show_history(message.call_id, message.found)

    # -- the ticket form slot ---------------------------------------------------------------------
    def _open_form(self, call: LiveCall | None) -> None:
        if self.form_factory is None or (call is not None and call.call_id == self.form_call_id):
            return
        slot = self.query_one("#ticket-form-slot", Container)
        slot.remove_children()
        self.form = self.form_factory(call)
        self.form_call_id = call.call_id if call else None
        slot.mount(self.form)
        # the operator classifies while the caller talks: the cursor waits in the taxonomy search
        self.call_after_refresh(self._form_action, "focus_search")

    def _form_action(self, name: str, prefix: str = "action_") -> bool:
        form = self.form
        method = getattr(form, f"{prefix}{name}", None) if form is not None else None
        if method is None:
            return False
        method()
        return True

    # -- key actions ------------------------------------------------------------------------------
    def action_answer(self) -> None:
        self.show_update(self.desk.answer())

    def action_hold(self) -> None:
        self.show_update(self.desk.toggle_hold())

    def action_mute(self) -> None:
        self.show_update(self.desk.toggle_mute())

    def action_hangup(self) -> None:
        self.show_update(self.desk.hangup())

    def action_ready(self) -> None:
        if self.desk.wants_reason_for_toggle():
            self.action_pause()
        else:
            self.show_update(self.desk.toggle_ready())

    def action_pause(self) -> None:
        if self.desk.status.state == PAUSED and self.desk.current is None:
            return

        def chosen(reason: str | None) -> None:
            if reason:
                self.show_update(self.desk.pause(reason))

        self.app.push_screen(PauseReasonDialog(self.tr, self.pause_reasons), chosen)

    def action_transfer(self, preselect: str = "") -> None:
        call = self.desk.current
        if call is None or call.state not in ("talking", "held"):
            self.show_update(DeskUpdate("error", message="msg.no_call"))
            return
        if call.consult_id is not None:

            def consult(choice: str | None) -> None:
                if choice == "complete":
                    self.show_update(self.desk.complete_consultation())
                elif choice == "cancel":
                    self.show_update(self.desk.cancel_consultation())

            self.app.push_screen(ConsultDialog(self.tr, call.consult_target, call.consult_up), consult)
            return

        def chosen(choice: TransferChoice | None) -> None:
            if choice is None:
                return
            if choice.mode == "blind":
                self.show_update(self.desk.blind_transfer(choice.target.number, choice.target.label))
            else:
                self.show_update(self.desk.start_consultation(choice.target.number, choice.target.label))

        self.app.push_screen(TransferDialog(self.tr, self.transfer_targets, preselect), chosen)

    def action_dtmf(self) -> None:
        if not self.desk.in_call:
            self.show_update(DeskUpdate("error", message="msg.no_call"))
            return
        self.app.push_screen(
            DtmfDialog(self.tr, lambda digits: self.show_update(self.desk.send_dtmf(digits)))
        )

    def action_caller_history(self) -> None:
        pop = self.query_one(RingingPop)
        pop.display = not pop.display

    def action_knowledge(self) -> None:
        if not self._form_action("knowledge"):
            self.notify(self.tr.t("msg.no_form"), severity="warning")

    def action_save_ticket(self) -> None:
        if not self._form_action("save"):
            self.notify(self.tr.t("msg.no_form"), severity="warning")

    def action_focus_search(self) -> None:
        if not self._form_action("focus_search"):
            self.notify(self.tr.t("msg.no_form"), severity="warning")

    def action_new_ticket(self) -> None:
        if self.form_factory is None:
            self.notify(self.tr.t("msg.no_form"), severity="warning")
            return
        self.form_call_id = None
        self._open_form(None)

    def action_worklists(self) -> None:
        if self.worklists is None:
            self.notify(self.tr.t("msg.no_worklists"), severity="warning")
            return
        self.app.push_screen(self.worklists())

    @on(WrapupPanel.Picked)
    def _disposed(self, event: WrapupPanel.Picked) -> None:
        self.show_update(self.desk.finish_wrapup(event.disposition))

    # -- what the ticket form tells us (C2's TicketForm messages, matched by name) -----------------
    def on_ticket_form_saved(self, message: Any) -> None:
        number = getattr(message, "number", None) or getattr(message, "ticket_number", "")
        ticket_id = getattr(message, "ticket_id", None)
        if isinstance(ticket_id, int):  # the form's call (None: a new ticket, for the current call)
            self.desk.note_ticket(ticket_id, self.form_call_id)
        if number:
            self.notify(self.tr.t("msg.ticket_saved", number=number))

    def on_ticket_form_critical_leaf(self, message: Any) -> None:
        number = str(getattr(message, "handoff", "") or getattr(message, "number", "") or "")
        self.notify(
            self.tr.t("msg.critical", number=number or "110/119/120/122"), severity="error", timeout=10
        )
        if self.desk.in_call:
            self.action_transfer(preselect=number)
