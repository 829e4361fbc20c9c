"""Benchmark: `hotline kpi` over a seeded history of 1,000,000 tickets, on SQLite and PostgreSQL.

Usage: .venv/bin/python bench/kpi.py [--tickets 1000000] [--days 730] [--runs 30]
                                     [--backend sqlite|postgresql|both] [--explain] [--refresh]

The history is seeded once (store.seed, seed 1, ending 2026-11-28) into a cached SQLite file under
bench/out/ (gitignored) and reused. PostgreSQL (a throwaway server from tests/helpers/pgserver.py) is loaded
from that file with COPY: callers, tickets, calls and evaluations — not the ~35 events per ticket,
which no KPI reads — then the roll-ups are rebuilt and the tables analysed.

For each grouping (none, board, department, district, day, leaf) and two periods (everything; the
last 30 days) ``compute_kpis`` runs ``--runs`` times after 3 warm-ups; median/p95/p99 in ms are
printed with the source used (roll-up or tables). ``--explain`` prints the query plan of every
statement one report issues. ``--refresh`` adds the case of a report right after 100 ticket updates
spread over the last 30 days (each run: one transaction of 100 single-ticket UPDATEs that rewrite a
watched column with its own value, so the triggers mark ~30 days dirty without changing the history;
then one timed report, which refreshes those days first). Target (issue 2): <= 300 ms over 1,000,000
tickets.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import Engine, bindparam, event, select

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from helpers.pgserver import running_pg  # noqa: E402
from percentiles import pct  # noqa: E402

from store.db import Store, open_store  # noqa: E402
from store.kpi.report import compute_kpis  # noqa: E402
from store.kpi.rollups import rebuild_rollups, refresh_rollups, rollups_built  # noqa: E402
from store.models import Ticket  # noqa: E402
from store.seed import seed  # noqa: E402

OUT = ROOT / "bench" / "out"
UNTIL = dt.datetime(2026, 11, 28, 0, 0, tzinfo=dt.UTC)
GROUPINGS: tuple[str | None, ...] = (None, "board", "department", "district", "day", "leaf")
COPIED_TABLES = ("callers", "tickets", "calls", "evaluations")  # in foreign-key order
WARMUP = 3


def cached_history(tickets: int, days: int) -> Path:
    """The seeded SQLite file, created on first use."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"kpi-{tickets}-{days}-seed1.sqlite3"
    if path.exists():
        return path
    tmp = path.with_suffix(".partial")
    for f in OUT.glob(tmp.name + "*"):
        f.unlink()
    store = open_store(f"sqlite:///{tmp}")
    t0 = time.perf_counter()
    last = [t0]

    def progress(done: int, total: int) -> None:
        if time.perf_counter() - last[0] > 30 or done == total:
            last[0] = time.perf_counter()
            print(f"  seeded {done:,}/{total:,} tickets in {last[0] - t0:.0f} s", flush=True)

    report = seed(
        store, tickets=tickets, days=days, seed=1, until=UNTIL, batch_size=10_000, progress=progress
    )
    print(
        f"seed: {report.tickets:,} tickets, {report.events:,} events, {report.calls:,} calls, "
        f"{report.callers:,} callers in {report.seconds:.1f} s (incl. roll-up rebuild)",
        flush=True,
    )
    store.close()  # the last connection closing checkpoints the WAL into the file
    tmp.rename(path)
    return path


def sqlite_rows(path: Path, table: str, columns: list[str]) -> Iterator[tuple[Any, ...]]:
    src = sqlite3.connect(path)
    try:
        cur = src.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY rowid")
        while chunk := cur.fetchmany(50_000):
            yield from chunk
    finally:
        src.close()


def load_into_pg(path: Path, store: Store) -> None:
    t0 = time.perf_counter()
    with store.engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL TIME ZONE 'UTC'")  # SQLite holds UTC wall-clock text
        raw = conn.connection.driver_connection
        for table in COPIED_TABLES:
            columns = [r[1] for r in sqlite3.connect(path).execute(f"PRAGMA table_info({table})")]
            with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[union-attr]
                for row in sqlite_rows(path, table, columns):
                    copy.write_row(row)
        rebuild_rollups(conn)
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
    print(
        f"postgresql: loaded {', '.join(COPIED_TABLES)} and rebuilt roll-ups in {time.perf_counter() - t0:.0f} s"
    )


def statements_of_one_report(
    engine: Engine, store: Store, by: str | None, period: tuple[dt.date | None, dt.date | None]
) -> list[tuple[str, Any]]:
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with store.read() as s:
            compute_kpis(s, *period, by, now=UNTIL)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    return seen


