"""Benchmark: catch-up after an outage: 10,000 tickets queued while the backend is down.

Usage: .venv/bin/python bench/sync_catchup.py [-n 10000] [--breaker-reset 5] [--store sqlite|postgresql]

A SyncThread (the console's worker) runs against a port where nothing listens; its circuit breaker
opens. N tickets are saved meanwhile. Then ``hotline backend`` starts on that port and the time until
the outbox is empty is measured (it includes the wait for the breaker's next probe, at most
``--breaker-reset`` s). Target (issue 6): <= 60 s for 10,000.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import time
from pathlib import Path

import structlog
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.syncrig import API_KEY, bench_rig, queue_tickets, wait_until  # noqa: E402

from store.db import Store  # noqa: E402
from store.models import OutboxEntry  # noqa: E402
from store.open311_client import Open311Client  # noqa: E402
from store.sync import SyncSettings, SyncThread, SyncWorker  # noqa: E402


def backlog(store: Store) -> int:
    with store.read() as session:
        return int(session.scalar(select(func.count()).select_from(OutboxEntry)) or 0)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=10_000)
    parser.add_argument("--breaker-reset", type=float, default=5.0)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    with bench_rig(args.store, start_backend=False) as (store, backend), contextlib.ExitStack() as stack:
        settings = SyncSettings(
            batch_size=200,
            interval=1.0,
            backoff_base=0.5,
            backoff_max=10.0,
            breaker_failures=3,
            breaker_reset=args.breaker_reset,
        )
        worker = SyncWorker(store, Open311Client(backend.url, API_KEY, timeout=5.0), settings)
        thread = SyncThread(worker)
        thread.start()
        stack.callback(thread.stop)
        t0 = time.perf_counter()
        queue_tickets(store, args.n, "cu")
        print(
            f"queued {args.n} tickets during the outage in {time.perf_counter() - t0:.1f} s; "
            f"breaker {worker.breaker.state}"
        )
        t0 = time.perf_counter()
        backend.start()
        up = time.perf_counter() - t0
        thread.notify()
        wait_until(lambda: backlog(store) == 0, 600, "the outbox to drain", step=0.2)
        elapsed = time.perf_counter() - t0
        assert len(set(backend.client_ids())) == args.n
        print(
            f"backend up after {up:.1f} s; outbox of {args.n} empty {elapsed:.1f} s after the backend was "
            f"started ({args.n / elapsed:.0f} tickets/s incl. start-up and breaker probe; target <= 60 s); "
            f"load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
