"""The call log: telephony events -> rows of the store, for the console and the headless agent alike.

    log = CallLog(store, user_id=7, origin=wall_clock_at_line_t0, recording_dir="/var/rec")
    line.start(lambda ev: (log.on_event(ev), ui_queue.put(ev)))
    call_id = line.dial(number); log.dialed(call_id, number)      # outbound: record before events

``on_event`` is called from the line's thread: each event is ONE short transaction of
``store.calls`` and it never raises (a store failure is logged and the line keeps going). With
``background=True`` (for the console) the line's thread only enqueues and a writer thread of the
CallLog does the transactions, so a store waiting on a lock never stalls the line; ``flush()``
waits (bounded) until what was given is written (before ``store.calls.link_ticket`` on a call that
has just started, say) and ``close()`` stops the writer.

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
``store.calls.caller_history`` in a read transaction (a few ms, indexed) and returns its frozen
``CallerHistory``.

Times: with ``origin`` (the wall-clock moment the line's clock read 0) an event's time is
``origin + t``; without it, the moment ``on_event`` runs (``now()``). With ``agent_states=True`` and
a ``user_id`` the operator's state follows the calls: 振铃, 通话中, 保持, 话后整理.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
import time
from collections.abc import Callable
from pathlib import Path
from queue import Full, Queue

import structlog
from sqlalchemy.orm import Session

from store import calls
from store.callers import mask_phone
from store.db import Store, utcnow
from telephony.events import (
    CallAnswered,
    CallEnded,
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

MAX_PENDING = 10_000  # events waiting for a slow store (background mode); beyond that they are dropped
_Job = tuple[str, str, Callable[[Session], object]]


def ringing_history(
    store: Store,
    phone: str,
    *,
    exclude_call_id: str | None = None,
    now: dt.datetime | None = None,
    days: int = 30,
) -> calls.CallerHistory:
    """The caller's tickets and recent calls for the ringing pop (see ``store.calls.caller_history``)."""
    with store.read() as s:
        return calls.caller_history(s, phone, now or utcnow(), days, exclude_call_id=exclude_call_id)


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
        background: bool = False,
    ) -> None:
        self.store = store
        self.user_id = user_id
        self.queue = queue
        self.origin = origin
        self.now = now
        self.recording_dir = Path(recording_dir) if recording_dir else None
        self.agent_states = agent_states and user_id is not None
        self._transferred: set[str] = set()  # calls whose end is a transfer; emptied at the end
        self._lock = threading.Lock()  # one writer at a time from this seat
        self.failures = 0  # events that could not be written (logged each time)
        self._jobs: Queue[_Job | None] | None = None
        self._writer: threading.Thread | None = None
        if background:  # the line's thread only enqueues; a store that waits on a lock cannot stall it
            self._jobs = Queue(maxsize=MAX_PENDING)
            self._writer = threading.Thread(target=self._write_jobs, name="call-log", daemon=True)
            self._writer.start()

    def at(self, event: Event) -> dt.datetime:
        if self.origin is not None:
            return self.origin + dt.timedelta(seconds=event.t)
        return self.now()

    def dialed(self, call_id: str, number: str, at: dt.datetime | None = None) -> None:
        """Record an outbound call the moment ``line.dial`` returned its id (never raises)."""
        when = at or self.now()  # now, not when a background writer gets to it
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
        call_id = getattr(event, "call_id", None)
        try:
            at = self.at(event)
            if isinstance(event, CallRejected):
                log.warning("call_log.request_rejected", source=event.source, why=event.why)
                return
            if call_id is None:
                return
            self._write(event.name, call_id, lambda s: self._apply(s, event, call_id, at))
        except Exception:  # the telephony thread must never see our failures
            self.failures += 1
            log.exception("call_log.event_failed", call_event=type(event).__name__, call_id=call_id)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait (at most ``timeout`` s) until everything given so far is written; True if it is."""
        if self._jobs is None:
            return True
        deadline = time.monotonic() + timeout
        with self._jobs.all_tasks_done:
            while self._jobs.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._jobs.all_tasks_done.wait(left)
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Write what is pending (bounded) and stop the background writer."""
        if self._jobs is None or self._writer is None:
            return
        self.flush(timeout)
        with contextlib.suppress(Full):
            self._jobs.put(None, timeout=timeout)
        self._writer.join(timeout)

    def _write_jobs(self) -> None:
        assert self._jobs is not None
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                self._write_now(*job)
            finally:
                self._jobs.task_done()

    def _write(self, what: str, call_id: str, action: Callable[[Session], object]) -> None:
        if self._jobs is None:
            self._write_now(what, call_id, action)
            return
        try:
            self._jobs.put_nowait((what, call_id, action))
        except Full:
            self.failures += 1
            log.error("call_log.queue_full", call_event=what, call_id=call_id, pending=MAX_PENDING)

    def _write_now(self, what: str, call_id: str, action: Callable[[Session], object]) -> None:
        try:
            with self._lock, self.store.session() as s:
                action(s)
        except Exception:  # logged and counted; the line keeps going
            self.failures += 1
            log.exception("call_log.write_failed", call_event=what, call_id=call_id)

    def _apply(self, s: Session, event: Event, call_id: str, at: dt.datetime) -> None:
        if isinstance(event, CallOffered):
            calls.open_call(
                s,
                call_id=call_id,
                direction="in",
                remote_number=event.caller,
                display_name=event.display_name or None,
                at=at,
                user_id=self.user_id,
                queue=self.queue,
            )
            log.info("call_log.offered", call_id=call_id, caller=mask_phone(event.caller))
            self._state(s, "振铃", at)
        elif isinstance(event, CallRinging):
            if calls.get_call(s, call_id) is None:
                calls.open_call(
                    s,
                    call_id=call_id,
                    direction="out",
                    remote_number=event.callee,
                    display_name=None,
                    at=at,
                    user_id=self.user_id,
                    queue=self.queue,
                )
            else:
                calls.add_call_event(s, call_id, "ringing", at)
        elif isinstance(event, CallAnswered):
            calls.answer_call(s, call_id, at, user_id=self.user_id)
            if event.codec:
                calls.add_call_event(s, call_id, "media", at, {"codec": event.codec})
            if self.recording_dir is not None:
                calls.set_recording(s, call_id, str(self.recording_dir / call_id))
            self._state(s, "通话中", at)
        elif isinstance(event, CallHeld | CallResumed):
            calls.add_call_event(
                s, call_id, "held" if isinstance(event, CallHeld) else "resumed", at, {"by": event.by}
            )
            self._state(s, "保持" if isinstance(event, CallHeld) else "通话中", at)
        elif isinstance(event, Dtmf):
            calls.add_call_event(s, call_id, "dtmf", at, {"digit": event.digit})
        elif isinstance(event, CallTransferred):
            data = {"target": event.target, **({"replaces": event.replaces} if event.replaces else {})}
            calls.add_call_event(s, call_id, "transferred", at, data)
            self._transferred.add(call_id)
        elif isinstance(event, CallEnded):
            reason = "transferred" if call_id in self._transferred else event.reason
            call = calls.end_call(s, call_id, at, reason, event.detail)
            self._transferred.discard(call_id)
            self._state(s, "话后整理" if call.answered_at is not None else "就绪", at)

    def _state(self, s: Session, state: str, at: dt.datetime) -> None:
        if self.agent_states and self.user_id is not None:
            calls.set_agent_state(s, self.user_id, state, at)
