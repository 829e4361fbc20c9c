"""``SimLine``: a scripted phone line for ``hotline demo`` and the training line.

It delivers the same events as :class:`~telephony.sip.SipLine` from scripted calls: who calls, when
the phone rings, when the caller hangs up (also while it still rings), what the caller says and
which keys they press. Time comes from a scheduler: :class:`ThreadScheduler` runs in real time on
one thread; :class:`ManualScheduler` is advanced by hand, which makes tests deterministic.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from telephony.events import (
    CallAnswered,
    CallEnded,
    CallHeld,
    CallOffered,
    CallResumed,
    CallRinging,
    CallTransferred,
    Dtmf,
    Event,
    EventCallback,
    Registered,
)
from telephony.line import LineCommandError


@dataclass(frozen=True)
class ScriptedCall:
    caller: str
    display_name: str = ""
    ring_at: float = 0.0  # seconds after start()
    hangup_after: float | None = None  # seconds after ringing starts; while ringing -> "cancelled"
    audio: bytes = b""  # what the caller says (8 kHz 16-bit PCM), for the audio bridge
    dtmf: tuple[tuple[float, str], ...] = ()  # (seconds after answer, digit)


class Scheduler(Protocol):
    def now(self) -> float: ...

    def call_later(self, delay: float, fn: Callable[[], None]) -> None: ...

    def close(self) -> None: ...


class ManualScheduler:
    """Runs callbacks only inside :meth:`advance`; ``now()`` is the simulated time."""

    def __init__(self) -> None:
        self._t = 0.0
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()

    def now(self) -> float:
        return self._t

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        heapq.heappush(self._heap, (self._t + max(0.0, delay), next(self._seq), fn))

    def advance(self, seconds: float) -> None:
        end = self._t + seconds
        while self._heap and self._heap[0][0] <= end:
            at, _, fn = heapq.heappop(self._heap)
            self._t = at
            fn()
        self._t = end

    def close(self) -> None:
        self._heap.clear()


class ThreadScheduler:
    """Real time on one daemon thread (the "line thread" events are delivered from)."""

    def __init__(self) -> None:
        self._t0 = time.monotonic()
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="simline", daemon=True)
        self._thread.start()

    def now(self) -> float:
        return time.monotonic() - self._t0

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (self.now() + max(0.0, delay), next(self._seq), fn))
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and (not self._heap or self._heap[0][0] > self.now()):
                    self._cond.wait(None if not self._heap else max(0.0, self._heap[0][0] - self.now()))
                if self._closed:
                    return
                _, _, fn = heapq.heappop(self._heap)
            fn()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        if self._thread is not threading.current_thread():
            self._thread.join(2.0)


@dataclass
class _SimCall:
    call_id: str
    script: ScriptedCall
    state: str = "ringing"  # ringing | answered | held | ended
    muted: bool = False
    sent_dtmf: list[str] = field(default_factory=list)


class SimLine:
    """A :class:`~telephony.line.Line` that plays a script of calls."""

    def __init__(self, script: Sequence[ScriptedCall], scheduler: Scheduler | None = None) -> None:
        self.script = list(script)
        self._scheduler = scheduler
        self._on_event: EventCallback | None = None
        self.calls: dict[str, _SimCall] = {}
        self._lock = threading.RLock()

    @property
    def scheduler(self) -> Scheduler:
        if self._scheduler is None:
            raise LineCommandError("line not started")
        return self._scheduler

    def _emit(self, event_type: type[Event], **fields: object) -> None:
        if self._on_event is not None:
            self._on_event(event_type(t=self.scheduler.now(), **fields))

    def _later(self, delay: float, fn: Callable[[], None]) -> None:
        self.scheduler.call_later(delay, fn)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, on_event: EventCallback) -> None:
        self._scheduler = self._scheduler or ThreadScheduler()
        self._on_event = on_event
        self._later(0, lambda: self._emit(Registered, expires=0))
        for sc in self.script:
            self._later(sc.ring_at, functools.partial(self._ring, sc))

    def stop(self) -> None:
        """End live calls (their call_ended is delivered from the caller's thread) and stop the clock."""
        with self._lock:
            live = [c for c in self.calls.values() if c.state != "ended"]
        for call in live:
            self._end(call, "local_hangup" if call.state != "ringing" else "rejected")
        if self._scheduler is not None:
            self._scheduler.close()
        self._on_event = None

    # -- script ----------------------------------------------------------------------------------
    def _ring(self, sc: ScriptedCall) -> None:
        call = _SimCall(uuid.uuid4().hex, sc)
        with self._lock:
            self.calls[call.call_id] = call
        self._emit(CallOffered, call_id=call.call_id, caller=sc.caller, display_name=sc.display_name)
        if sc.hangup_after is not None:
            self._later(sc.hangup_after, lambda: self._caller_hangs_up(call))

    def _caller_hangs_up(self, call: _SimCall) -> None:
        if call.state == "ringing":
            self._end(call, "cancelled")
        elif call.state != "ended":
            self._end(call, "remote_bye")

    def _end(self, call: _SimCall, reason: str) -> None:
        with self._lock:
            if call.state == "ended":
                return
            call.state = "ended"
        self._emit(CallEnded, call_id=call.call_id, reason=reason)

    def _live(self, call_id: str, *states: str) -> _SimCall:
        with self._lock:
            call = self.calls.get(call_id)
            if call is None or call.state == "ended" or (states and call.state not in states):
                raise LineCommandError(f"call {call_id} is {call.state if call else 'unknown'}")
            return call

    # -- commands --------------------------------------------------------------------------------
    def answer(self, call_id: str) -> None:
        call = self._live(call_id, "ringing")
        call.state = "answered"
        self._later(0, lambda: self._emit(CallAnswered, call_id=call_id, codec="PCMU"))
        for after, digit in call.script.dtmf:
            self._later(after, functools.partial(self._press, call, digit))

    def _press(self, call: _SimCall, digit: str) -> None:
        if call.state != "ended":
            self._emit(Dtmf, call_id=call.call_id, digit=digit)

    def reject(self, call_id: str, code: int = 486) -> None:
        call = self._live(call_id, "ringing")
        self._later(0, lambda: self._end(call, "rejected"))

    def hangup(self, call_id: str) -> None:
        call = self._live(call_id, "answered", "held")
        self._later(0, lambda: self._end(call, "local_hangup"))

    def hold(self, call_id: str) -> None:
        call = self._live(call_id, "answered")
        call.state = "held"
        self._later(0, lambda: self._emit(CallHeld, call_id=call_id, by="local"))

    def resume(self, call_id: str) -> None:
        call = self._live(call_id, "held")
        call.state = "answered"
        self._later(0, lambda: self._emit(CallResumed, call_id=call_id, by="local"))

    def mute(self, call_id: str, on: bool) -> None:
        self._live(call_id, "answered", "held").muted = on

    def send_dtmf(self, call_id: str, digits: str) -> None:
        self._live(call_id, "answered").sent_dtmf.extend(digits)

    def blind_transfer(self, call_id: str, target: str) -> None:
        call = self._live(call_id, "answered", "held")

        def done() -> None:
            self._emit(CallTransferred, call_id=call_id, target=target)
            self._end(call, "local_hangup")

        self._later(0, done)

    def attended_transfer(self, call_id: str, consult_call_id: str) -> None:
        if call_id == consult_call_id:
            raise LineCommandError("a call cannot be transferred to itself")
        call = self._live(call_id, "answered", "held")
        consult = self._live(consult_call_id, "answered", "held")

        def done() -> None:
            self._emit(
                CallTransferred, call_id=call_id, target=consult.script.caller, replaces=consult_call_id
            )
            self._end(call, "local_hangup")
            self._end(consult, "remote_bye")  # the target drops the replaced consultation

        self._later(0, done)

    def dial(self, number: str) -> str:
        call = _SimCall(uuid.uuid4().hex, ScriptedCall(caller=number), state="answered")
        with self._lock:
            self.calls[call.call_id] = call
        self._later(0, lambda: self._emit(CallRinging, call_id=call.call_id, callee=number))
        self._later(0.5, lambda: self._emit(CallAnswered, call_id=call.call_id, codec="PCMU"))
        return call.call_id
