"""The call log: telephony events -> rows of the store, for the console and the headless agent alike.

    log = CallLog(store, user_id=7, origin=wall_clock_at_line_t0, recording_dir="/var/rec")
    line.start(lambda ev: (log.on_event(ev), ui_queue.put(ev)))
    call_id = line.dial(number); log.dialed(call_id, number)      # outbound: record before events

``on_event`` is called from the line's thread: each event is ONE short transaction of
``store.calls`` and it never raises (a store failure is logged, counted in ``failures``, and the line
keeps going). Without a ``writer`` the transaction runs at once, on the caller's thread (the headless
agent). With the seat's ``StoreWriter`` (``console.services.store_writer``, the console) the line's
thread only enqueues, so a store waiting on a lock never stalls the line, and the seat's other
writes (``CallService``: agent states, the call → ticket link...) run after the call rows they refer
to; ``flush()`` waits (bounded) until what was given is written, ``close()`` is a last flush (the
writer's owner stops it).

Event -> store (``store.calls``):
- ``CallOffered``        -> ``open_call(direction="in")`` (links/creates the Caller)
- ``CallRinging``        -> ``open_call(direction="out")`` for a call not yet known, else event ``ringing``
- ``CallAnswered``       -> ``answer_call`` (+ ``set_recording`` to ``<recording_dir>/<call_id>``; the
  line writes ``<call_id>-rx.wav`` and ``<call_id>-tx.wav`` there)
- ``CallHeld`` / ``CallResumed`` -> events ``held`` / ``resumed`` with ``{"by": "local"|"remote"}``
- ``Dtmf``               -> event ``dtmf`` with ``{"digit": d}``
- ``CallTransferred``    -> event ``transferred`` with ``{"target": t}`` (and ``"replaces"``: the consultation
  call's id, for an attended transfer); the call then ends as ``transferred``
- ``CallEnded``          -> ``end_call(reason)`` (``transferred`` after a transfer)
- ``CallRejected``       -> logged only: a request refused before it could ring (SIP scanner, bad SDP)
  was never offered to anyone, so it is not a call and must not count in 接通率.
- other events (registration, errors) -> nothing.

The ringing pop from the UI: ``ringing_history(store, phone, exclude_call_id=offered.call_id)`` runs
``store.caller_history.caller_history`` in a read transaction (a few ms, indexed) and returns its frozen
``CallerHistory``.

Times: with ``origin`` (the wall-clock moment the line's clock read 0) an event's time is
``origin + t``; without it, the moment ``on_event`` runs (``now()``). With ``agent_states=True`` and
a ``user_id`` (the headless agent; the console's ``CallService`` keeps the states itself) the
operator's state follows the calls: ringing, talking, held, wrap-up (``store.vocabulary.AgentState``).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from pathlib import Path

import structlog
from sqlalchemy.orm import Session

from console.services.store_writer import StoreWriter
from store import agents, caller_history, calls
from store.callers import mask_phone
from store.db import Store, utcnow
from store.vocabulary import AgentState
from store.worklists import SEAT_RINGING
from telephony.events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallHeld,
    CallOffered,
    CallRejected,
    CallResumed,
    CallRinging,
    CallTransferred,
    Dtmf,
    Event,
)

log = structlog.get_logger(__name__)


def ringing_history(
    store: Store,
    phone: str,
    *,
    exclude_call_id: str | None = None,
    now: dt.datetime | None = None,
    days: int = 30,
) -> caller_history.CallerHistory:
    """The caller's tickets and recent calls for the ringing pop (``store.caller_history``)."""
    with store.read() as s:
        return caller_history.caller_history(s, phone, now or utcnow(), days, exclude_call_id=exclude_call_id)


