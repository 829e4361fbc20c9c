"""Ticket numbers: format, Anshan date, gap-free after rollbacks, unique under several processes."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from store.db import Store
from store.models import Ticket, TicketCounter
from store.numbering import NumberingError, allocate_number, format_number, local_day, reserve_numbers

NOW = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)

# A seat: waits for the start signal, then creates tickets, one transaction each, and prints numbers.
# With a client request id every attempt is a retry of the same request.
WORKER = r"""
import datetime as dt, json, sys, time
from pathlib import Path
from store.db import open_store
from store.tickets import Actor, create_ticket, draft_from
url, count, now, go = sys.argv[1], int(sys.argv[2]), dt.datetime.fromisoformat(sys.argv[3]), Path(sys.argv[4])
request_id = sys.argv[6] or None
store = open_store(url, migrate=False)
draft = draft_from({"nature": "咨询", "description": "并发受理", "caller_phone": "13812345678"})
Path(sys.argv[5]).touch()  # ready
give_up = time.monotonic() + 30
while not go.exists() and time.monotonic() < give_up:
    time.sleep(0.01)
numbers = []
for _ in range(count):
    with store.session() as s:
        numbers.append(create_ticket(s, draft, Actor("seat", "operator"), now, client_request_id=request_id).number)
store.close()
print(json.dumps(numbers))
"""


def test_format_and_anshan_day() -> None:
    assert format_number("AS", "20261128", 123) == "AS20261128000123"
    assert local_day(dt.datetime(2026, 11, 27, 16, 0, tzinfo=dt.UTC)) == "20261128"  # midnight in Anshan
    assert local_day(dt.datetime(2026, 11, 27, 15, 59, tzinfo=dt.UTC)) == "20261127"
    with pytest.raises(NumberingError, match="timezone-aware"):
        local_day(dt.datetime(2026, 11, 28))


@pytest.mark.parametrize("prefix", ["", "as", "A-B", "TOOLONG7", "1AS"])
def test_bad_prefix(store: Store, prefix: str) -> None:
    with pytest.raises(NumberingError, match="prefix"), store.session() as s:
        allocate_number(s, NOW, prefix)


def test_sequence_per_day_and_prefix(store: Store) -> None:
    with store.session() as s:
        got = [allocate_number(s, NOW) for _ in range(3)]
        got.append(allocate_number(s, NOW + dt.timedelta(days=1)))
        got.append(allocate_number(s, NOW, prefix="QS"))
    assert got == [
        "AS20261128000001",
        "AS20261128000002",
        "AS20261128000003",
        "AS20261129000001",
        "QS20261128000001",
    ]


def test_rollback_leaves_no_gap(store: Store) -> None:
    with store.session() as s:
        allocate_number(s, NOW)
    with pytest.raises(RuntimeError), store.session() as s:
        allocate_number(s, NOW)
        raise RuntimeError("the ticket failed to save")
    with store.session() as s:
        assert allocate_number(s, NOW) == "AS20261128000002"


def test_reserve_a_block(store: Store) -> None:
    with store.session() as s:
        allocate_number(s, NOW)
        block = reserve_numbers(s, NOW.date(), 1000)
        after = allocate_number(s, NOW)
    assert block == range(2, 1002) and after == "AS20261128001002"
    with store.read() as s:
        assert s.scalar(select(TicketCounter.last).where(TicketCounter.day == "AS20261128")) == 1002


def run_seats(url: str, tmp_path: Path, seats: int, per_seat: int, request_id: str = "") -> list[str]:
    """Start ``seats`` processes together; return every number they got."""
    go, ready = tmp_path / "go", [tmp_path / f"ready{i}" for i in range(seats)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                WORKER,
                url,
                str(per_seat),
                NOW.isoformat(),
                str(go),
                str(ready[i]),
                request_id,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(seats)
    ]
    try:
        give_up = time.monotonic() + 60  # let every seat import and connect, so they really start together
        while not all(r.exists() for r in ready) and time.monotonic() < give_up:
            time.sleep(0.05)
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    return [n for out, _ in outputs for n in json.loads(out.strip().splitlines()[-1])]


def test_concurrent_processes_get_unique_gap_free_numbers(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    seats, per_seat = 4, 15
    numbers = run_seats(store_url, tmp_path, seats, per_seat)
    assert sorted(numbers) == [format_number("AS", "20261128", i) for i in range(1, seats * per_seat + 1)]


def test_concurrent_retries_of_one_request_make_one_ticket(
    store: Store, store_url: str, tmp_path: Path
) -> None:
    numbers = run_seats(store_url, tmp_path, 4, 5, request_id="seat7-000042")
    assert set(numbers) == {"AS20261128000001"}
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
        # the losers' savepoints were rolled back with their number: still gap-free
        assert s.scalar(select(TicketCounter.last)) == 1
