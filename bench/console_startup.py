"""Cold start of the console to an interactive login screen, and resident memory with the taxonomy.

    .venv/bin/python bench/console_startup.py [--runs 10]

Each run is a fresh Python process (cold imports): it opens a SQLite store (migrated beforehand, as
after ``hotline db upgrade``), builds ``HotlineApp`` on a SimLine and runs it headless; the time is
from just before the process is spawned to the first frame that shows the login screen (the child
writes a line on fd 1 from ``App._display``). Then one process logs in by itself with the real ticket
form (the full default taxonomy and its search index loaded, one search done) and reports its RSS
(VmRSS and VmHWM). Prints median / p95 / p99. Targets (issue 5): ≤ 1.5 s; RSS ≤ 200 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

CHILD = r"""
import os, sys
url, mode = sys.argv[1], sys.argv[2]
from console.app import HotlineApp
from console.bootstrap import SeatBuilder, SeatParts
from console.config import Config
from console.screens.login import LoginScreen
from store.db import open_store
from telephony.sim import SimLine

class Timed(HotlineApp):
    done = False
    def _display(self, screen, renderable):
        super()._display(screen, renderable)
        if self.done:
            return
        if mode == "login" and isinstance(screen, LoginScreen):
            self.done = True
            os.write(1, b"READY\n")
            self.exit()
        elif mode == "full" and getattr(screen, "form", None) is not None:
            self.done = True
            screen.form.tickets.search("nqbr")
            status = dict(l.split(":", 1) for l in open("/proc/self/status") if l.startswith(("VmRSS", "VmHWM")))
            os.write(1, ("RSS " + status["VmRSS"].split()[0] + " " + status["VmHWM"].split()[0] + "\n").encode())
            self.exit()

store = open_store(url, migrate=False)
line = SimLine([])
full = mode == "full"
seats = SeatBuilder(Config(), store, line, parts=SeatParts(tickets=full, worklists=False))
app = Timed(Config(), store, line, seats, auto_login="bench" if full else None)
if mode == "full":
    app.call_later(lambda: app.desk_screen() and app.desk_screen().action_new_ticket())
app.run(headless=True, size=(140, 40))
"""


def prepare(tmp: Path) -> str:
    from argon2 import PasswordHasher

    from store import users
    from store.db import open_store, utcnow

    url = f"sqlite:///{tmp / 'hotline.sqlite3'}"
    store = open_store(url)
    with store.session() as s:
        users.add_user(
            s,
            "bench",
            "operator",
            "pw",
            utcnow(),
            hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
        )
    store.close()
    return url


def child(url: str, mode: str) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, url, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
        env={**os.environ, "TEXTUAL": ""},
    )
    assert proc.stdout is not None
    line = ""
    for raw in proc.stdout:  # structlog's default setup prints to stdout too: skip its lines
        line = raw.decode(errors="replace").strip()
        if line == "READY" or line.startswith("RSS "):
            break
    elapsed = time.perf_counter() - t0
    proc.wait(60)
    return elapsed, line


def main() -> int:
    from percentiles import pct

    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    url = prepare(Path(tempfile.mkdtemp(prefix="startbench-")))
    child(url, "login")  # warm the OS file cache once (not counted)
    times = []
    for _ in range(args.runs):
        elapsed, line = child(url, "login")
        if line != "READY":
            print(f"child failed: {line!r}")
            return 1
        times.append(elapsed * 1000)
    print(
        f"cold start → login screen drawn, {len(times)} runs: median {statistics.median(times):.0f} ms, "
        f"p95 {pct(times, 95):.0f} ms, p99 {pct(times, 99):.0f} ms"
    )
    _, line = child(url, "full")
    if not line.startswith("RSS"):
        print(f"child failed: {line!r}")
        return 1
    rss, hwm = (int(x) / 1024 for x in line.split()[1:])
    print(f"RSS with the full taxonomy and the ticket form: {rss:.0f} MB (peak {hwm:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