class CallLog:
    """Writes each call and its events to ``store``; thread-safe, never raises from ``on_event``."""

    def __init__(
        self,
        store: Store,
        user_id: int | None = None,
        *,
        queue: str | None = None,
        origin: dt.datetime | None = None,
        now: Callable[[], dt.datetime] = utcnow,
        recording_dir: str | Path | None = None,
        agent_states: bool = False,
        writer: StoreWriter | None = None,
    ) -> None:
        self.store = store
        self.user_id = user_id
        self.queue = queue
        self.origin = origin
        self.now = now
        self.recording_dir = Path(recording_dir) if recording_dir else None
        self.agent_states = agent_states and user_id is not None
        self.writer = writer
        self._transferred: set[str] = set()  # calls whose end is a transfer; emptied at the end
        self._lock = threading.Lock()  # without a writer: one transaction at a time from this seat
        self.failures = 0  # events that could not be written (logged each time)

    def at(self, event: Event) -> dt.datetime:
        if self.origin is not None:
            return self.origin + dt.timedelta(seconds=event.t)
        return self.now()

    def dialed(self, call_id: str, number: str, at: dt.datetime | None = None) -> None:
        """Record an outbound call the moment ``line.dial`` returned its id (never raises)."""
        when = at or self.now()  # now, not when the writer gets to it
        self._write(
            "dialed",
            call_id,
            lambda s: calls.open_call(
                s,
                call_id=call_id,
                direction="out",
                remote_number=number,
                display_name=None,
                at=when,
                user_id=self.user_id,
                queue=self.queue,
            ),
        )

    def on_event(self, event: Event) -> None:
        """Turn one telephony event into store rows (see the module docstring); never raises."""
        call_id = event.call_id if isinstance(event, CallEvent) else None
        try:
            if isinstance(event, CallRejected):
                log.warning("call_log.request_rejected", source=event.source, why=event.why)
                return
            if not isinstance(event, CallEvent):
                return
            at = self.at(event)
            self._write(event.name, event.call_id, lambda s: self._apply(s, event, at))
        except Exception:  # the telephony thread must never see our failures
            self.failures += 1
            log.exception("call_log.event_failed", call_event=type(event).__name__, call_id=call_id)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait (at most ``timeout`` s) until everything given so far is written; True if it is."""
        return self.writer.flush(timeout) if self.writer is not None else True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending (bounded); the writer itself is stopped by its owner."""
        self.flush(timeout)

    def _write(self, what: str, call_id: str, action: Callable[[Session], object]) -> None:
        if self.writer is not None:
            self.writer.submit(what, action, on_error=lambda _what: self._failed(what, call_id))
            return
        try:
            with self._lock, self.store.session() as s:
                action(s)
        except Exception:  # logged and counted; the line keeps going
            log.exception("call_log.write_failed", call_event=what, call_id=call_id)
            self.failures += 1

    def _failed(self, what: str, call_id: str) -> None:
        """A write the seat's writer could not do (it logged why): counted, for the console's notice."""
        self.failures += 1
        log.error("call_log.write_failed", call_event=what, call_id=call_id)

    def _apply(self, s: Session, event: CallEvent, at: dt.datetime) -> None:
        call_id = event.call_id
        match event:
            case CallOffered(caller=caller, display_name=name):
                calls.open_call(
                    s,
                    call_id=call_id,
                    direction="in",
                    remote_number=caller,
                    display_name=name or None,
                    at=at,
                    user_id=self.user_id,
                    queue=self.queue,
                )
                log.info("call_log.offered", call_id=call_id, caller=mask_phone(caller))
                if self.agent_states:  # the headless agent answers every call: it rings at its seat
                    calls.add_call_event(s, call_id, SEAT_RINGING, at, {"user_id": self.user_id})
                self._state(s, AgentState.RINGING, at)
            case CallRinging(callee=callee):
                if calls.get_call(s, call_id) is None:
                    calls.open_call(
                        s,
                        call_id=call_id,
                        direction="out",
                        remote_number=callee,
                        display_name=None,
                        at=at,
                        user_id=self.user_id,
                        queue=self.queue,
                    )
                else:
                    calls.add_call_event(s, call_id, "ringing", at)
            case CallAnswered(codec=codec):
                calls.answer_call(s, call_id, at, user_id=self.user_id)
                if codec:
                    calls.add_call_event(s, call_id, "media", at, {"codec": codec})
                if self.recording_dir is not None:
                    calls.set_recording(s, call_id, str(self.recording_dir / call_id))
                self._state(s, AgentState.TALKING, at)
            case CallHeld(by=by):
                calls.add_call_event(s, call_id, "held", at, {"by": by})
                self._state(s, AgentState.HELD, at)
            case CallResumed(by=by):
                calls.add_call_event(s, call_id, "resumed", at, {"by": by})
                self._state(s, AgentState.TALKING, at)
            case Dtmf(digit=digit):
                calls.add_call_event(s, call_id, "dtmf", at, {"digit": digit})
            case CallTransferred(target=target, replaces=replaces):
                data = {"target": target, **({"replaces": replaces} if replaces else {})}
                calls.add_call_event(s, call_id, "transferred", at, data)
                self._transferred.add(call_id)
            case CallEnded(reason=line_reason, detail=detail):
                reason = "transferred" if call_id in self._transferred else line_reason
                call = calls.end_call(s, call_id, at, reason, detail)
                self._transferred.discard(call_id)
                self._state(s, AgentState.WRAP_UP if call.answered_at is not None else AgentState.READY, at)

    def _state(self, s: Session, state: AgentState, at: dt.datetime) -> None:
        if self.agent_states and self.user_id is not None:
            agents.set_agent_state(s, self.user_id, state, at)
