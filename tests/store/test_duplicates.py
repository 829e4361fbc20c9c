"""store.duplicates on SQLite and PostgreSQL: which open tickets count as a likely repeat, and why."""

from __future__ import annotations

import datetime as dt
from typing import Any

from store.db import Store
from store.duplicates import find_duplicates
from store.tickets import Actor, apply_command, create_ticket, draft_from, find_ticket

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
OPERATOR = Actor("alice", "operator", None)
PHONE = "+8613812345678"  # as the store keeps it (normalised)
HEATING = "101001"
ADDRESS = "胜利街道园林小区3栋2单元501"
DRAFT = {
    "nature": "投诉",
    "description": "家里暖气不热",
    "district": "铁东区",
    "leaf_code": HEATING,
    "address": ADDRESS,
    "caller_name": "王先生",
    "caller_phone": "13812345678",
}


def create(store: Store, at: dt.datetime, request_id: str, **overrides: Any) -> str:
    with store.session() as s:
        ticket = create_ticket(
            s, draft_from({**DRAFT, **overrides}), OPERATOR, at, client_request_id=request_id
        )
        return ticket.number


def numbers(store: Store, **query: Any) -> list[str]:
    with store.read() as s:
        return [d.number for d in find_duplicates(s, **query)]


def test_same_caller_or_same_place_newest_first_and_why(store: Store) -> None:
    caller_only = create(store, T0, "r1", leaf_code="106001", address="别处")
    place_only = create(store, T0 + dt.timedelta(hours=1), "r2", caller_phone="13900001111")
    both = create(store, T0 + dt.timedelta(hours=2), "r3")
    create(store, T0 + dt.timedelta(hours=3), "r4", caller_phone="13900001111", address="别处")  # neither
    with store.read() as s:
        found = find_duplicates(s, phone=PHONE, leaf_code=HEATING, address=ADDRESS, since=T0)
    assert [(d.number, d.same_caller, d.same_place) for d in found] == [
        (both, True, True),
        (place_only, False, True),
        (caller_only, True, False),
    ]
    assert (
        found[0].leaf_code == HEATING
        and found[0].address == ADDRESS
        and found[0].created_at == T0 + dt.timedelta(hours=2)
    )
    # the place needs both the leaf and the address; nothing to match on: nothing found
    assert numbers(store, phone=None, leaf_code=HEATING, address="", since=T0) == []
    assert numbers(store, phone=None, leaf_code=None, address=ADDRESS, since=T0) == []
    assert numbers(store, phone=None, leaf_code=HEATING, address=ADDRESS, since=T0) == [both, place_only]


def test_window_request_id_merged_and_limit(store: Store) -> None:
    old = create(store, T0, "old")
    newer = [create(store, T0 + dt.timedelta(hours=h), f"n{h}") for h in range(1, 4)]
    query: dict[str, Any] = {"phone": PHONE, "leaf_code": HEATING, "address": ADDRESS}
    assert numbers(store, **query, since=T0) == [*reversed(newer), old]
    assert numbers(store, **query, since=T0 + dt.timedelta(minutes=1)) == list(reversed(newer))
    # the form being filed (a retried save) is not its own duplicate
    assert numbers(store, **query, since=T0, exclude_request_id="n3") == [newer[1], newer[0], old]
    assert numbers(store, **query, since=T0, limit=2) == [newer[2], newer[1]]
    with store.session() as s:  # a merged ticket is done: never offered again
        child = find_ticket(s, newer[2])
        assert child is not None
        apply_command(s, child, "merge", OPERATOR, T0 + dt.timedelta(hours=4), parent_number=old)
    assert numbers(store, **query, since=T0) == [newer[1], newer[0], old]
