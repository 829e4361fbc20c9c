"""The operator's desk: agent state and call control, with no knowledge of widgets.

``DeskService`` is driven from the UI's event loop only: ``apply(event)`` for each line event (the
app forwards them with ``post_message`` from the line's thread) and one method per operator action
(``answer``, ``toggle_hold``, ``hangup``, ``blind_transfer`` ...). Commands return at once: the line
acts asynchronously and reports back with events. Every store write (agent states, dispositions,
mute events) goes to a background writer thread, so a store locked for a while never freezes the
screen; a failed write is reported through ``on_problem`` (thread-safe callback) and the desk goes on.

Agent states follow DESIGN.md: 就绪 / 示忙 (with a reason) / 振铃 / 通话中 / 保持 / 话后整理 (and 离线
at logout). A call offered while the operator is busy, paused or in wrap-up waits (``waiting``) and
rings the operator as soon as they are ready again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from queue import Empty, Full, Queue
from typing import Literal

import structlog
from sqlalchemy.orm import Session

from console.services.call_log import CallLog
from console.services.transfer_notes import TransferMode, TransferRequest, note_job
from store import calls, users
from store.callers import mask_phone
from store.db import Store, utcnow
from store.tickets import Actor
from telephony.events import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallTransferred,
    Event,
    LineError,
    Registered,
    RegistrationFailed,
)
from telephony.line import Line, LineCommandError

log = structlog.get_logger(__name__)

READY, PAUSED, RINGING, TALKING, HELD, WRAPUP, OFFLINE = (
    "就绪",
    "示忙",
    "振铃",
    "通话中",
    "保持",
    "话后整理",
    "离线",
)
CallState = Literal["ringing", "dialing", "talking", "held", "ended"]
LineState = Literal["starting", "up", "down"]
# what the operator records at the end of a call (≤ 32 characters each: store.calls.set_disposition)
DISPOSITIONS: tuple[str, ...] = (
    "已建工单",
    "咨询已答复",
    "已转接",
    "重复来电",
    "无声/骚扰",
    "打错电话",
    "其他",
)
MAX_PENDING_WRITES = 5000
MAX_UNKNOWN = 64  # events of calls we did not know yet (an outbound call's answer can beat its id)


def place_of(number: str) -> str:
    """Where a mainland number is registered (``辽宁省鞍山市``), from phonenumbers' geocoder; "" if unknown."""
    import phonenumbers
    from phonenumbers import geocoder

    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException:
        return ""
    if not phonenumbers.is_valid_number(parsed):
        return ""
    return geocoder.description_for_number(parsed, "zh") or ""


@dataclass
class LiveCall:
    """A call this desk knows about (ringing, waiting, in progress or just ended)."""

    call_id: str
    caller: str
    display_name: str
    offered_at: dt.datetime
    state: CallState = "ringing"
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    end_reason: str | None = None
    muted: bool = False
    consult_id: str | None = None  # attended transfer: the consultation call we dialled
    consult_target: str = ""
    consult_up: bool = False
    consult_label: str = ""
    transfers: list[str] = field(default_factory=list)
    ticket_id: int | None = None
    transfer_pending: TransferRequest | None = None  # asked of the line, not confirmed yet
    transferred: list[TransferRequest] = field(default_factory=list)  # confirmed: noted on the ticket
    noted: dict[int, int] = field(default_factory=dict)  # ticket id -> transfers already noted on it

    @property
    def masked(self) -> str:
        return mask_phone(self.caller) or self.caller


@dataclass(frozen=True)
class AgentStatus:
    state: str
    reason: str | None
    since: dt.datetime

    @property
    def label(self) -> str:
        return f"{self.state}({self.reason})" if self.reason else self.state


@dataclass(frozen=True)
class DeskUpdate:
    """What an event changed, for the UI's side effects (bell, history pop, a message)."""

    kind: str  # ringing | answered | held | resumed | ended | abandoned | transferred | waiting | line_up
    #            | line_down | consult_answered | consult_ended | error | none
    call: LiveCall | None = None
    message: str = ""  # a catalogue key of the UI (it translates), "" for none
    values: dict[str, str] = field(default_factory=dict)


