"""``hotline demo``: everything on this machine with nothing configured.

By default it starts the operator console: a SQLite store in a demo folder seeded with a month of
history, the built-in taxonomy, the reference city backend on loopback holding that history, with
the sync worker sending it the new tickets and changes, and the simulated line ringing realistic
calls at the ``[demo]`` pace (every 60-120 s; ``--busy``: every 8-20 s), repeat callers from the
history among them. A demo operator is logged in by itself, so the first call rings a few seconds
after start. The folder is temporary and deleted on exit unless ``--data-dir`` names one.

``--no-ui`` keeps the guided tour on the command line: it writes the history, prints the centre's
KPIs, classifies a few things callers say, and lets the simulated line ring a few calls that a
scripted operator answers (or that hang up while ringing).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

    from console.cli import CommandContext
    from taxonomy.search import Searcher

DEMO_QUERIES = ("楼上漏水", "暖气不热乎", "nqbr", "dt困人", "包工头欠工资不给", "楼道里有煤气味")


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    demo = subparsers.add_parser(
        "demo", help="run the demo: a seeded store, KPIs, search and a simulated line"
    )
    demo.add_argument(
        "--data-dir",
        type=Path,
        help="keep the demo store in this folder (default: a temporary folder, deleted on exit)",
    )
    demo.add_argument(
        "--tickets", type=int, metavar="N", help="history to seed (default 1000; 3000 with --no-ui)"
    )
    demo.add_argument(
        "--calls", type=int, metavar="N", help="simulated calls to ring (default 200; 4 with --no-ui)"
    )
    demo.add_argument("--no-ui", action="store_true", help="the command-line tour instead of the console")
    demo.add_argument("--no-backend", action="store_true", help="do not start the reference city backend")
    demo.add_argument(
        "--busy", action="store_true", help="stress mode: a call every 8-20 s (same as [demo] busy = true)"
    )
    demo.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace, ctx: CommandContext) -> int:
    if args.no_ui:
        args.tickets = 3000 if args.tickets is None else args.tickets
        args.calls = 4 if args.calls is None else args.calls
        return run_tour(args, ctx)
    from console.commands._demo_ui import run_demo_ui

    return run_demo_ui(args, ctx)


def run_tour(args: argparse.Namespace, ctx: CommandContext) -> int:
    from console.commands._demo_ui import demo_folder

    with demo_folder(args.data_dir) as folder:
        print(f"== demo store: {folder.url}")
        _tour(folder.url, args, ctx)
    print(f"\n{folder.farewell()}")
    return 0


def _tour(url: str, args: argparse.Namespace, ctx: CommandContext) -> None:
    from console.commands import format_table
    from console.commands._demo_ui import seed_demo_store
    from console.commands.kpi import CALL_COLUMNS, CASE_COLUMNS, table_row
    from store.db import open_store
    from store.kpi.report import compute_kpis
    from taxonomy.model import load_taxonomy
    from taxonomy.search import Searcher

    config = ctx.config
    store = open_store(url)
    try:
        taxonomy = load_taxonomy(config.taxonomy.path)
        report = seed_demo_store(store, config, taxonomy, args.tickets)
        print(
            f"   seeded {report.tickets} tickets, {report.calls} calls, {report.callers} callers "
            f"in {report.seconds:.1f} s"
        )

        print("\n== KPIs of the last 30 days (hotline kpi)")
        with store.read() as session:
            data = compute_kpis(
                session, None, None, None, accept_within_hours=config.deadlines.accept_within_hours
            ).as_json()
        print(
            format_table(
                [table_row(data["total"], "(all)")],
                ["group", "received", "closed", *CASE_COLUMNS, "offered", *CALL_COLUMNS],
            )
        )

        print("\n== classifying what callers say (hotline taxonomy search)")
        searcher = Searcher(taxonomy)
        for line in classification_lines(searcher, DEMO_QUERIES):
            print(line)

        print("\n== the simulated line (hotline agent on a SimLine)")
        _ring_simulated_calls(args.calls)
    finally:
        store.close()


def classification_lines(searcher: Searcher, queries: Sequence[str]) -> list[str]:
    """``query → best leaf (匹配：…)`` per query, the arrows in one column whatever the script:
    padded by terminal cells (a Chinese character takes two), not by characters."""
    from rich.cells import cell_len

    width = max((cell_len(q) for q in queries), default=0)
    out = []
    for query in queries:
        top = searcher.search(query, limit=1)
        shown = " › ".join(top[0].path) + f"  (匹配：{top[0].matched})" if top else "—"
        out.append(f"   {query}{' ' * (width - cell_len(query))}  → {shown}")
    return out


def _ring_simulated_calls(count: int) -> None:
    """Ring ``count`` scripted calls; every third caller gives up while it still rings."""
    from store.callers import mask_phone
    from telephony.events import CallOffered, Event
    from telephony.line import LineCommandError
    from telephony.sim import ScriptedCall, SimLine

    script = [
        ScriptedCall(
            caller=f"1390412{1000 + i * 37:04d}",
            ring_at=0.3 + i * 0.8,
            hangup_after=0.4 if i % 3 == 2 else 1.5,
        )
        for i in range(max(0, count))
    ]
    line = SimLine(script)
    all_ended = threading.Event()
    ended = 0
    lock = threading.Lock()

    def answer_soon(call_id: str) -> None:
        time.sleep(0.6)  # the operator reads the history pop, then answers
        with contextlib.suppress(LineCommandError):  # the caller may have hung up meanwhile
            line.answer(call_id)

    def on_event(event: Event) -> None:
        nonlocal ended
        data = {**event.to_dict(), "t": round(event.t, 3)}
        if isinstance(data.get("caller"), str):
            data["caller"] = mask_phone(data["caller"])
        with lock:
            print("   " + json.dumps(data, ensure_ascii=False), flush=True)
            ended += data["event"] == "call_ended"
            if ended >= len(script):
                all_ended.set()
        if isinstance(event, CallOffered):
            threading.Thread(target=answer_soon, args=(event.call_id,), daemon=True).start()

    line.start(on_event)
    all_ended.wait(timeout=3 + 1.5 * len(script))
    line.stop()
