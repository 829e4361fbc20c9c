"""A call offered on the line → the ringing visible on the operator's screen (headless, real app).

    .venv/bin/python bench/console_ring.py [--calls 60]

The real ``HotlineApp`` runs headless on a fresh SQLite store with a history for the caller; a
``SimLine`` on its real-time thread offers calls (the caller gives up after 0.3 s, so the desk goes back
to ready by itself). For each call it measures from the moment the line thread hands ``CallOffered``
to the app (``_from_line``: call log enqueue + ``post_message``) to the first frame composed after the
ringing pop shows that call (``App._display``, called once per frame in headless mode too).
Prints median / p95 / p99 in ms. Target (issue 5): median ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from helpers.desk_harness import CALLER, add_operator, make_config, seed_history  # noqa: E402
from percentiles import pct  # noqa: E402

from console.app import HotlineApp  # noqa: E402
from console.bootstrap import SeatBuilder, SeatParts  # noqa: E402
from console.widgets.ringing import RingingPop  # noqa: E402
from store.db import open_store  # noqa: E402
from telephony.events import CallOffered, Event  # noqa: E402
from telephony.sim import ScriptedCall, SimLine, ThreadScheduler  # noqa: E402


class TimedApp(HotlineApp):
    """The app, recording when each offer was posted and when its ringing was first drawn."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.posted: dict[str, float] = {}
        self.shown: dict[str, float] = {}

    def _from_line(self, event: Event) -> None:
        if isinstance(event, CallOffered):
            self.posted[event.call_id] = time.perf_counter()
        super()._from_line(event)

    def _display(self, screen: Any, renderable: Any) -> None:
        super()._display(screen, renderable)
        pops = screen.query(RingingPop)
        if pops:
            pop = pops.first()
            if pop.has_class("ringing") and pop.call_id and pop.call_id not in self.shown:
                self.shown[pop.call_id] = time.perf_counter()


async def run(calls: int) -> list[float]:
    store = open_store(f"sqlite:///{Path(tempfile.mkdtemp(prefix='ringbench-')) / 'hotline.sqlite3'}")
    add_operator(store)
    seed_history(store)
    script = [ScriptedCall(CALLER, ring_at=1.0 + i * 0.6, hangup_after=0.3) for i in range(calls)]
    line = SimLine(script, ThreadScheduler())
    config = make_config(wrapup_seconds=0)
    seats = SeatBuilder(config, store, line, parts=SeatParts(tickets=False, worklists=False))
    app = TimedApp(config, store, line, seats, auto_login="wang")
    async with app.run_test(size=(140, 40)) as pilot:
        end = time.monotonic() + 5 + calls * 0.6 + 10
        while len(app.shown) < calls and time.monotonic() < end:
            await pilot.pause(0.05)
    store.close()
    return [(app.shown[c] - t) * 1000 for c, t in app.posted.items() if c in app.shown]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=60)
    args = ap.parse_args()
    ms = asyncio.run(run(args.calls))
    if not ms:
        print("no ringing was shown")
        return 1
    print(
        f"offer → ringing frame, {len(ms)} calls: median {statistics.median(ms):.1f} ms, "
        f"p95 {pct(ms, 95):.1f} ms, p99 {pct(ms, 99):.1f} ms, max {max(ms):.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
