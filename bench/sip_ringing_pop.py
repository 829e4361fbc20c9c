"""The ringing pop: ``store.caller_history.caller_history`` latency on a real store.

    .venv/bin/python bench/sip_ringing_pop.py --url sqlite:///file:bench/out/BIG.sqlite3?mode=ro&uri=true
    .venv/bin/python bench/sip_ringing_pop.py                 # a fresh SQLite file seeded here

Picks callers of the store (the ones with the most tickets first, then random ones, and unknown
numbers), then times ``caller_history`` in a read transaction for each, as the console does when a
call is offered. Prints median / p95 / p99 in ms. The store is only read (open it read-only).
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import func, select

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "telephony"))

from percentiles import pct

from store import caller_history, calls
from store.db import Store, open_store
from store.models import Caller, Ticket


def seeded_store(n_callers: int) -> Store:
    """A fresh SQLite store with ``n_callers`` callers, 3 calls and 2 tickets each."""
    from store.tickets import Actor, create_ticket, draft_from

    path = Path(tempfile.mkdtemp(prefix="ringpop-")) / "hotline.sqlite3"
    store = open_store(f"sqlite:///{path}")
    now = dt.datetime.now(dt.UTC)
    actor = Actor("bench", "operator")
    with store.session() as s:
        for i in range(n_callers):
            phone = f"1380000{i:04d}"
            for k in range(3):
                calls.open_call(
                    s,
                    call_id=f"c{i}-{k}",
                    direction="in",
                    remote_number=phone,
                    display_name=None,
                    at=now - dt.timedelta(days=k * 7),
                )
            for k in range(2):
                create_ticket(
                    s,
                    draft_from({"nature": "咨询", "description": "bench", "caller_phone": phone}),
                    actor,
                    now - dt.timedelta(days=k * 20),
                )
    return store


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", help="the store to read (default: a fresh seeded SQLite file)")
    ap.add_argument("--lookups", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    store = open_store(args.url, migrate=False) if args.url else seeded_store(300)
    rng = random.Random(args.seed)
    with store.read() as s:
        heavy = list(
            s.scalars(
                select(Caller.phone)
                .join(Ticket, Ticket.caller_id == Caller.id)
                .group_by(Caller.phone)
                .order_by(func.count(Ticket.id).desc())
                .limit(args.lookups // 5)
            )
        )
        max_id = s.scalar(select(func.max(Caller.id))) or 1
        ids = [rng.randint(1, max_id) for _ in range(args.lookups)]
        rand = list(s.scalars(select(Caller.phone).where(Caller.id.in_(ids))))
        now = s.scalar(select(func.max(Ticket.created_at))) or dt.datetime.now(dt.UTC)
    unknown = [f"1399{rng.randint(0, 9_999_999):07d}" for _ in range(args.lookups // 10)]
    phones = (heavy + rand + unknown)[: args.lookups]
    rng.shuffle(phones)
    times, tickets, n_calls = [], 0, 0
    for phone in phones:
        t0 = time.perf_counter()
        with store.read() as s:
            h = caller_history.caller_history(s, phone, now)
        times.append(1000 * (time.perf_counter() - t0))
        tickets += len(h.tickets)
        n_calls += len(h.calls)
    store.close()
    print(
        f"store={args.url or 'seeded sqlite (300 callers)'} lookups={len(times)} "
        f"(heavy={len(heavy)} random={len(rand)} unknown={len(unknown)}) tickets={tickets} calls={n_calls}"
    )
    print(
        f"caller_history  median={statistics.median(times):6.2f} ms  p95={pct(times, 95):6.2f} ms  "
        f"p99={pct(times, 99):6.2f} ms  max={max(times):6.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
