"""Benchmark: tickets per second from the outbox to the reference backend on loopback.

Usage: .venv/bin/python bench/sync_throughput.py [-n 3000] [--batch 200] [--senders 4]
       [--store sqlite|postgresql] [--workers K]

Queues N tickets in a fresh store, starts ``hotline backend`` (its own SQLite file) as a real process,
then times one in-process SyncWorker draining the outbox (create + link_backend per ticket).
Target (issue 6): >= 300 tickets/s.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import threading
import time
from pathlib import Path

import structlog

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "sync")]

from syncrig import API_KEY, bench_rig, queue_tickets  # noqa: E402

from store.open311_client import Open311Client  # noqa: E402
from store.sync import RoundResult, SyncSettings, SyncWorker  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """user+system CPU of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--workers", type=int, default=1, help="concurrent workers (threads; PostgreSQL only)")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with bench_rig(args.store, start_backend=False) as (store, backend):
        t0 = time.perf_counter()
        queue_tickets(store, args.n, "tp")
        print(f"queued {args.n} tickets in {time.perf_counter() - t0:.1f} s ({args.store})")
        backend.start()
        settings = SyncSettings(batch_size=args.batch, senders=args.senders, interval=0.05)
        workers = [SyncWorker(store, Open311Client(backend.url, API_KEY, max_connections=args.senders), settings)
                   for _ in range(args.workers if args.store == "postgresql" else 1)]
        results: list[RoundResult] = []
        threads = [threading.Thread(target=lambda w=w: results.append(w.run_until_idle(deadline_s=600)))
                   for w in workers]
        t0, c0, b0 = time.perf_counter(), time.process_time(), cpu_seconds(backend.proc.pid)
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        cpu, backend_cpu = time.process_time() - c0, cpu_seconds(backend.proc.pid) - b0
        for w in workers:
            w.close()
            w.client.close()
        sent = sum(r.sent for r in results)
        assert sent == args.n and not any(r.failed for r in results), results
        assert len(backend.client_ids()) == args.n
        print(f"sent {sent} tickets in {elapsed:.2f} s: {sent / elapsed:.0f} tickets/s "
              f"({len(workers)} worker(s), batch {args.batch}, {args.senders} senders; target >= 300/s); "
              f"CPU: workers {cpu:.2f} s, "
              f"backend {backend_cpu:.2f} s; load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
