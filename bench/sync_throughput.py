"""Benchmark: tickets per second from the outbox to the reference backend on loopback.

Usage: .venv/bin/python bench/sync_throughput.py [-n 3000] [--batch 200] [--senders 4]
       [--store sqlite|postgresql] [--workers K] [--runs R]

Queues N tickets in a fresh store, starts ``hotline backend`` (its own SQLite file) as a real process,
then times one in-process SyncWorker draining the outbox (create + link_backend per ticket). With
``--runs R`` it queues and drains N more tickets R times (same store and backend) and prints the
median/min/max rate and worker CPU per ticket. Target (issue 6): >= 300 tickets/s.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.syncrig import API_KEY, bench_rig, queue_tickets  # noqa: E402

from store.open311_client import Open311Client  # noqa: E402
from store.sync import RoundResult, SyncSettings, SyncWorker  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """user+system CPU of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Run:
    sent: int
    elapsed: float
    cpu: float  # this process (the workers and their senders)
    backend_cpu: float

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed


def drain(store: Any, backend: Any, args: argparse.Namespace) -> Run:
    """Time the workers emptying the outbox."""
    settings = SyncSettings(batch_size=args.batch, senders=args.senders, interval=0.05)
    workers = [
        SyncWorker(store, Open311Client(backend.url, API_KEY, max_connections=args.senders), settings)
        for _ in range(args.workers if args.store == "postgresql" else 1)
    ]
    results: list[RoundResult] = []
    threads = [
        threading.Thread(target=lambda w=w: results.append(w.run_until_idle(deadline_s=600))) for w in workers
    ]
    t0, c0, b0 = time.perf_counter(), time.process_time(), cpu_seconds(backend.proc.pid)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    run = Run(
        sum(r.sent for r in results),
        time.perf_counter() - t0,
        time.process_time() - c0,
        cpu_seconds(backend.proc.pid) - b0,
    )
    for w in workers:
        w.close()
        w.client.close()
    assert run.sent == args.n and not any(r.failed for r in results), results
    print(
        f"sent {run.sent} tickets in {run.elapsed:.2f} s: {run.rate:.0f} tickets/s "
        f"({len(workers)} worker(s), batch {args.batch}, {args.senders} senders; target >= 300/s); "
        f"CPU: workers {run.cpu:.2f} s ({run.cpu / run.sent * 1000:.2f} ms/ticket), "
        f"backend {run.backend_cpu:.2f} s; load average {os.getloadavg()[0]:.1f}"
    )
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--store", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument(
        "--workers", type=int, default=1, help="concurrent workers (threads; PostgreSQL only)"
    )
    parser.add_argument("--runs", type=int, default=1, help="queue and drain N tickets this many times")
    args = parser.parse_args()
    if args.n < 1 or args.runs < 1:
        parser.error("-n and --runs must be at least 1")
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    with bench_rig(args.store, start_backend=False) as (store, backend):
        runs: list[Run] = []
        for r in range(args.runs):
            t0 = time.perf_counter()
            queue_tickets(store, args.n, f"tp{r}")
            print(f"queued {args.n} tickets in {time.perf_counter() - t0:.1f} s ({args.store})")
            if r == 0:
                backend.start()
            runs.append(drain(store, backend, args))
        assert len(backend.client_ids()) == args.n * args.runs
    if args.runs > 1:
        rates = sorted(run.rate for run in runs)
        cpu = sorted(run.cpu / run.sent * 1000 for run in runs)
        print(
            f"{args.runs} runs of {args.n}: median {statistics.median(rates):.0f} tickets/s "
            f"(min {rates[0]:.0f}, max {rates[-1]:.0f}); worker CPU median {statistics.median(cpu):.2f} ms/ticket"
        )


if __name__ == "__main__":
    main()
