"""``SipLine``: the host side of the SIP worker process.

pyVoIP runs in a child process (multiprocessing ``spawn``), so its threads, prints, hangs and leaks
can neither freeze nor grow the console. This side stamps the worker's typed events with an
injectable clock, keeps the call history, and restarts the worker when it dies (calls that were
up are reported ended with reason ``failed``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import threading
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import structlog

from telephony.events import (
    CallEnded,
    CallEvent,
    CallOffered,
    Clock,
    Event,
    EventCallback,
    LineError,
    monotonic_clock,
)
from telephony.line import LineCommandError
from telephony.sip.config import SipConfig
from telephony.sip.wire import Control, LogValue

log = structlog.get_logger(__name__)
worker_log = structlog.get_logger("telephony.sip.worker")

RESTART_BACKOFF = (0.5, 1.0, 2.0, 5.0, 10.0)
PING_INTERVAL = 1.0
HANG_TIMEOUT = 6.0  # a worker that answers no ping for this long is hung (pyVoIP blocking forever): killed
STOP_TIMEOUT = 8.0


@dataclass
class CallRecord:
    call_id: str
    caller: str = ""
    events: list[Event] = field(default_factory=list)
    ended: bool = False


class SipLine:
    """A :class:`~telephony.line.Line` on pyVoIP, isolated in a worker process."""

    def __init__(self, config: SipConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or monotonic_clock()
        self.history: dict[str, CallRecord] = {}
        self.restarts = 0
        self._on_event: EventCallback | None = None
        self._conn: Connection | None = None
        self._proc: multiprocessing.process.BaseProcess | None = None
        self._send_lock = threading.Lock()
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None
        self._ctx = multiprocessing.get_context("spawn")
        self._last_pong = time.monotonic()
        self.hangs_detected = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, on_event: EventCallback) -> None:
        if self._reader is not None:
            raise RuntimeError("line already started")
        self._on_event = on_event
        self._stopping.clear()
        self._spawn()
        self._reader = threading.Thread(target=self._read_loop, name="sipline-reader", daemon=True)
        self._reader.start()
        threading.Thread(target=self._watchdog, name="sipline-watchdog", daemon=True).start()

    def _spawn(self) -> None:
        from telephony.sip.worker import run_worker

        parent, child = self._ctx.Pipe(duplex=True)
        proc = self._ctx.Process(
            target=run_worker, args=(child, self.config.to_wire()), name="hotline-sip", daemon=True
        )
        proc.start()
        child.close()
        self._conn, self._proc = parent, proc
        self._last_pong = time.monotonic()
        log.info("sip_worker_started", pid=proc.pid)

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(LineCommandError):
            self._send({"cmd": "stop"})
        if self._proc is not None:
            self._proc.join(STOP_TIMEOUT)
            if self._proc.is_alive():
                log.warning("sip_worker_kill", pid=self._proc.pid)
                self._proc.kill()
                self._proc.join(2.0)
        if self._reader is not None:
            self._reader.join(STOP_TIMEOUT)
        if self._conn is not None:
            self._conn.close()

    @property
    def worker_pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def _read_loop(self) -> None:
        attempt = 0
        while True:
            conn = self._conn
            assert conn is not None
            started = time.monotonic()
            fatal = False
            while True:
                try:
                    msg = conn.recv()
                except (EOFError, OSError):
                    break
                if isinstance(msg, Control):
                    if msg.kind == "stopped":
                        break
                    if msg.kind == "pong":
                        self._last_pong = time.monotonic()
                    elif msg.kind == "log":
                        self._log_worker_record(dict(msg.record))
                    elif msg.kind == "fatal":
                        fatal = True
                    continue
                if isinstance(msg, Event):
                    self._deliver(dataclasses.replace(msg, t=self.clock()))
                else:
                    log.warning("sip_worker_unknown_message", kind=type(msg).__name__)
            if self._proc is not None:
                self._proc.join(2.0)
            if self._stopping.is_set():
                return
            # the worker died on its own: end its calls, then restart it with backoff
            for rec in self.history.values():
                if not rec.ended:
                    self._deliver(
                        CallEnded(t=self.clock(), call_id=rec.call_id, reason="failed", detail="worker died")
                    )
            self._deliver(LineError(t=self.clock(), message="SIP worker stopped unexpectedly; restarting"))
            attempt = 0 if time.monotonic() - started > 60 else attempt + 1
            if fatal and attempt >= len(RESTART_BACKOFF):
                return
            if self._stopping.wait(RESTART_BACKOFF[min(attempt, len(RESTART_BACKOFF) - 1)]):
                return
            self.restarts += 1
            self._spawn()

    @staticmethod
    def _log_worker_record(record: dict[str, LogValue]) -> None:
        level = str(record.pop("level", "info"))
        name = str(record.pop("event", "sip_worker_log"))
        getattr(worker_log, level if level in ("debug", "info", "warning", "error", "critical") else "info")(
            name, **record
        )

    def _watchdog(self) -> None:
        """Ping the worker; one that stops answering is killed, and the reader restarts it."""
        while not self._stopping.wait(PING_INTERVAL):
            with contextlib.suppress(LineCommandError):
                self._send({"cmd": "ping"})
            proc = self._proc
            if proc is not None and proc.is_alive() and time.monotonic() - self._last_pong > HANG_TIMEOUT:
                log.error(
                    "sip_worker_hung", pid=proc.pid, silent_s=round(time.monotonic() - self._last_pong, 1)
                )
                self.hangs_detected += 1
                self._last_pong = time.monotonic()
                proc.kill()

    def _deliver(self, event: Event) -> None:
        if isinstance(event, CallEvent):
            rec = self.history.setdefault(event.call_id, CallRecord(event.call_id))
            rec.events.append(event)
            if isinstance(event, CallOffered):
                rec.caller = event.caller
            if isinstance(event, CallEnded):
                rec.ended = True
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception:
                log.exception("sip_event_callback_failed", event=event.name)

    # -- commands --------------------------------------------------------------------------------
    def _send(self, cmd: dict[str, Any]) -> None:
        with self._send_lock:
            if self._conn is None:
                raise LineCommandError("line not started")
            try:
                self._conn.send(cmd)
            except (OSError, ValueError) as exc:
                raise LineCommandError(f"SIP worker unavailable: {exc}") from exc

    def _call_cmd(self, call_id: str, cmd: str, **kw: Any) -> None:
        rec = self.history.get(call_id)
        if rec is None or rec.ended:
            raise LineCommandError(f"no active call {call_id}")
        self._send({"cmd": cmd, "call_id": call_id, **kw})

    def answer(self, call_id: str) -> None:
        self._call_cmd(call_id, "answer")

    def reject(self, call_id: str, code: int = 486) -> None:
        self._call_cmd(call_id, "reject", code=code)

    def hangup(self, call_id: str) -> None:
        self._call_cmd(call_id, "hangup")

    def hold(self, call_id: str) -> None:
        self._call_cmd(call_id, "hold")

    def resume(self, call_id: str) -> None:
        self._call_cmd(call_id, "resume")

    def mute(self, call_id: str, on: bool) -> None:
        self._call_cmd(call_id, "mute", on=on)

    def send_dtmf(self, call_id: str, digits: str) -> None:
        self._call_cmd(call_id, "send_dtmf", digits=digits)

    def blind_transfer(self, call_id: str, target: str) -> None:
        self._call_cmd(call_id, "blind_transfer", target=target)

    def attended_transfer(self, call_id: str, consult_call_id: str) -> None:
        rec = self.history.get(consult_call_id)
        if rec is None or rec.ended:
            raise LineCommandError(f"no active call {consult_call_id}")
        self._call_cmd(call_id, "attended_transfer", consult=consult_call_id)

    def dial(self, number: str) -> str:
        call_id = uuid.uuid4().hex
        self.history[call_id] = CallRecord(call_id, caller=number)
        self._send({"cmd": "dial", "call_id": call_id, "number": number})
        return call_id