class StoreWriter:
    """One background thread doing store transactions in order; failures go to ``on_problem``."""

    def __init__(
        self, store: Store, on_problem: Callable[[str], None], barrier: Callable[[], object] | None = None
    ) -> None:
        self.store = store
        self.on_problem = on_problem
        # run before each job, outside any transaction: the call log's writer catching up, so the
        # call rows our jobs refer to exist (inside a write transaction it would wait on our lock)
        self.barrier = barrier
        self.failures = 0
        self._jobs: Queue[tuple[str, Callable[[Session], object]] | None] = Queue(MAX_PENDING_WRITES)
        self._thread = threading.Thread(target=self._run, name="desk-writer", daemon=True)
        self._thread.start()

    def submit(self, what: str, job: Callable[[Session], object]) -> None:
        try:
            self._jobs.put_nowait((what, job))
        except Full:
            self.failures += 1
            self.on_problem(what)

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            try:
                if item is None:
                    return
                what, job = item
                try:
                    if self.barrier is not None:
                        self.barrier()
                    with self.store.session() as s:
                        job(s)
                except Exception:  # reported, never fatal: the operator keeps working
                    self.failures += 1
                    log.exception("desk.write_failed", what=what)
                    self.on_problem(what)
            finally:
                self._jobs.task_done()

    def flush(self, timeout: float = 5.0) -> bool:
        done = threading.Event()
        self.submit("flush", lambda _s: done.set())
        return done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        with contextlib.suppress(Full):
            self._jobs.put(None, timeout=timeout)
        self._thread.join(timeout)
        with contextlib.suppress(Empty):  # anything left after a timeout is dropped, and said so
            while self._jobs.get_nowait() is not None:
                self.failures += 1


@dataclass(frozen=True)
class Operator:
    user_id: int
    username: str
    display_name: str
    role: str


