"""Benchmark: save one ticket (row + its events + its outbox row) in one transaction.

Usage: .venv/bin/python bench/save_ticket.py [-n 2000] [--backend sqlite|postgresql|both]

SQLite runs on a file in a temporary folder (WAL, synchronous=NORMAL: the store's own settings);
PostgreSQL on a throwaway server started by tests/helpers/pgserver.py (fsync off there, so its figures are
the software's cost, not the disk's). Prints median/p95/p99 in ms for ``create_ticket`` and, for
comparison, for one lifecycle command (派单) on the tickets just created. The KPI roll-ups cost the
save path only the triggers of migration 0003 (mark the day dirty; store.kpi.rollups refreshes at report
time), so there is no longer a with/without-hooks variant.
Targets (issue 2): SQLite median <= 5 ms, p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import structlog

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.pgserver import running_pg  # noqa: E402
from percentiles import pct  # noqa: E402

from store.db import Store, open_store  # noqa: E402
from store.tickets import Actor, apply_command, create_ticket, draft_from, find_ticket  # noqa: E402

WARMUP = 50
ACTOR = Actor("bench", "operator")


def report(label: str, samples: list[tuple[float, float]]) -> str:
    ms = sorted(wall * 1000 for wall, _ in samples)
    cpu = statistics.median(c * 1000 for _, c in samples)
    return (
        f"{label:<34} n={len(ms):<5} median={statistics.median(ms):6.2f} ms  "
        f"p95={pct(ms, 95):6.2f} ms  p99={pct(ms, 99):6.2f} ms  max={ms[-1]:7.2f} ms  "
        f"(our process's CPU: median {cpu:5.2f} ms)"
    )


def timed(n: int, step: Callable[[int], None]) -> list[tuple[float, float]]:
    """(wall, CPU of this process) seconds per step: the CPU figure shows the cost without the machine's load."""
    out = []
    for i in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        step(i)
        out.append((time.perf_counter() - t0, time.process_time() - c0))
    return out


def run(store: Store, n: int, label: str) -> list[str]:
    drafts = [
        draft_from(
            {
                "nature": ("投诉", "咨询", "求助")[i % 3],
                "description": f"第{i}号诉求：小区供暖温度不达标，室温十四度",
                "district": "铁东区",
                "leaf_code": f"101.0{i % 7}",
                "address": "鞍山市铁东区胜利路某小区",
                "caller_name": "王先生",
                "caller_phone": f"1381234{i % 500:04d}",  # some callers repeat
            }
        )
        for i in range(n + WARMUP)
    ]
    numbers: list[str] = []
    start = dt.datetime.now(dt.UTC)

    def save(i: int) -> None:
        with store.session() as s:
            t = create_ticket(
                s, drafts[i], ACTOR, start + dt.timedelta(seconds=i), client_request_id=str(uuid.uuid4())
            )
            numbers.append(t.number)

    def dispatch(i: int) -> None:
        with store.session() as s:
            ticket = find_ticket(s, numbers[i])
            assert ticket is not None
            apply_command(
                s, ticket, "dispatch", ACTOR, start + dt.timedelta(hours=1), department="市供暖公司"
            )

    timed(WARMUP, save)
    saves = timed(n, lambda i: save(WARMUP + i))
    dispatches = timed(n, lambda i: dispatch(WARMUP + i))
    return [report(f"{label} create_ticket", saves), report(f"{label} dispatch (find+command)", dispatches)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    opts = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    lines: list[str] = []
    if opts.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-save-") as tmp:
            store = open_store(f"sqlite:///{Path(tmp) / 'hotline.sqlite3'}")
            try:
                lines += run(store, opts.n, "sqlite")
            finally:
                store.close()
    if opts.backend in ("postgresql", "both"):
        with running_pg() as pg:
            store = open_store(pg.url(pg.create_db()))
            try:
                lines += run(store, opts.n, "postgresql")
            finally:
                store.close()
    print("\n".join(lines))


if __name__ == "__main__":
    main()
