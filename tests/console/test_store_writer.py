"""StoreWriter: the seat's one ordered writer, on a real SQLite file store."""

from __future__ import annotations

import threading
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from console.services.store_writer import StoreWriter
from store.db import Store


def _blocker(started: threading.Event, release: threading.Event) -> Callable[[Session], None]:
    def job(_s: Session) -> None:
        started.set()
        release.wait(10)

    return job


def test_jobs_run_in_order_and_a_failure_is_reported_to_its_handler(sqlite_store: Store) -> None:
    problems: list[str] = []
    mine: list[str] = []
    done: list[int] = []
    writer = StoreWriter(sqlite_store, problems.append)
    try:
        for i in range(50):
            writer.submit(f"job{i}", lambda s, i=i: (s.execute(text("select 1")), done.append(i)))
        writer.submit("broken", lambda _s: 1 / 0)
        writer.submit("mine", lambda _s: 1 / 0, on_error=mine.append)
        writer.submit("after", lambda _s: done.append(50))
        assert writer.flush(10)
    finally:
        writer.close()
    assert done == list(range(51))  # in order, and the failures did not stop the writer
    assert (problems, mine, writer.failures) == (["broken"], ["mine"], 2)


def test_flush_is_bounded_and_a_full_queue_refuses_and_reports(sqlite_store: Store) -> None:
    problems: list[str] = []
    started, release = threading.Event(), threading.Event()
    writer = StoreWriter(sqlite_store, problems.append, max_pending=2)
    try:
        assert writer.submit("slow", _blocker(started, release))
        assert started.wait(5)
        assert writer.submit("one", lambda _s: None) and writer.submit("two", lambda _s: None)
        assert not writer.submit("three", lambda _s: None)  # the queue holds 2: refused at once
        assert problems == ["three"]
        assert not writer.flush(0.2)  # the slow job still runs: the wait gives up
        release.set()
        assert writer.flush(10)
    finally:
        release.set()
        writer.close()
    assert writer.failures == 1


def test_close_writes_what_is_pending_then_refuses(sqlite_store: Store) -> None:
    problems: list[str] = []
    done: list[str] = []
    writer = StoreWriter(sqlite_store, problems.append)
    for what in ("a", "b", "c"):
        writer.submit(what, lambda _s, what=what: done.append(what))
    writer.close()
    assert done == ["a", "b", "c"] and problems == []
    assert not writer.submit("late", lambda _s: done.append("late"))
    assert problems == ["late"] and done == ["a", "b", "c"] and writer.flush(1)


def test_close_is_bounded_and_says_what_it_dropped(sqlite_store: Store) -> None:
    problems: list[str] = []
    started, release = threading.Event(), threading.Event()
    writer = StoreWriter(sqlite_store, problems.append)
    try:
        writer.submit("stuck", _blocker(started, release))
        assert started.wait(5)
        writer.submit("left", lambda _s: None)
        writer.close(timeout=0.2)  # the stuck job outlives the timeout: what waits behind it is dropped
        assert problems == ["left"] and writer.failures == 1
    finally:
        release.set()
    writer._thread.join(5)  # once the stuck job returns, the thread ends too
    assert not writer._thread.is_alive()
