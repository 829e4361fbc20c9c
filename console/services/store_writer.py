"""One ordered store writer per seat: every background store write of the console, in order.

``CallLog`` (the call rows, from the line's thread) and ``CallService`` (agent states, dispositions,
call events, transfer notes, the call → ticket link, from the UI loop) submit their jobs to the same
``StoreWriter``. One FIFO queue and one thread mean a job runs after every job submitted before it:
a job about a call runs after the ``open_call`` of that call, which the line's thread enqueues
before the UI loop hears of the call. The line and the screen only enqueue, so a store locked for a
while stalls neither.

Each job is one transaction (``Store.session``). A job that fails is logged, counted in ``failures``
and reported through its ``on_error`` (default: the writer's ``on_problem``, a thread-safe callback,
e.g. posting a message to the app); the writer goes on with the next one. The queue is bounded
(``max_pending``): a write beyond it, or after ``close``, is refused and reported the same way.
``flush`` waits (bounded) until what was submitted before it is written; ``close`` writes what is
pending (bounded), stops the thread and counts what it had to drop.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from queue import Empty, Full, Queue

import structlog
from sqlalchemy.orm import Session

from store.db import Store

log = structlog.get_logger(__name__)

__all__ = ["MAX_PENDING", "ErrorHandler", "Job", "StoreWriter"]

MAX_PENDING = 10_000  # jobs waiting for a slow store; beyond that they are refused (and reported)
Job = Callable[[Session], object]
ErrorHandler = Callable[[str], None]  # gets the job's ``what``


@dataclass(frozen=True)
class _Write:
    what: str
    job: Job
    on_error: ErrorHandler | None  # None: the writer's on_problem at the time of the failure


_Item = _Write | threading.Event | None  # a job, a flush marker, or the end


class StoreWriter:
    """One background thread running store jobs in the order they were submitted (module docstring)."""

    def __init__(
        self,
        store: Store,
        on_problem: ErrorHandler = lambda _what: None,
        *,
        max_pending: int = MAX_PENDING,
        name: str = "store-writer",
    ) -> None:
        self.store = store
        self.on_problem = on_problem
        self.failures = 0  # jobs that failed, were refused or dropped
        self._closed = False
        self._lock = threading.Lock()  # a submission and close() never interleave: none is lost
        self._jobs: Queue[_Item] = Queue(max_pending)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, what: str, job: Job, on_error: ErrorHandler | None = None) -> bool:
        """Queue ``job`` (never blocks); False when it was refused (full, or closed) and reported."""
        write = _Write(what, job, on_error)
        with self._lock:
            closed = self._closed
            if not closed:
                try:
                    self._jobs.put_nowait(write)
                    return True
                except Full:
                    pass
        if closed:
            log.warning("store_writer.closed", what=what)
        else:
            log.error("store_writer.queue_full", what=what, pending=self._jobs.maxsize)
        self._failed(write)
        return False

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait (at most ``timeout`` s) until every job submitted before this call ran; True if so."""
        if self._closed:
            return self._jobs.empty()
        marker = threading.Event()
        try:
            self._jobs.put(marker, timeout=timeout)
        except Full:
            return False
        return marker.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Run what is pending (bounded by ``timeout``), then stop; later submissions are refused."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        with contextlib.suppress(Full):
            self._jobs.put(None, timeout=timeout)
        self._thread.join(timeout)
        with contextlib.suppress(Empty):  # anything left after a timeout is dropped, and said so
            while True:
                item = self._jobs.get_nowait()
                if isinstance(item, _Write):  # (a flush marker stays unset: its wait says False)
                    log.error("store_writer.dropped", what=item.what)
                    self._failed(item)
        if self._thread.is_alive():  # still in a job: it stops when that job returns
            self._jobs.put_nowait(None)

    def _failed(self, write: _Write) -> None:
        self.failures += 1
        try:
            (write.on_error or self.on_problem)(write.what)
        except Exception:  # a broken report must not stop the writer
            log.exception("store_writer.report_failed", what=write.what)

    def _run(self) -> None:
        while True:
            item = self._jobs.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                with self.store.session() as s:
                    item.job(s)
            except Exception:  # reported, never fatal: the operator keeps working
                log.exception("store_writer.write_failed", what=item.what)
                self._failed(item)
