"""The SIP worker process: pyVoIP and its threads live here; the host sees only typed messages on a pipe.

Started with the ``spawn`` method by :class:`telephony.sip.line.SipLine`. Up the pipe go the
typed events of :mod:`telephony.events` and the worker's own :class:`telephony.sip.wire.Control`
messages; commands come down as ``{"cmd": name, ...}``. pyVoIP's prints, debug
output and warnings are routed into structlog (JSON on stderr), with secrets redacted.
"""

from __future__ import annotations

import io
import logging
import os
import sys
import threading
import warnings
from collections.abc import Callable, MutableMapping
from multiprocessing.connection import Connection
from typing import Any, TextIO

import structlog

from telephony.events import Event, LineError
from telephony.redact import redact_processor, redact_text
from telephony.sip.config import SipConfig
from telephony.sip.wire import Control, LogValue, Uplink

log = structlog.get_logger(__name__)


class _LogWriter(io.TextIOBase):
    """Stands in for stdout so pyVoIP's print() calls become redacted log lines."""

    def write(self, s: str) -> int:
        if s.strip():
            log.debug("pyvoip_print", text=redact_text(s.rstrip()))
        return len(s)


def configure_worker_logging(level: str, forward: Callable[[Control], None]) -> None:
    """Worker log records go up the pipe (``Control("log")``) and are written by the host's logging,
    so the worker never writes to the terminal (the console is a full-screen TUI)."""

    def send_up(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Any:
        record: dict[str, LogValue] = {
            k: v if isinstance(v, str | int | float | bool | type(None)) else repr(v)
            for k, v in event_dict.items()
        }
        forward(Control("log", record))
        raise structlog.DropEvent

    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.format_exc_info,
            redact_processor,
            send_up,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        logger_factory=structlog.ReturnLoggerFactory(),
        cache_logger_on_first_use=False,
    )
    import pyVoIP
    import pyVoIP.RTP
    import pyVoIP.SIP
    import pyVoIP.VoIP.VoIP

    def pyvoip_debug(s: object, e: object = None) -> None:
        log.debug("pyvoip_debug", text=redact_text(str(s if e is None else e)))

    for mod in (pyVoIP, pyVoIP.SIP, pyVoIP.RTP, pyVoIP.VoIP.VoIP):
        mod.debug = pyvoip_debug  # type: ignore[attr-defined]
    sys.stdout = _LogWriter()

    def show_warning(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        log.info("pyvoip_warning", category=category.__name__, text=redact_text(str(message)))

    warnings.showwarning = show_warning


class PipeSink:
    """The worker's end of the pipe: events (the phone's ``EventSink``) and control messages, sent
    whole under one lock from whichever pyVoIP thread has something to say."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        self._send(event)

    def control(self, message: Control) -> None:
        self._send(message)

    def _send(self, message: Uplink) -> None:
        with self._lock:
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                os._exit(3)  # the host is gone: nothing left to serve


def run_worker(conn: Connection, cfg_wire: dict[str, Any]) -> None:
    """Process entry point."""
    from telephony.sip.calls import CallManager  # pyVoIP is imported in the worker process only

    cfg = SipConfig.from_wire(cfg_wire)
    up = PipeSink(conn)
    configure_worker_logging(cfg.log_level, up.control)
    manager = CallManager(cfg, up)
    try:
        manager.phone.start()
    except OSError as exc:
        up.emit(LineError(message=f"cannot start SIP: {exc}"))
        up.control(Control("fatal"))
        os._exit(2)
    while True:
        try:
            cmd = conn.recv()
        except (EOFError, OSError):
            break
        if cmd.get("cmd") == "stop":
            break
        if cmd.get("cmd") == "ping":  # the host's hang detector
            up.control(Control("pong"))
            continue
        try:
            manager.execute(cmd)
        except Exception as exc:
            log.info("command_failed", cmd=cmd.get("cmd"), why=str(exc))
            up.emit(LineError(message=f"{cmd.get('cmd')}: {exc}", call_id=cmd.get("call_id")))
    try:
        manager.stop()
    finally:
        up.control(Control("stopped"))
        conn.close()
        os._exit(0)  # pyVoIP may leave non-daemon threads behind; never wait for them