def explain(store: Store, by: str | None, period: tuple[dt.date | None, dt.date | None]) -> None:
    sqlite = store.dialect == "sqlite"
    for statement, params in statements_of_one_report(store.engine, store, by, period):
        if not statement.lstrip().upper().startswith("SELECT"):
            continue
        prefix = "EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) "
        with store.engine.connect() as conn:
            rows = conn.exec_driver_sql(prefix + statement, params).all()
        first = " ".join(statement.split())[:160]
        print(f"    -- {first}...")
        for row in rows:
            print("       " + (row[-1] if sqlite else row[0]))


def bench(store: Store, runs: int, label: str, do_explain: bool) -> None:
    last30 = ((UNTIL - dt.timedelta(days=30)).date(), UNTIL.date())
    for period_name, period in (("all", (None, None)), ("last 30 days", last30)):
        for by in GROUPINGS:
            samples = []
            source = ""
            for i in range(WARMUP + runs):
                t0 = time.perf_counter()
                with store.read() as s:
                    rep = compute_kpis(s, *period, by, now=UNTIL)
                if i >= WARMUP:
                    samples.append((time.perf_counter() - t0) * 1000)
                source = rep.source
            ms = sorted(samples)
            print(
                f"{label:<10} {period_name:<13} by={by or '-':<10} source={source:<7} n={len(ms)} "
                f"median={statistics.median(ms):7.1f} ms  p95={pct(ms, 95):7.1f} ms  "
                f"p99={pct(ms, 99):7.1f} ms  groups={len(rep.groups)}",
                flush=True,
            )
            if do_explain and period_name == "all" and by in (None, "leaf"):
                explain(store, by, period)


def bench_refresh(store: Store, runs: int, label: str) -> None:
    """A report right after 100 ticket updates spread over the last 30 days (it refreshes ~30 days)."""
    t = Ticket.__table__
    since = UNTIL - dt.timedelta(days=30)
    with store.read() as s:
        ids = s.execute(select(t.c.id).where(t.c.created_at >= since)).scalars().all()
    rng = random.Random(1)
    touch = t.update().where(t.c.id == bindparam("tid"))
    samples, dirty = [], 0
    for i in range(WARMUP + runs):
        with store.engine.begin() as conn:
            conn.execute(
                touch.values(satisfaction=t.c.satisfaction), [{"tid": x} for x in rng.sample(ids, 100)]
            )
            dirty = conn.exec_driver_sql("SELECT count(*) FROM kpi_dirty_days").scalar_one()
        t0 = time.perf_counter()
        with store.read() as s:
            rep = compute_kpis(s, None, None, None, now=UNTIL)
        if i >= WARMUP:
            samples.append((time.perf_counter() - t0) * 1000)
    ms = sorted(samples)
    print(
        f"{label:<10} after 100 updates (~{dirty} dirty days) by=-  source={rep.source:<7} n={len(ms)} "
        f"median={statistics.median(ms):7.1f} ms  p95={pct(ms, 95):7.1f} ms  "
        f"p99={pct(ms, 99):7.1f} ms",
        flush=True,
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tickets", type=int, default=1_000_000)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--explain", action="store_true")
    ap.add_argument("--refresh", action="store_true", help="also: a report right after 100 ticket updates")
    args = ap.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    path = cached_history(args.tickets, args.days)
    print(f"history: {path} ({path.stat().st_size / 1e9:.2f} GB)")
    if args.backend in ("sqlite", "both"):
        store = open_store(f"sqlite:///{path}")
        with store.engine.begin() as conn:
            if not rollups_built(conn):  # a cache seeded by an older roll-up definition
                t0 = time.perf_counter()
                rebuild_rollups(conn)
                print(f"sqlite: rebuilt the roll-ups in {time.perf_counter() - t0:.1f} s")
        with store.engine.begin() as conn:  # e.g. a cache from before migration 0003 marked every day dirty
            t0 = time.perf_counter()
            days = refresh_rollups(conn)
            if days:
                print(f"sqlite: refreshed {days} dirty days in {time.perf_counter() - t0:.1f} s")
        bench(store, args.runs, "sqlite", args.explain)
        if args.refresh:
            bench_refresh(store, args.runs, "sqlite")
        store.close()
    if args.backend in ("postgresql", "both"):
        with running_pg() as pg:
            store = open_store(pg.url(pg.create_db()))
            load_into_pg(path, store)
            bench(store, args.runs, "postgresql", args.explain)
            if args.refresh:
                bench_refresh(store, args.runs, "postgresql")
            store.close()


if __name__ == "__main__":
    main()
