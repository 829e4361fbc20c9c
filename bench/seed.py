"""Benchmark: the history generator (`hotline seed --tickets N`).

Usage: .venv/bin/python bench/seed.py [--tickets 100000] [--days D] [--backend sqlite|postgresql|both]
                                      [--tree placeholder|taxonomy]

SQLite writes a fresh file in a temporary folder (the store's own settings: WAL, synchronous=NORMAL);
PostgreSQL a fresh database on a throwaway server started by tests/helpers/pgserver.py (fsync off there).
Prints wall and CPU seconds, rows written and throughput. The days default to N / 1,400 (the seed
platform's ~1,400 requests a day). ``--tree taxonomy`` seeds over the real taxonomy (about 3,300 leaves,
as ``hotline seed`` does by default) instead of the placeholder tree. Target (issue 2): 1,000,000 tickets <= 10 minutes on SQLite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import tempfile
import time
from pathlib import Path

import structlog

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.pgserver import running_pg  # noqa: E402

from store.db import Store, open_store  # noqa: E402
from store.seed import seed  # noqa: E402
from store.seed_data import PLACEHOLDER_LEAVES, SeedLeaf, leaves_from_taxonomy  # noqa: E402

UNTIL = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)


def taxonomy_leaves() -> tuple[SeedLeaf, ...]:
    from taxonomy.model import load_departments, load_taxonomy

    names = {d.id: d.name for d in load_departments().values()}
    return leaves_from_taxonomy(load_taxonomy().leaves(), names)


def run(store: Store, tickets: int, days: int, label: str, leaves: tuple[SeedLeaf, ...]) -> None:
    cpu0, t0 = time.process_time(), time.perf_counter()
    report = seed(store, tickets=tickets, days=days, seed=1, until=UNTIL, batch_size=10_000, leaves=leaves)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    print(
        f"{label:<10} tickets={report.tickets:,} events={report.events:,} calls={report.calls:,} "
        f"callers={report.callers:,} evaluations={report.evaluations:,}  wall={wall:.1f} s  "
        f"cpu(python)={cpu:.1f} s  {report.tickets / wall:,.0f} tickets/s  "
        f"(1,000,000 at this rate: {1_000_000 / (report.tickets / wall) / 60:.1f} min)",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=100_000)
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--tree", choices=("placeholder", "taxonomy"), default="placeholder")
    args = ap.parse_args()
    leaves = PLACEHOLDER_LEAVES if args.tree == "placeholder" else taxonomy_leaves()
    days = args.days or max(1, args.tickets // 1400)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="hotline-seed-") as tmp:
            store = open_store(f"sqlite:///{Path(tmp) / 'seed.sqlite3'}")
            run(store, args.tickets, days, "sqlite", leaves)
            store.close()
    if args.backend in ("postgresql", "both"):
        with running_pg() as pg:
            store = open_store(pg.url(pg.create_db()))
            run(store, args.tickets, days, "postgresql", leaves)
            store.close()


if __name__ == "__main__":
    main()
