"""The calls of one seat: agent state and call control, with no knowledge of widgets.

``CallService`` is driven from the UI's event loop only: ``apply(event)`` for each line event (the
app forwards them with ``post_message`` from the line's thread) and one method per operator action
(``answer``, ``toggle_hold``, ``hangup``, ``blind_transfer`` ...), each returning a ``CallUpdate``
that says what changed. Commands return at once: the line acts asynchronously and reports back with
events. Every store write (agent states, dispositions, call events, transfer notes, the call →
ticket link) goes to the seat's ``StoreWriter`` (``console.services.store_writer``), the same ordered
queue the ``CallLog`` writes the call rows to, so a write about a call always finds its row, and a
store locked for a while never freezes the screen; a failed write is reported through the writer's
``on_problem`` and the seat goes on.

Agent states are ``store.vocabulary.AgentState`` identities (the screens translate them): ready /
paused (with a reason) / ringing / talking / held / wrap-up, and offline at logout (DESIGN.md). A
call offered while the operator is busy, paused or in wrap-up waits (``waiting``) and rings the
operator as soon as they are ready again.

Wrap-up (话后整理) follows every answered call. While the ticket of the call that ended is still being
written (``ticket_in_progress(call_id)``, a predicate the desk sets), its clock does not run and
nothing rings: ``release_wrapup()`` starts the clock once the ticket is saved or abandoned. Its
disposition is chosen, never inherited: ``implied_disposition`` is only what the call's facts say (a
ticket saved on it, a transfer), and a wrap-up that ends without a choice records why
(``NOT_CHOSEN_TIMEOUT`` / ``NOT_CHOSEN_SKIPPED``), never NULL.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import structlog
from sqlalchemy.orm import Session

from console.services.call_log import CallLog
from console.services.store_writer import StoreWriter
from console.services.transfer_notes import TransferMode, TransferRequest, note_job
from store import agents, calls, users
from store.callers import mask_phone
from store.db import Store, utcnow
from store.tickets import Actor
from store.vocabulary import AgentState
from store.worklists import SEAT_RINGING
from telephony.events import (
    CallAnswered,
    CallEnded,
    CallEvent,
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

__all__ = [
    "DISPOSITIONS",
    "NOT_CHOSEN_SKIPPED",
    "NOT_CHOSEN_TIMEOUT",
    "TICKET_FILED",
    "TRANSFERRED",
    "AgentStatus",
    "CallService",
    "CallState",
    "CallUpdate",
    "Consultation",
    "LineState",
    "LiveCall",
    "Operator",
    "UpdateKind",
]

CallState = Literal["ringing", "dialing", "talking", "held", "ended"]
LineState = Literal["starting", "up", "down"]
# what an event or an action changed, for the UI's side effects (bell, history pop, a message)
UpdateKind = Literal[
    "none",
    "ringing",
    "dialing",
    "answered",
    "held",
    "resumed",
    "ended",
    "abandoned",
    "transferred",
    "waiting",
    "line_up",
    "line_down",
    "consult_answered",
    "consult_ended",
    "wrapup",
    "error",
]
# what the operator records at the end of a call (≤ 32 characters each: store.calls.set_disposition)
TICKET_FILED = "已建工单"
TRANSFERRED = "已转接"
DISPOSITIONS: tuple[str, ...] = (
    TICKET_FILED,
    "咨询已答复",
    TRANSFERRED,
    "重复来电",
    "无声/骚扰",
    "打错电话",
    "其他",
)
# recorded when the wrap-up ends without a choice: the timer ran out, or the operator went ready (F9)
NOT_CHOSEN_TIMEOUT = "未选择（超时）"
NOT_CHOSEN_SKIPPED = "未选择（跳过）"
MAX_UNKNOWN = 64  # events of calls we did not know yet (an outbound call's answer can beat its id)


@dataclass
class Consultation:
    """Attended transfer: the call we dialled to ``target`` while the caller waits on hold."""

    call_id: str
    target: str
    label: str = ""  # the department's name, for the transfer note
    up: bool = False  # the target answered: the transfer can be completed

    @property
    def request(self) -> TransferRequest:
        return TransferRequest(self.target, self.label, "attended")


@dataclass
class LiveCall:
    """A call this seat knows about (ringing, waiting, in progress or just ended)."""

    call_id: str
    caller: str
    display_name: str
    offered_at: dt.datetime
    state: CallState = "ringing"
    answered_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    end_reason: str | None = None
    muted: bool = False
    consult: Consultation | None = None
    transfers: list[str] = field(default_factory=list)
    ticket_id: int | None = None
    transfer_pending: TransferRequest | None = None  # asked of the line, not confirmed yet
    transferred: list[TransferRequest] = field(default_factory=list)  # confirmed: noted on the ticket
    noted: dict[int, int] = field(default_factory=dict)  # ticket id -> transfers already noted on it
    matter: str = ""  # the emergency the operator classified (leaf path), for the hand-off record

    @property
    def masked(self) -> str:
        return mask_phone(self.caller) or self.caller


@dataclass(frozen=True)
class AgentStatus:
    """The operator's state (an identity: the screens show its label), its reason and since when."""

    state: AgentState
    reason: str | None
    since: dt.datetime


