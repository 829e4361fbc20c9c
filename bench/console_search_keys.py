"""Key press in the taxonomy search → results drawn, measured inside the real ticket form (headless).

    .venv/bin/python bench/console_search_keys.py [--queries N] [--runs R]

The form runs under ``App.run_test`` on a temporary SQLite store with the built-in taxonomy. The app
records when each key event arrives (``App.on_event``) and when the first frame is composed after the
result list changed (``App._display``, called once per frame, also headless); the difference is the
latency the operator sees. Queries are the first N of bench/taxonomy_devset.jsonl, typed one committed
character at a time, then the same queries as pinyin initials letter by letter (cleared between
queries, not measured). Prints median / p95 / p99 in ms (target: median ≤ 40, p95 ≤ 60).

Frames are paced by Textual's ``TEXTUAL_FPS`` (60 unless set; ``hotline console`` sets it from
``[ui] fps``): run with ``TEXTUAL_FPS=30`` to measure at that setting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from helpers.ticket_fixtures import make_desk, operator  # noqa: E402
from helpers.ticket_host import FormHost  # noqa: E402
from percentiles import pct  # noqa: E402
from taxonomy_quality import DEVSET, load_devset  # noqa: E402
from textual import events  # noqa: E402

from store.db import open_store  # noqa: E402
from taxonomy.pinyin import pinyin_keys  # noqa: E402


class TimedHost(FormHost):
    """FormHost that timestamps key arrival and the first frame drawn after new results."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.key_at: float | None = None
        self.shown_at_key = 0
        self.samples: list[float] = []

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key) and self.key_at is None and self.is_mounted:
            self.key_at = time.perf_counter()
            self.shown_at_key = self.form.picker.results_view.shown
        await super().on_event(event)

    def _display(self, screen: Any, renderable: Any) -> None:
        super()._display(screen, renderable)
        if self.key_at is not None and self.form.picker.results_view.shown > self.shown_at_key:
            self.samples.append((time.perf_counter() - self.key_at) * 1000)
            self.key_at = None


async def run(queries: list[str]) -> tuple[list[float], int]:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.sqlite3")
        app = TimedHost(make_desk(store, operator(store)))
        keys = 0
        async with app.run_test(size=(120, 50)) as pilot:
            box = app.form.picker.search_box
            for query in queries:
                box.value = ""
                app.form.focus_search()
                await pilot.pause()
                app.key_at = None
                for ch in query:
                    await pilot.press(ch)
                    keys += 1
                    for _ in range(50):  # bounded: the frame normally follows within a tick
                        if app.key_at is None:
                            break
                        await pilot.pause(0.01)
                    app.key_at = None
        store.close()
        return app.samples, keys


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--queries", type=int, default=40)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args(argv)
    chinese = [c.query for c in load_devset(DEVSET)[: args.queries]]
    initials = [pinyin_keys(q)[1] for q in chinese]
    print(f"TEXTUAL_FPS={os.environ.get('TEXTUAL_FPS', '60 (Textual default)')}, {len(chinese)} queries")
    for label, queries in (("chinese", chinese), ("initials", initials)):
        samples: list[float] = []
        keys = 0
        for _ in range(args.runs):
            got, n = asyncio.run(run(queries))
            samples += got
            keys += n
        print(
            f"{label:<9} keys={keys} frames={len(samples)}  key→results drawn: median {statistics.median(samples):.1f} ms"
            f"  p95 {pct(samples, 95):.1f} ms  p99 {pct(samples, 99):.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
