"""Operator effort in the real taxonomy picker: keystrokes until the right leaf is among the first three shown.

    .venv/bin/python bench/console_effort.py [--limit N]

Drives the ticket form headless (``App.run_test``, temporary SQLite store, built-in taxonomy) over
bench/taxonomy_devset.jsonl. Each query is entered prefix by prefix into the search box (the form
searches on each change, exactly as when typed) and the three first lines of the result list are read
back. Two strategies: the Chinese query one committed character per keystroke, and the pinyin
initials of the query one letter per keystroke. A query that never gets there costs its length + 3
(the cost of scrolling on), as in bench/taxonomy_quality.py. Prints the mean, median / p95 / p99 of
keystrokes, the share reached, and the share picked at once by digit 1 (the right leaf first).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "bench")]

from helpers.ticket_fixtures import make_desk, operator  # noqa: E402
from helpers.ticket_host import FormHost  # noqa: E402
from percentiles import pct  # noqa: E402
from taxonomy_quality import DEVSET, NEVER_PENALTY, TOP_FOR_KEYSTROKES, Case, load_devset, units  # noqa: E402

from store.db import open_store  # noqa: E402
from taxonomy.pinyin import pinyin_keys  # noqa: E402


async def effort(cases: Sequence[Case], initials: bool) -> tuple[list[int], int, int]:
    """Keystrokes per case, how many reached the top 3, how many ended with the right leaf first."""
    costs: list[int] = []
    reached = first = 0
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.sqlite3")
        app = FormHost(make_desk(store, operator(store)))
        async with app.run_test(size=(120, 50)) as pilot:
            box, view = app.form.picker.search_box, app.form.picker.results_view
            for case in cases:
                query = pinyin_keys(case.query)[1] if initials else case.query
                cost = len(query) + NEVER_PENALTY
                for typed in units(query):
                    box.value = typed
                    await pilot.pause()
                    shown = [r.code for r in view.results[:TOP_FOR_KEYSTROKES]]
                    if case.gold & set(shown):
                        cost = len(typed)
                        reached += 1
                        first += shown[0] in case.gold
                        break
                costs.append(cost)
                box.value = ""
        store.close()
    return costs, reached, first


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=int, default=0, help="only the first N cases (0: all)")
    args = ap.parse_args(argv)
    cases = load_devset(DEVSET)
    if args.limit:
        cases = cases[: args.limit]
    for label, initials in (("chinese", False), ("initials", True)):
        costs, reached, first = asyncio.run(effort(cases, initials))
        n = len(costs)
        print(
            f"{label:<9} n={n}  keystrokes→top3 mean {statistics.mean(costs):.2f}  median {statistics.median(costs):.0f}"
            f"  p95 {pct(costs, 95):.0f}  p99 {pct(costs, 99):.0f}  reached {100 * reached / n:.1f}%"
            f"  right leaf first when reached {100 * first / max(reached, 1):.1f}%"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