@dataclass(frozen=True)
class CallUpdate:
    """What an event or an action changed, for the UI's side effects (bell, history pop, a message)."""

    kind: UpdateKind
    call: LiveCall | None = None
    message: str = ""  # a locale key of the UI (it translates), "" for none
    values: Mapping[str, str] = field(default_factory=dict)


NOTHING = CallUpdate("none")  # nothing changed that the UI must show


@dataclass(frozen=True)
class Operator:
    """The user logged in at this seat."""

    user_id: int
    username: str
    display_name: str
    role: str


class CallService:
    """Agent state and call control of one seat (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        line: Line,
        writer: StoreWriter,
        *,
        call_log: CallLog | None = None,
        wrapup_seconds: int = 30,
        now: Callable[[], dt.datetime] = utcnow,
        seat: str = "",
    ) -> None:
        self.store = store
        self.line = line
        self.writer = writer  # the seat's one ordered writer, shared with ``call_log``
        self.call_log = call_log
        self.wrapup_seconds = wrapup_seconds
        self.now = now
        self.seat = seat
        self.operator: Operator | None = None
        self.session_id: int | None = None
        self.status = AgentStatus(AgentState.OFFLINE, None, now())
        self.line_state: LineState = "starting"
        self.line_detail = ""
        self.current: LiveCall | None = None
        self.waiting: dict[str, LiveCall] = {}
        self.pending_pause: str | None = None  # asked for during a call: applied after wrap-up
        self.wrap_until: dt.datetime | None = None  # None in wrap-up: held for an unsaved ticket
        self.last_call: LiveCall | None = None
        # whether the ticket of this call is still being written (set by the desk; see the docstring)
        self.ticket_in_progress: Callable[[str], bool] = lambda _call_id: False
        self._unknown: dict[str, CallEvent] = {}  # call id -> latest event of a call not (yet) ours

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
        """Log in: an agent session, then ready (``reason`` None) or paused with ``reason``."""
        at = self.now()
        with self.store.session() as s:
            self.session_id = agents.start_agent_session(s, operator.user_id, at, seat=self.seat).id
        self.operator = operator
        if self.call_log is not None:
            self.call_log.user_id = operator.user_id
        self._set_state(AgentState.PAUSED if reason else AgentState.READY, reason)

    def end_session(self) -> None:
        """Logout (Ctrl+Q): the session ends (offline), then the seat's writer writes what is pending
        (bounded) and stops; the line must be stopped (and the call log done) by then."""
        if self.operator is not None and self.session_id is not None:
            sid, at = self.session_id, self.now()
            self.writer.submit("logout", lambda s: agents.end_agent_session(s, sid, at))
            self.status = AgentStatus(AgentState.OFFLINE, None, at)
        self.writer.close()

    # -- state ------------------------------------------------------------------------------------
    def _set_state(self, state: AgentState, reason: str | None = None) -> None:
        if (state, reason) == (self.status.state, self.status.reason):
            return
        at = self.now()
        self.status = AgentStatus(state, reason, at)
        op, sid = self.operator, self.session_id
        if op is not None:
            self.writer.submit(
                "agent_state",
                lambda s: agents.set_agent_state(s, op.user_id, state, at, reason=reason, session_id=sid),
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

    @property
    def wrapup_held(self) -> bool:
        """In wrap-up with its clock stopped: the ended call's ticket is still being written."""
        return self.status.state == AgentState.WRAP_UP and self.wrap_until is None

    def release_wrapup(self) -> CallUpdate:
        """The ticket of the ended call is saved or abandoned: the wrap-up clock starts now."""
        if not self.wrapup_held:
            return NOTHING
        if self.wrapup_seconds == 0:
            return self.finish_wrapup(None)
        self.wrap_until = self.now() + dt.timedelta(seconds=self.wrapup_seconds)
        return CallUpdate("wrapup", self.last_call)

    def implied_disposition(self) -> str | None:
        """What the facts of the call in wrap-up say (a ticket saved on it, a transfer), else None."""
        call = self.last_call
        if call is None:
            return None
        if call.ticket_id is not None:
            return TICKET_FILED
        return TRANSFERRED if call.transfers else None

    def ready(self) -> CallUpdate:
        """Ready now (when idle), or cancel a pause asked for during the call."""
        if self.wrapup_held:
            return CallUpdate("error", message="msg.ticket_first")
        if self.status.state == AgentState.WRAP_UP:
            return self.finish_wrapup(None)
        if self.current is not None:
            self.pending_pause = None
            return CallUpdate("none", message="msg.ready_after_call")
        self._set_state(AgentState.READY)
        return self._ring_next()

    def pause(self, reason: str) -> CallUpdate:
        """Paused with ``reason``: now when idle, else after the call and its wrap-up."""
        if self.current is not None or self.status.state == AgentState.WRAP_UP:
            self.pending_pause = reason
            return CallUpdate("none", message="msg.pause_after_call", values={"reason": reason})
        self._set_state(AgentState.PAUSED, reason)
        return NOTHING

    def wants_reason_for_toggle(self) -> bool:
        """F9: does toggling ready/not-ready need a pause reason first?"""
        if self.status.state in (AgentState.PAUSED, AgentState.WRAP_UP):
            return False
        if self.current is not None:
            return self.pending_pause is None
        return True

    def toggle_ready(self) -> CallUpdate:
        """F9 when no reason is needed: back to ready (or cancel the pause asked for during a call)."""
        return self.ready()

    def tick(self) -> CallUpdate:
        """Called every second by the UI: ends the wrap-up when its timer runs out."""
        if (
            self.status.state == AgentState.WRAP_UP
            and self.wrap_until is not None
            and self.now() >= self.wrap_until
        ):
            return self.finish_wrapup(None, timed_out=True)
        return NOTHING

    def finish_wrapup(self, disposition: str | None, *, timed_out: bool = False) -> CallUpdate:
        """End the wrap-up with the disposition chosen (None: none was, and the record says whether the
        timer ran out or the operator went on), then ready or the pause asked for."""
        call = self.last_call
        if call is not None and self.status.state == AgentState.WRAP_UP:
            cid = call.call_id
            chosen = disposition or (NOT_CHOSEN_TIMEOUT if timed_out else NOT_CHOSEN_SKIPPED)
            self.writer.submit("disposition", lambda s: calls.set_disposition(s, cid, chosen))
        self.wrap_until = None
        if self.current is not None and self.current.state == "ended":
            self.current = None
        reason, self.pending_pause = self.pending_pause, None
        done = CallUpdate("none", message="msg.disposed" if disposition else "")
        if reason:
            self._set_state(AgentState.PAUSED, reason)
            return done
        self._set_state(AgentState.READY)
        update = self._ring_next()
        return update if update.kind != "none" else done

    def _ring_next(self) -> CallUpdate:
        if self.current is not None or self.status.state != AgentState.READY or not self.waiting:
            return NOTHING
        call_id = next(iter(self.waiting))
        self.current = self.waiting.pop(call_id)
        return self._ring(self.current)

    def _ring(self, call: LiveCall) -> CallUpdate:
        """``call`` rings at this seat now (the record tells a ringing hang-up from a queue abandon)."""
        self.current = call
        self._set_state(AgentState.RINGING)
        op = self.operator
        self._call_event(call.call_id, SEAT_RINGING, {"user_id": op.user_id if op else None})
        return CallUpdate("ringing", call)

    # -- events from the line ---------------------------------------------------------------------
    def apply(self, event: Event) -> CallUpdate:
        """Apply one line event (on the UI loop) and say what changed."""
        match event:
            case Registered():
                was, self.line_state, self.line_detail = self.line_state, "up", ""
                if was == "down":
                    return CallUpdate("line_up", message="msg.line_up")
                return NOTHING
            case RegistrationFailed(why=why):
                self.line_state, self.line_detail = "down", why
                return CallUpdate("line_down", message="msg.line_down", values={"why": why or "—"})
            case LineError(message=message):
                return CallUpdate("error", message="msg.line_error", values={"why": message})
            case CallOffered():
                return self._offered(event)
            case CallEvent(call_id=call_id) if call_id in self.waiting:
                if isinstance(event, CallEnded):
                    gone = self.waiting.pop(call_id)
                    return CallUpdate(
                        "waiting", gone, message="msg.waiting_abandoned", values={"number": gone.masked}
                    )
                return NOTHING
            case CallEvent():
                return self._call_event_of_current(event)
            case _:
                return NOTHING

    def _call_event_of_current(self, event: CallEvent) -> CallUpdate:
        call = self.current
        if call is not None and call.consult is not None and event.call_id == call.consult.call_id:
            return self._consult_event(call, call.consult, event)
        if call is None or call.call_id != event.call_id:
            self._remember_unknown(event)
            return NOTHING
        match event:
            case CallAnswered():
                call.state, call.answered_at = "talking", self.now()
                self._set_state(AgentState.TALKING)
                return CallUpdate("answered", call)
            case CallHeld():
                call.state = "held"
                self._set_state(AgentState.HELD)
                return CallUpdate("held", call)
            case CallResumed():
                call.state = "talking"
                self._set_state(AgentState.TALKING)
                return CallUpdate("resumed", call)
            case CallTransferred(target=target, replaces=replaces):
                call.transfers.append(target)
                mode: TransferMode = "attended" if replaces else "blind"
                request = call.transfer_pending or TransferRequest(target, "", mode)
                call.transferred.append(request)
                call.transfer_pending = None
                if call.ticket_id is None:  # a hand-off with no ticket (yet): the call keeps the record
                    handoff = {"target": target, "label": request.label, "mode": mode, "matter": call.matter}
                    self._call_event(call.call_id, "handoff", dict(handoff))
                self._note_transfers(call)
                return CallUpdate("transferred", call, message="msg.transferred", values={"target": target})
            case CallEnded():
                return self._ended(call, event)
            case _:
                return NOTHING

    def _remember_unknown(self, event: CallEvent) -> None:
        if isinstance(event, CallAnswered | CallEnded):
            self._unknown[event.call_id] = event
            while len(self._unknown) > MAX_UNKNOWN:
                self._unknown.pop(next(iter(self._unknown)))

    def outbound(self, call_id: str, number: str, name: str = "") -> CallUpdate:
        """A call we dialled (worklist callback, 回访) to ``number`` (``name``: the callee's, if known)
        becomes the seat's call when the seat is free."""
        if self.current is not None:
            return NOTHING
        call = LiveCall(call_id, number, name, self.now(), state="dialing")
        self.current = call
        if self.status.state == AgentState.PAUSED and self.pending_pause is None:
            self.pending_pause = self.status.reason  # callbacks while paused (回访): back to it afterwards
        match self._unknown.pop(call_id, None):
            case CallEnded():
                self.current = None
                return NOTHING
            case CallAnswered() as early:
                return self.apply(early)
            case _:
                return CallUpdate("dialing", call)

    def _offered(self, event: CallOffered) -> CallUpdate:
        call = LiveCall(event.call_id, event.caller, event.display_name, self.now())
        if self.current is None and self.status.state == AgentState.READY:
            return self._ring(call)
        self.waiting[call.call_id] = call
        return CallUpdate("waiting", call)

    def _ended(self, call: LiveCall, event: CallEnded) -> CallUpdate:
        call.ended_at, call.end_reason = self.now(), event.reason
        was = call.state
        call.state = "ended"
        if call.consult is not None:
            if not call.transfers:  # the caller left during the consultation: drop our second leg
                with contextlib.suppress(LineCommandError):
                    self.line.hangup(call.consult.call_id)
            # after an attended transfer the target drops the replaced leg itself (hanging it up
            # here could beat the caller's INVITE with Replaces to the target)
            call.consult = None
        self.last_call = call
        if was == "dialing":  # our call was not answered: nothing to wrap up
            self.current = None
            return CallUpdate("abandoned", call)
        if was == "ringing":  # the caller gave up before we answered (or we refused it)
            self.current = None
            pause = self.pending_pause
            self._set_state(AgentState.READY if pause is None else AgentState.PAUSED, pause)
            self.pending_pause = None
            nxt = self._ring_next()
            # the caller gave up (cancelled) or the line lost it; a refusal by the operator says nothing
            message = "" if event.reason == "rejected" else "msg.abandoned"
            if nxt.kind == "ringing":
                return CallUpdate("ringing", nxt.call, message=message, values={"number": call.masked})
            return CallUpdate("abandoned", call, message=message, values={"number": call.masked})
        self._set_state(AgentState.WRAP_UP)
        message = "msg.call_failed" if event.reason == "failed" else ""
        if self.ticket_in_progress(call.call_id):  # the clock starts once the ticket is saved or abandoned
            self.wrap_until = None
            if event.reason == "remote_bye":
                message = "msg.caller_left"
        else:
            self.wrap_until = self.now() + dt.timedelta(seconds=self.wrapup_seconds)
            if self.wrapup_seconds == 0:
                self.finish_wrapup(None)
        values = {"why": event.detail or event.reason, "number": call.masked}
        return CallUpdate("ended", call, message=message, values=values)

    def _consult_event(self, call: LiveCall, consult: Consultation, event: CallEvent) -> CallUpdate:
        match event:
            case CallAnswered():
                consult.up = True
                return CallUpdate(
                    "consult_answered", call, message="msg.consult_up", values={"target": consult.target}
                )
            case CallEnded():
                call.consult = None
                return CallUpdate("consult_ended", call, message="msg.consult_ended")
            case _:
                return NOTHING

    # -- operator actions -------------------------------------------------------------------------
    def _command(self, fn: Callable[[], object]) -> CallUpdate:
        try:
            fn()
        except LineCommandError as exc:
            return CallUpdate("error", message="msg.command_refused", values={"why": str(exc)})
        except Exception as exc:  # a line that broke must not take the seat down
            log.exception("call_service.command_failed")
            return CallUpdate("error", message="msg.command_refused", values={"why": type(exc).__name__})
        return NOTHING

    def _no_call(self) -> CallUpdate:
        return CallUpdate("error", message="msg.no_call")

    def _connected(self) -> LiveCall | None:
        """The current call when it is connected (talking or on hold)."""
        call = self.current
        return call if call is not None and call.state in ("talking", "held") else None

    def answer(self) -> CallUpdate:
        call = self.current
        if call is None or call.state != "ringing":
            return self._no_call()
        return self._command(lambda: self.line.answer(call.call_id))

    def toggle_hold(self) -> CallUpdate:
        call = self._connected()
        if call is None:
            return self._no_call()
        action = self.line.hold if call.state == "talking" else self.line.resume
        return self._command(lambda: action(call.call_id))

    def toggle_mute(self) -> CallUpdate:
        call = self._connected()
        if call is None:
            return self._no_call()
        on = not call.muted
        update = self._command(lambda: self.line.mute(call.call_id, on))
        if update.kind == "none":
            call.muted = on
            self._call_event(call.call_id, "muted" if on else "unmuted", {})
            return CallUpdate("none", call, message="msg.muted" if on else "msg.unmuted")
        return update

    def hangup(self) -> CallUpdate:
        call = self.current
        if call is None or call.state == "ended":
            return self._no_call()
        if call.state == "ringing":
            return self._command(lambda: self.line.reject(call.call_id))
        return self._command(lambda: self.line.hangup(call.call_id))  # also cancels a call we dial

    def send_dtmf(self, digits: str) -> CallUpdate:
        call = self.current
        clean = "".join(d for d in digits if d in "0123456789*#ABCD")
        if call is None or call.state != "talking":
            return self._no_call()
        if not clean:
            return CallUpdate("error", message="msg.bad_dtmf")
        update = self._command(lambda: self.line.send_dtmf(call.call_id, clean))
        if update.kind == "none":
            self._call_event(call.call_id, "dtmf_sent", {"digits": clean})
            return CallUpdate("none", call, message="msg.dtmf_sent", values={"digits": clean})
        return update

    def _transfer_from(self, target: str) -> tuple[LiveCall, str] | CallUpdate:
        """The connected call and the cleaned target of a transfer, or why there is none."""
        call = self._connected()
        if call is None:
            return self._no_call()
        target = target.strip()
        if not target:
            return CallUpdate("error", message="msg.bad_target")
        return call, target

    def blind_transfer(self, target: str, label: str = "") -> CallUpdate:
        """Transfer the connected call to ``target`` (``label``: the department's name, for the note)."""
        checked = self._transfer_from(target)
        if isinstance(checked, CallUpdate):
            return checked
        call, target = checked
        self._call_event(call.call_id, "transfer_requested", {"target": target, "mode": "blind"})
        return self._transfer(
            call,
            TransferRequest(target, label, "blind"),
            lambda: self.line.blind_transfer(call.call_id, target),
        )

    def _transfer(self, call: LiveCall, request: TransferRequest, fn: Callable[[], object]) -> CallUpdate:
        call.transfer_pending = request  # its confirmation (CallTransferred) comes back as an event
        update = self._command(fn)
        if update.kind == "error":
            call.transfer_pending = None
        return update

    def start_consultation(self, target: str, label: str = "") -> CallUpdate:
        """Attended transfer, step 1: hold the caller and dial ``target``."""
        checked = self._transfer_from(target)
        if isinstance(checked, CallUpdate):
            return checked
        call, target = checked
        if call.state == "talking":
            held = self._command(lambda: self.line.hold(call.call_id))
            if held.kind == "error":
                return held
        try:
            consult_id = self.line.dial(target)
        except Exception as exc:
            return CallUpdate(
                "error", message="msg.command_refused", values={"why": str(exc) or type(exc).__name__}
            )
        call.consult = Consultation(consult_id, target, label)
        if self.call_log is not None:
            self.call_log.dialed(consult_id, target)
        self._call_event(call.call_id, "consultation", {"target": target, "consult_call_id": consult_id})
        return CallUpdate("none", call, message="msg.consult_dialled", values={"target": target})

    def complete_consultation(self) -> CallUpdate:
        """Attended transfer, step 2: connect the caller to the consulted party."""
        call = self.current
        consult = call.consult if call is not None else None
        if call is None or consult is None:
            return self._no_call()
        if not consult.up:
            return CallUpdate("error", message="msg.consult_not_up")
        self._call_event(
            call.call_id,
            "transfer_requested",
            {"target": consult.target, "mode": "attended", "consult_call_id": consult.call_id},
        )
        return self._transfer(
            call, consult.request, lambda: self.line.attended_transfer(call.call_id, consult.call_id)
        )

    def cancel_consultation(self) -> CallUpdate:
        call = self.current
        consult = call.consult if call is not None else None
        if call is None or consult is None:
            return self._no_call()
        call.consult = None
        with contextlib.suppress(LineCommandError):
            self.line.hangup(consult.call_id)
        if call.state == "held":
            return self._command(lambda: self.line.resume(call.call_id))
        return NOTHING

    # -- tickets of the calls ---------------------------------------------------------------------
    def note_ticket(self, ticket_id: int, call_id: str | None = None) -> None:
        """The ticket saved for call ``call_id`` (None: the current or last call). Transfers of that
        call are written on the ticket as notes (the link itself: ``link_ticket``)."""
        if call_id is None:
            call = self.current or self.last_call
        else:
            call = next(
                (c for c in (self.current, self.last_call) if c is not None and c.call_id == call_id), None
            )
        if call is not None:
            call.ticket_id = ticket_id
            self._note_transfers(call)

    def link_ticket(self, call_id: str, ticket_id: int, follow_up: str | None = None) -> None:
        """Link call ``call_id`` to ticket ``ticket_id`` (a follow-up call: also its ``follow_up`` event
        naming ticket ``follow_up``) through the seat's writer, so it runs after the call log wrote
        the call's row; a call without a row is reported (store problem ``call_link``), never skipped.

        Thread-safe: the ticket service calls it from its worker thread, after its save committed."""
        at = self.now()

        def job(s: Session) -> None:
            calls.link_ticket(s, call_id, ticket_id)  # raises CallError when the call has no row
            if follow_up:
                calls.add_call_event(s, call_id, "follow_up", at, {"ticket": follow_up})

        self.writer.submit("call_link", job)

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
