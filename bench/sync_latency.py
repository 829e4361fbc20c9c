"""Benchmark: save → acknowledged by a healthy backend (the ticket carries the backend's id).

Usage: .venv/bin/python bench/sync_latency.py [-n 200] [--rate 10] [--store sqlite|postgresql]

``hotline backend`` runs as a real process; the worker runs as the console runs it (a SyncThread
woken by ``notify()`` after each save) and, for comparison, as a dedicated worker that is not woken
(default settings: it looks at the outbox every 0.5 s, at the feed every ``[sync] interval``, 5 s). Tickets are saved at ``--rate`` per second; for
each, the time from the save's commit until ``backend_id`` is visible in the store.
Target (issue 6): p99 <= 1 s.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import structlog
from sqlalchemy import select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.syncrig import API_KEY, LEAVES, bench_rig, now  # noqa: E402
from percentiles import pct  # noqa: E402

from store.db import Store  # noqa: E402
from store.models import Ticket  # noqa: E402
from store.open311_client import Open311Client  # noqa: E402
from store.sync import SyncSettings, SyncThread, SyncWorker  # noqa: E402
from store.tickets import Actor, create_ticket, draft_from  # noqa: E402

ACTOR = Actor("bench", "operator")


def save(store: Store, cid: str) -> None:
    with store.session() as session:
        draft = draft_from(
            {"nature": "求助", "description": "停水", "leaf_code": LEAVES[1], "channel": "phone"}
        )
        create_ticket(session, draft, ACTOR, now(), client_request_id=cid)


def acknowledged(store: Store, cid: str) -> bool:
    with store.read() as session:
        return session.scalar(select(Ticket.backend_id).where(Ticket.client_request_id == cid)) is not None


def measure(store: Store, thread: SyncThread, n: int, rate: float, label: str, wake: bool) -> None:
    samples = []
    for i in range(n):
        cid = f"{label}-{i}"
        save(store, cid)
        t0 = time.perf_counter()
        if wake:
            thread.notify()
        for _ in range(10_000):  # bounded: 10,000 polls of 1 ms
            if acknowledged(store, cid):
                break
            time.sleep(0.001)
        samples.append(time.perf_counter() - t0)
        time.sleep(max(0.0, 1 / rate - samples[-1]))
    ms = [s * 1000 for s in samples]
    print(
        f"{label:<28} n={len(ms)} median={statistics.median(ms):.1f} ms p95={pct(ms, 95):.1f} ms "
        f"p99={pct(ms, 99):.1f} ms max={max(ms):.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with bench_rig(args.store) as (store, backend):
        for label, wake in (("console (notify after save)", True), ("dedicated (default settings)", False)):
            worker = SyncWorker(store, Open311Client(backend.url, API_KEY), SyncSettings())
            thread = SyncThread(worker)
            thread.start()
            try:
                measure(store, thread, args.n, args.rate, label, wake)
            finally:
                thread.stop()
        print(f"({args.store}; target p99 <= 1 s; load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