class DeskService:
    """Agent state and call control of one seat (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        line: Line,
        *,
        call_log: CallLog | None = None,
        wrapup_seconds: int = 30,
        now: Callable[[], dt.datetime] = utcnow,
        on_problem: Callable[[str], None] = lambda _what: None,
        seat: str = "",
    ) -> None:
        self.store = store
        self.line = line
        self.call_log = call_log
        self.wrapup_seconds = wrapup_seconds
        self.now = now
        self.seat = seat
        self.writer = StoreWriter(store, on_problem, (lambda: call_log.flush(2.0)) if call_log else None)
        self.operator: Operator | None = None
        self.session_id: int | None = None
        self.status = AgentStatus(OFFLINE, None, now())
        self.line_state: LineState = "starting"
        self.line_detail = ""
        self.current: LiveCall | None = None
        self.waiting: dict[str, LiveCall] = {}
        self.pending_pause: str | None = None  # asked for during a call: applied after wrap-up
        self.wrap_until: dt.datetime | None = None
        self.last_call: LiveCall | None = None
        self._unknown: dict[str, Event] = {}  # call id -> latest event of a call not (yet) ours

    # -- login ------------------------------------------------------------------------------------
    def authenticate(self, username: str, password: str) -> Operator | None:
        """Check the password (slow on purpose: argon2; run it off the UI loop)."""
        with self.store.session() as s:
            user = users.authenticate(s, username.strip(), password)
            if user is None:
                return None
            return Operator(user.id, user.username, user.display_name or user.username, user.role)

    def find_operator(self, username: str) -> Operator | None:
        """The active user named ``username`` without a password (the demo's automatic login)."""
        with self.store.read() as s:
            user = users.find_user(s, username)
            if user is None or not user.active:
                return None
            return Operator(user.id, user.username, user.display_name or user.username, user.role)

    def start_session(self, operator: Operator, reason: str | None) -> None:
        """Log in: an agent session, then 就绪 (``reason`` None) or 示忙 with ``reason``."""
        at = self.now()
        with self.store.session() as s:
            self.session_id = calls.start_agent_session(s, operator.user_id, at, seat=self.seat).id
        self.operator = operator
        if self.call_log is not None:
            self.call_log.user_id = operator.user_id
        self._set_state(PAUSED if reason else READY, reason)

    def end_session(self) -> None:
        """Logout (Ctrl+Q): the session ends (离线) and pending writes are flushed (bounded)."""
        if self.operator is not None and self.session_id is not None:
            sid, at = self.session_id, self.now()
            self.writer.submit("logout", lambda s: calls.end_agent_session(s, sid, at))
            self.status = AgentStatus(OFFLINE, None, at)
        self.writer.close()

    # -- state ------------------------------------------------------------------------------------
    def _set_state(self, state: str, reason: str | None = None) -> None:
        if (state, reason) == (self.status.state, self.status.reason):
            return
        at = self.now()
        self.status = AgentStatus(state, reason, at)
        op, sid = self.operator, self.session_id
        if op is not None:
            self.writer.submit(
                "agent_state",
                lambda s: calls.set_agent_state(s, op.user_id, state, at, reason=reason, session_id=sid),
            )

    @property
    def in_call(self) -> bool:
        return self.current is not None and self.current.state in ("talking", "held")

    def seconds_in_state(self) -> int:
        return max(0, int((self.now() - self.status.since).total_seconds()))

    def call_seconds(self) -> int:
        call = self.current or self.last_call
        if call is None or call.answered_at is None:
            return 0
        end = call.ended_at or self.now()
        return max(0, int((end - call.answered_at).total_seconds()))

    def wrapup_left(self) -> int:
        if self.wrap_until is None:
            return 0
        return max(0, int((self.wrap_until - self.now()).total_seconds() + 0.999))

    def ready(self) -> DeskUpdate:
        """就绪 now (when idle), or cancel a pause asked for during the call."""
        if self.status.state == WRAPUP:
            return self.finish_wrapup(None)
        if self.current is not None:
            self.pending_pause = None
            return DeskUpdate("none", message="msg.ready_after_call")
        self._set_state(READY)
        return self._ring_next()

    def pause(self, reason: str) -> DeskUpdate:
        """示忙 with ``reason``: now when idle, else after the call and its wrap-up."""
        if self.current is not None or self.status.state == WRAPUP:
            self.pending_pause = reason
            return DeskUpdate("none", message="msg.pause_after_call", values={"reason": reason})
        self._set_state(PAUSED, reason)
        return DeskUpdate("none")

    def wants_reason_for_toggle(self) -> bool:
        """F9: does toggling ready/not-ready need a pause reason first?"""
        if self.status.state == PAUSED:
            return False
        if self.status.state == WRAPUP:
            return False
        if self.current is not None:
            return self.pending_pause is None
        return True

    def toggle_ready(self) -> DeskUpdate:
        """F9 when no reason is needed: back to ready (or cancel the pause asked for during a call)."""
        return self.ready()

    def tick(self) -> DeskUpdate:
        """Called every second by the UI: ends the wrap-up when its timer runs out."""
        if self.status.state == WRAPUP and self.wrap_until is not None and self.now() >= self.wrap_until:
            return self.finish_wrapup(None)
        return DeskUpdate("none")

    def finish_wrapup(self, disposition: str | None) -> DeskUpdate:
        """End 话后整理 (with a disposition code when chosen), then 就绪 or the pause asked for."""
        call = self.last_call
        if disposition and call is not None:
            cid = call.call_id
            self.writer.submit("disposition", lambda s: calls.set_disposition(s, cid, disposition))
        self.wrap_until = None
        if self.current is not None and self.current.state == "ended":
            self.current = None
        reason, self.pending_pause = self.pending_pause, None
        if reason:
            self._set_state(PAUSED, reason)
            return DeskUpdate("none", message="msg.disposed" if disposition else "")
        self._set_state(READY)
        update = self._ring_next()
        return (
            update
            if update.kind != "none"
            else DeskUpdate("none", message="msg.disposed" if disposition else "")
        )

    def _ring_next(self) -> DeskUpdate:
        if self.current is not None or self.status.state != READY or not self.waiting:
            return DeskUpdate("none")
        call_id = next(iter(self.waiting))
        self.current = self.waiting.pop(call_id)
        self._set_state(RINGING)
        return DeskUpdate("ringing", self.current)

    # -- events from the line ---------------------------------------------------------------------
    def apply(self, event: Event) -> DeskUpdate:
        """Apply one line event (on the UI loop) and say what changed."""
        if isinstance(event, Registered):
            was = self.line_state
            self.line_state, self.line_detail = "up", ""
            return DeskUpdate(
                "line_up" if was == "down" else "none", message="msg.line_up" if was == "down" else ""
            )
        if isinstance(event, RegistrationFailed):
            self.line_state, self.line_detail = "down", event.why
            return DeskUpdate("line_down", message="msg.line_down", values={"why": event.why or "—"})
        if isinstance(event, LineError):
            return DeskUpdate("error", message="msg.line_error", values={"why": event.message})
        call_id = getattr(event, "call_id", None)
        if call_id is None:
            return DeskUpdate("none")
        if isinstance(event, CallOffered):
            return self._offered(event)
        if call_id in self.waiting:
            if isinstance(event, CallEnded):
                gone = self.waiting.pop(call_id)
                return DeskUpdate(
                    "waiting", gone, message="msg.waiting_abandoned", values={"number": gone.masked}
                )
            return DeskUpdate("none")
        call = self.current
        if call is not None and call_id == call.consult_id:
            return self._consult_event(call, event)
        if call is None or call.call_id != call_id:
            self._remember_unknown(call_id, event)
            return DeskUpdate("none")
        if isinstance(event, CallAnswered):
            call.state, call.answered_at = "talking", self.now()
            self._set_state(TALKING)
            return DeskUpdate("answered", call)
        if isinstance(event, CallHeld):
            call.state = "held"
            self._set_state(HELD)
            return DeskUpdate("held", call)
        if isinstance(event, CallResumed):
            call.state = "talking"
            self._set_state(TALKING)
            return DeskUpdate("resumed", call)
        if isinstance(event, CallTransferred):
            call.transfers.append(event.target)
            mode: TransferMode = "attended" if event.replaces else "blind"
            call.transferred.append(call.transfer_pending or TransferRequest(event.target, "", mode))
            call.transfer_pending = None
            self._note_transfers(call)
            return DeskUpdate("transferred", call, message="msg.transferred", values={"target": event.target})
        if isinstance(event, CallEnded):
            return self._ended(call, event)
        return DeskUpdate("none")

    def _remember_unknown(self, call_id: str, event: Event) -> None:
        if isinstance(event, CallAnswered | CallEnded):
            self._unknown[call_id] = event
            while len(self._unknown) > MAX_UNKNOWN:
                self._unknown.pop(next(iter(self._unknown)))

    def outbound(self, call_id: str, number: str) -> DeskUpdate:
        """A call we dialled (worklist callback, 回访) becomes the desk's call when the desk is free."""
        if self.current is not None:
            return DeskUpdate("none")
        call = LiveCall(call_id, number, "", self.now(), state="dialing")
        self.current = call
        if self.status.state == PAUSED and self.pending_pause is None:
            self.pending_pause = self.status.reason  # callbacks while 示忙(回访): back to it afterwards
        early = self._unknown.pop(call_id, None)
        if isinstance(early, CallEnded):
            self.current = None
            return DeskUpdate("none")
        if isinstance(early, CallAnswered):
            return self.apply(early)
        return DeskUpdate("dialing", call)

    def _offered(self, event: CallOffered) -> DeskUpdate:
        call = LiveCall(event.call_id, event.caller, event.display_name, self.now())
        if self.current is None and self.status.state == READY:
            self.current = call
            self._set_state(RINGING)
            return DeskUpdate("ringing", call)
        self.waiting[call.call_id] = call
        return DeskUpdate("waiting", call)

    def _ended(self, call: LiveCall, event: CallEnded) -> DeskUpdate:
        call.ended_at, call.end_reason = self.now(), event.reason
        was = call.state
        call.state = "ended"
        if call.consult_id is not None:
            if not call.transfers:  # the caller left during the consultation: drop our second leg
                with contextlib.suppress(LineCommandError):
                    self.line.hangup(call.consult_id)
            # after an attended transfer the target drops the replaced leg itself (hanging it up
            # here could beat the caller's INVITE with Replaces to the target)
            call.consult_id = None
        self.last_call = call
        if was == "dialing":  # our call was not answered: nothing to wrap up
            self.current = None
            return DeskUpdate("abandoned", call)
        if was == "ringing":  # the caller gave up before we answered (or we refused it)
            self.current = None
            self._set_state(READY if self.pending_pause is None else PAUSED, self.pending_pause)
            self.pending_pause = None
            nxt = self._ring_next()
            # the caller gave up (cancelled) or the line lost it; a refusal by the operator says nothing
            message = "" if event.reason == "rejected" else "msg.abandoned"
            if nxt.kind == "ringing":
                return DeskUpdate("ringing", nxt.call, message=message, values={"number": call.masked})
            return DeskUpdate("abandoned", call, message=message, values={"number": call.masked})
        self.wrap_until = self.now() + dt.timedelta(seconds=self.wrapup_seconds)
        self._set_state(WRAPUP)
        message = "msg.call_failed" if event.reason == "failed" else ""
        if self.wrapup_seconds == 0:
            self.finish_wrapup(None)
        return DeskUpdate("ended", call, message=message, values={"why": event.detail or event.reason})

    def _consult_event(self, call: LiveCall, event: Event) -> DeskUpdate:
        if isinstance(event, CallAnswered):
            call.consult_up = True
            return DeskUpdate(
                "consult_answered", call, message="msg.consult_up", values={"target": call.consult_target}
            )
        if isinstance(event, CallEnded):
            call.consult_id, call.consult_up = None, False
            return DeskUpdate("consult_ended", call, message="msg.consult_ended")
        return DeskUpdate("none")

    # -- operator actions -------------------------------------------------------------------------
    def _command(self, fn: Callable[[], object]) -> DeskUpdate:
        try:
            fn()
        except LineCommandError as exc:
            return DeskUpdate("error", message="msg.command_refused", values={"why": str(exc)})
        except Exception as exc:  # a line that broke must not take the desk down
            log.exception("desk.command_failed")
            return DeskUpdate("error", message="msg.command_refused", values={"why": type(exc).__name__})
        return DeskUpdate("none")

    def _no_call(self) -> DeskUpdate:
        return DeskUpdate("error", message="msg.no_call")

    def _connected(self) -> LiveCall | None:
        """The current call when it is connected (talking or on hold)."""
        call = self.current
        return call if call is not None and call.state in ("talking", "held") else None

    def answer(self) -> DeskUpdate:
        call = self.current
        if call is None or call.state != "ringing":
            return self._no_call()
        return self._command(lambda: self.line.answer(call.call_id))

    def toggle_hold(self) -> DeskUpdate:
        call = self._connected()
        if call is None:
            return self._no_call()
        action = self.line.hold if call.state == "talking" else self.line.resume
        return self._command(lambda: action(call.call_id))

    def toggle_mute(self) -> DeskUpdate:
        call = self._connected()
        if call is None:
            return self._no_call()
        on = not call.muted
        update = self._command(lambda: self.line.mute(call.call_id, on))
        if update.kind == "none":
            call.muted = on
            self._call_event(call.call_id, "muted" if on else "unmuted", {})
            return DeskUpdate("none", call, message="msg.muted" if on else "msg.unmuted")
        return update

    def hangup(self) -> DeskUpdate:
        call = self.current
        if call is None or call.state == "ended":
            return self._no_call()
        if call.state == "ringing":
            return self._command(lambda: self.line.reject(call.call_id))
        return self._command(lambda: self.line.hangup(call.call_id))  # also cancels a call we dial

    def send_dtmf(self, digits: str) -> DeskUpdate:
        call = self.current
        clean = "".join(d for d in digits if d in "0123456789*#ABCD")
        if call is None or call.state != "talking":
            return self._no_call()
        if not clean:
            return DeskUpdate("error", message="msg.bad_dtmf")
        update = self._command(lambda: self.line.send_dtmf(call.call_id, clean))
        if update.kind == "none":
            self._call_event(call.call_id, "dtmf_sent", {"digits": clean})
            return DeskUpdate("none", call, message="msg.dtmf_sent", values={"digits": clean})
        return update

    def _transfer_from(self, target: str) -> tuple[LiveCall, str] | DeskUpdate:
        """The connected call and the cleaned target of a transfer, or why there is none."""
        call = self._connected()
        if call is None:
            return self._no_call()
        target = target.strip()
        if not target:
            return DeskUpdate("error", message="msg.bad_target")
        return call, target

    def blind_transfer(self, target: str, label: str = "") -> DeskUpdate:
        """Transfer the connected call to ``target`` (``label``: the department's name, for the note)."""
        checked = self._transfer_from(target)
        if isinstance(checked, DeskUpdate):
            return checked
        call, target = checked
        self._call_event(call.call_id, "transfer_requested", {"target": target, "mode": "blind"})
        return self._transfer(
            call,
            TransferRequest(target, label, "blind"),
            lambda: self.line.blind_transfer(call.call_id, target),
        )

    def _transfer(self, call: LiveCall, request: TransferRequest, fn: Callable[[], object]) -> DeskUpdate:
        call.transfer_pending = request  # its confirmation (CallTransferred) comes back as an event
        update = self._command(fn)
        if update.kind == "error":
            call.transfer_pending = None
        return update

    def start_consultation(self, target: str, label: str = "") -> DeskUpdate:
        """Attended transfer, step 1: hold the caller and dial ``target``."""
        checked = self._transfer_from(target)
        if isinstance(checked, DeskUpdate):
            return checked
        call, target = checked
        if call.state == "talking":
            held = self._command(lambda: self.line.hold(call.call_id))
            if held.kind == "error":
                return held
        try:
            consult = self.line.dial(target)
        except Exception as exc:
            return DeskUpdate(
                "error", message="msg.command_refused", values={"why": str(exc) or type(exc).__name__}
            )
        call.consult_id, call.consult_target, call.consult_up = consult, target, False
        call.consult_label = label
        if self.call_log is not None:
            self.call_log.dialed(consult, target)
        self._call_event(call.call_id, "consultation", {"target": target, "consult_call_id": consult})
        return DeskUpdate("none", call, message="msg.consult_dialled", values={"target": target})

    def complete_consultation(self) -> DeskUpdate:
        """Attended transfer, step 2: connect the caller to the consulted party."""
        call = self.current
        if call is None or call.consult_id is None:
            return self._no_call()
        if not call.consult_up:
            return DeskUpdate("error", message="msg.consult_not_up")
        consult = call.consult_id
        self._call_event(
            call.call_id,
            "transfer_requested",
            {"target": call.consult_target, "mode": "attended", "consult_call_id": consult},
        )
        return self._transfer(
            call,
            TransferRequest(call.consult_target, call.consult_label, "attended"),
            lambda: self.line.attended_transfer(call.call_id, consult),
        )

    def cancel_consultation(self) -> DeskUpdate:
        call = self.current
        if call is None or call.consult_id is None:
            return self._no_call()
        consult, call.consult_id, call.consult_up = call.consult_id, None, False
        with contextlib.suppress(LineCommandError):
            self.line.hangup(consult)
        if call.state == "held":
            return self._command(lambda: self.line.resume(call.call_id))
        return DeskUpdate("none")

    def note_ticket(self, ticket_id: int, call_id: str | None = None) -> None:
        """The ticket saved for call ``call_id`` (None: the current or last call); the form's service
        links it in the store. Transfers of that call are written on the ticket as notes."""
        if call_id is None:
            call = self.current or self.last_call
        else:
            call = next(
                (c for c in (self.current, self.last_call) if c is not None and c.call_id == call_id), None
            )
        if call is not None:
            call.ticket_id = ticket_id
            self._note_transfers(call)

    def _note_transfers(self, call: LiveCall) -> None:
        """Each confirmed transfer of ``call`` once on its ticket (备注), when it has one."""
        ticket_id = call.ticket_id
        if ticket_id is None:
            return
        op = self.operator
        actor = Actor(op.username, op.role, op.user_id) if op is not None else Actor("system", "system")
        for request in call.transferred[call.noted.get(ticket_id, 0) :]:
            self.writer.submit("ticket_note", note_job(ticket_id, actor, self.now(), request.text))
        call.noted[ticket_id] = len(call.transferred)

    def _call_event(self, call_id: str, kind: str, data: dict[str, object]) -> None:
        at = self.now()

        def job(s: Session) -> None:
            if calls.get_call(s, call_id) is not None:
                calls.add_call_event(s, call_id, kind, at, data)

        self.writer.submit(kind, job)


class OfflineLine:
    """The line of a console without a phone: it reports itself down and refuses every command."""

    def __init__(self, why: str) -> None:
        self.why = why

    def start(self, on_event: Callable[[Event], None]) -> None:
        on_event(RegistrationFailed(t=0.0, why=self.why))

    def stop(self) -> None:
        pass

    def _refuse(self, *_args: object) -> None:
        raise LineCommandError(f"no phone line ({self.why})")

    answer = reject = hangup = hold = resume = mute = send_dtmf = blind_transfer = attended_transfer = _refuse

    def dial(self, number: str) -> str:
        raise LineCommandError(f"no phone line ({self.why})")
