"""store.worklists.missed_calls: a caller who hung up on a ringing seat (振铃挂断) is told from one
who gave up in the queue (排队放弃), and each entry has the moment the citizen hung up."""

from __future__ import annotations

import datetime as dt
import uuid

from store import calls, worklists
from store.db import Store
from store.workcal import SHANGHAI
from store.worklists import SEAT_RINGING, missed_kind

T0 = dt.datetime(2026, 11, 20, 14, 35, tzinfo=SHANGHAI)
S = dt.timedelta(seconds=1)


def missed(
    store: Store,
    number: str,
    offered: dt.datetime,
    *,
    rang_after: float | None,
    ended_after: float,
    reason: str = "cancelled",
) -> str:
    call_id = uuid.uuid4().hex
    with store.session() as s:
        calls.open_call(
            s, call_id=call_id, direction="in", remote_number=number, display_name=None, at=offered
        )
        if rang_after is not None:
            calls.add_call_event(s, call_id, SEAT_RINGING, offered + rang_after * S, {"user_id": None})
        calls.end_call(s, call_id, offered + ended_after * S, reason)
    return call_id


def test_missed_kind_rules() -> None:
    assert missed_kind("cancelled", rang=True) == "ringing"
    assert missed_kind("cancelled", rang=False) == "queue"
    assert missed_kind(None, rang=False) == "queue"
    assert missed_kind("abandoned", rang=True) == "queue"  # said so explicitly (a PBX queue, the seed)
    assert missed_kind("rejected", rang=True) == "rejected"
    assert missed_kind("failed", rang=False) == "failed"


def test_ringing_hang_ups_and_queue_abandons_with_the_hang_up_time(sqlite_store: Store) -> None:
    # the walkthrough's case: in the queue from 14:35, rang at 14:39, the caller hung up ringing
    rang = missed(sqlite_store, "13100000009", T0, rang_after=230, ended_after=250)
    # waited 3 minutes in the queue and gave up without ever ringing a seat
    queued = missed(sqlite_store, "13100000010", T0 + 30 * S, rang_after=None, ended_after=180)
    seeded = missed(
        sqlite_store, "13100000011", T0 - 600 * S, rang_after=None, ended_after=40, reason="abandoned"
    )
    with sqlite_store.read() as s:
        rows = {m.call_id: m for m in worklists.missed_calls(s, T0 - dt.timedelta(hours=1))}
    assert (rows[rang].kind, rows[rang].rang) == ("ringing", True)
    assert (rows[queued].kind, rows[queued].rang) == ("queue", False)
    assert rows[seeded].kind == "queue"
    assert rows[rang].hung_up_at == T0 + 250 * S  # 14:39:10, not 14:35 when it came in
    assert rows[rang].hung_up_at.astimezone(SHANGHAI).strftime("%H:%M") == "14:39"
    assert rows[queued].hung_up_at == T0 + 210 * S
    # newest hang-up first: the ringing one (14:39:10) before the queue abandon (14:38:30)
    with sqlite_store.read() as s:
        order = [m.call_id for m in worklists.missed_calls(s, T0 - dt.timedelta(hours=1))]
    assert order == [rang, queued, seeded]


def test_a_queued_call_that_rang_later_is_a_ringing_hang_up(sqlite_store: Store) -> None:
    # offered while the seat was busy, rang once the operator was free, then the caller hung up
    call_id = missed(sqlite_store, "13100000012", T0, rang_after=95, ended_after=101)
    with sqlite_store.read() as s:
        (entry,) = worklists.missed_calls(s, T0 - dt.timedelta(hours=1))
    assert entry.call_id == call_id and entry.kind == "ringing"
