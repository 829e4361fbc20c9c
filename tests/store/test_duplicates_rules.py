"""store.duplicates on a real SQLite store: what each candidate offers (并单 / 跟进 / 重办 / 新建并关联).

The same caller alone is a follow-up, never a merge; a merge needs the same matter (leaf or domain)
at the same place and a ticket still being handled; an answered, closed, evaluated or archived
duplicate offers 重办 (when it was dispatched) and a new ticket that links it instead.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import pytest
from sqlalchemy import select

from store.db import Store
from store.duplicates import (
    Duplicate,
    check_merge_into,
    find_duplicates,
    link_new,
    matter_codes,
    place_key,
    reopen,
    same_place,
)
from store.lifecycle import NOTE_FIELD, LifecycleError
from store.models import TicketEvent
from store.tickets import Actor, TicketError, apply_command, create_ticket, draft_from, find_ticket
from taxonomy.model import Taxonomy, load_taxonomy

T0 = dt.datetime(2026, 12, 1, 6, 0, tzinfo=dt.UTC)
OPERATOR = Actor("alice", "operator", None)
SUPERVISOR = Actor("bob", "supervisor", None)
DEPT = Actor("cgj", "department")
PHONE = "+8613100000014"  # as the store keeps it (normalised)
OTHER_PHONE = "13900001111"
STREET_LIGHT = "116001"  # 路灯与照明 › 路灯不亮
LIGHT_FLICKERS = "116003"  # 路灯与照明 › 路灯忽明忽暗: the same domain
ESTATE_LIGHT = "107044"  # 物业服务 › 小区路灯不亮: another domain
PHONE_CARD = "316027"  # 电信服务 › 被冒名办理电话卡
DISTRICT = "铁西区"
ADDRESS = "兴盛街道兴盛路88号"
DRAFT = {
    "nature": "投诉",
    "description": "路灯不亮",
    "district": DISTRICT,
    "leaf_code": STREET_LIGHT,
    "address": ADDRESS,
    "caller_name": "张先生",
    "caller_phone": OTHER_PHONE,
}


@lru_cache(maxsize=1)
def tree() -> Taxonomy:
    return load_taxonomy()


def create(store: Store, request_id: str, *, at: dt.datetime = T0, then: str = "", **fields: Any) -> str:
    """A ticket from DRAFT with ``fields``, then walked to ``then`` (a status or "direct")."""
    with store.session() as s:
        t = create_ticket(s, draft_from({**DRAFT, **fields}), OPERATOR, at, client_request_id=request_id)
        step = at
        if then == "direct":
            apply_command(s, t, "close_direct", OPERATOR, step, answer="已解答")
            return t.number
        walk = ("dispatch", "accept", "reply", "close", "evaluate", "archive")
        stop = {"": 0, "已派单": 1, "已签收": 2, "已答复": 3, "已办结": 4, "已回访": 5, "已归档": 6}[then]
        args: dict[str, dict[str, Any]] = {
            "dispatch": {"department": "市城管局"},
            "reply": {"answer": "已修复"},
            "evaluate": {"satisfaction": "满意"},
        }
        actors = {"accept": DEPT, "reply": DEPT, "archive": SUPERVISOR}
        for command in walk[:stop]:
            step += dt.timedelta(minutes=10)
            apply_command(s, t, command, actors.get(command, OPERATOR), step, **args.get(command, {}))
        assert then in ("", t.status)
        return t.number


def found(store: Store, **query: Any) -> list[Duplicate]:
    base: dict[str, Any] = {
        "phone": PHONE,
        "leaf_code": STREET_LIGHT,
        "district": DISTRICT,
        "address": ADDRESS,
        "since": T0,
        "taxonomy": tree(),
    }
    with store.read() as s:
        return find_duplicates(s, **{**base, **query})


def offers(store: Store, **query: Any) -> dict[str, tuple[str, ...]]:
    return {d.number: d.offers for d in found(store, **query)}


def notes(store: Store, number: str) -> list[str]:
    with store.read() as s:
        ticket = find_ticket(s, number)
        assert ticket is not None
        rows = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id, TicketEvent.field == NOTE_FIELD)
        )
        return [e.reason or "" for e in rows]


def test_the_walkthrough_same_caller_other_matter_and_place_is_a_follow_up_only(
    sqlite_store: Store,
) -> None:
    # newcomer walkthrough defect 4: 13100000014 reports 路灯不亮; his earlier 被冒名办理电话卡 ticket at
    # another address, already 已回访, was offered first as a merge target
    earlier = create(
        sqlite_store,
        "r1",
        then="已回访",
        leaf_code=PHONE_CARD,
        district="立山区",
        address="民生路192号",
        caller_phone="13100000014",
        caller_name="杨先生",
    )
    [dup] = found(sqlite_store)
    assert dup.number == earlier and dup.status == "已回访"
    assert (dup.same_caller, dup.same_matter, dup.same_place, dup.duplicate) == (True, False, False, False)
    assert dup.offers == ("follow",) and dup.reasons == ("same_caller",)
    # the same caller, an open ticket about something else at the same address: still only a follow-up
    open_other = create(
        sqlite_store, "r2", at=T0 + dt.timedelta(hours=1), leaf_code=PHONE_CARD, caller_phone="13100000014"
    )
    assert offers(sqlite_store)[open_other] == ("follow",)
    # the same caller, the same matter elsewhere: a follow-up, not a merge
    elsewhere = create(
        sqlite_store, "r3", at=T0 + dt.timedelta(hours=2), address="兴盛路90号", caller_phone="13100000014"
    )
    assert offers(sqlite_store)[elsewhere] == ("follow",)
    # another caller's tickets that share only the matter or only the place are no candidates at all
    create(sqlite_store, "r4", at=T0 + dt.timedelta(hours=3), address="兴盛路90号")
    create(sqlite_store, "r5", at=T0 + dt.timedelta(hours=3), leaf_code=PHONE_CARD)
    create(sqlite_store, "r6", at=T0 + dt.timedelta(hours=3), leaf_code=ESTATE_LIGHT)  # another domain
    create(sqlite_store, "r7", at=T0 + dt.timedelta(hours=3), district="铁东区")  # another district
    assert set(offers(sqlite_store)) == {earlier, open_other, elsewhere}


@pytest.mark.parametrize("status", ["", "已派单", "已签收"])
def test_same_matter_and_place_still_handled_offers_a_merge(sqlite_store: Store, status: str) -> None:
    other_caller = create(sqlite_store, "r1", then=status)
    # the address as another operator typed it: with the district, a blank and a full-width digit
    same_caller = create(
        sqlite_store,
        "r2",
        at=T0 + dt.timedelta(hours=1),
        then=status,
        leaf_code=LIGHT_FLICKERS,
        address="鞍山市铁西区 兴盛街道兴盛路８８号",
        caller_phone="13100000014",
    )
    [newest, oldest] = found(sqlite_store)
    assert (newest.number, oldest.number) == (same_caller, other_caller)
    assert oldest.offers == ("merge",) and oldest.reasons == ("same_leaf", "same_place")
    assert newest.offers == ("merge", "follow")
    assert newest.reasons == ("same_caller", "same_matter", "same_place")  # the domain, not the leaf
    with sqlite_store.read() as s:
        assert check_merge_into(s, other_caller).number == other_caller
    # without a taxonomy only the same leaf is the same matter
    assert set(offers(sqlite_store, taxonomy=None, phone=None)) == {other_caller}


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("已答复", ("reopen", "link_new")),
        ("已办结", ("reopen", "link_new")),
        ("已回访", ("reopen", "link_new")),
        ("已归档", ("link_new",)),  # the lifecycle re-handles no archived ticket
        ("direct", ("link_new",)),  # closed by the hotline itself: no department to re-handle it
    ],
)
def test_same_matter_and_place_but_done_offers_no_merge(
    sqlite_store: Store, status: str, expected: tuple[str, ...]
) -> None:
    done = create(sqlite_store, "r1", then=status, caller_phone="13100000014")
    [dup] = found(sqlite_store, phone=None)
    assert dup.number == done and dup.duplicate and "merge" not in dup.offers
    assert dup.offers == expected
    with sqlite_store.read() as s, pytest.raises(LifecycleError, match="no longer takes merged"):
        check_merge_into(s, done)
    # the same caller may also call about it
    assert offers(sqlite_store)[done] == (*expected, "follow")


def test_a_ticket_closed_within_the_window_is_offered_though_created_before(sqlite_store: Store) -> None:
    old = create(sqlite_store, "r1", at=T0 - dt.timedelta(days=10), then="已签收")
    with sqlite_store.session() as s:  # replied and closed after the window began, ten days after filing
        ticket = find_ticket(s, old)
        assert ticket is not None
        apply_command(s, ticket, "reply", DEPT, T0, answer="已修复")
        apply_command(s, ticket, "close", OPERATOR, T0 + dt.timedelta(hours=1))
    assert offers(sqlite_store, phone=None) == {old: ("reopen", "link_new")}
    assert offers(sqlite_store, phone=None, since=T0 + dt.timedelta(hours=2)) == {}


def test_duplicates_come_before_the_callers_other_tickets(sqlite_store: Store) -> None:
    duplicate = create(sqlite_store, "r1")
    callers = create(
        sqlite_store, "r2", at=T0 + dt.timedelta(hours=1), leaf_code=PHONE_CARD, caller_phone="13100000014"
    )
    assert [d.number for d in found(sqlite_store)] == [duplicate, callers]
    assert [d.number for d in found(sqlite_store, limit=1)] == [duplicate]


def test_reopen_rehandles_for_a_supervisor_and_records_a_request_for_an_operator(
    sqlite_store: Store,
) -> None:
    closed = create(sqlite_store, "r1", then="已办结")
    evaluated = create(sqlite_store, "r2", then="已回访")
    later = T0 + dt.timedelta(days=1)
    with sqlite_store.session() as s:
        assert reopen(s, closed, OPERATOR, later, reason="路灯仍然不亮") == "requested"
        assert reopen(s, evaluated, SUPERVISOR, later, reason="路灯仍然不亮") == "rehandled"
    with sqlite_store.read() as s:
        requested, rehandled = find_ticket(s, closed), find_ticket(s, evaluated)
        assert requested is not None and rehandled is not None
        assert (requested.status, requested.rehandle_count) == ("已办结", 0)
        assert (rehandled.status, rehandled.rehandle_count) == ("办理中", 1)
    assert notes(sqlite_store, closed) == ["重办申请：路灯仍然不亮"]
    # a ticket that cannot be re-handled refuses both roles, and nothing is written
    archived = create(sqlite_store, "r3", then="已归档")
    direct = create(sqlite_store, "r4", then="direct")
    for number in (archived, direct, rehandled.number):
        with sqlite_store.session() as s, pytest.raises(LifecycleError):
            reopen(s, number, OPERATOR, later, reason="x")
        assert notes(sqlite_store, number) == []
    with sqlite_store.session() as s, pytest.raises(TicketError, match="no ticket"):
        reopen(s, "AS00000000000000", OPERATOR, later, reason="x")


def test_link_new_names_each_ticket_on_the_other(sqlite_store: Store) -> None:
    old = create(sqlite_store, "r1", then="已归档")
    new = create(sqlite_store, "r2", at=T0 + dt.timedelta(days=1), then="已派单")
    with sqlite_store.session() as s:
        ticket = find_ticket(s, new)
        assert ticket is not None
        link_new(s, ticket, old, OPERATOR, T0 + dt.timedelta(days=1))
        with pytest.raises(TicketError, match="itself"):
            link_new(s, ticket, new, OPERATOR, T0 + dt.timedelta(days=1))
    assert notes(sqlite_store, new) == [f"关联原工单 {old}（已归档）"]
    assert notes(sqlite_store, old) == [f"再次来电反映，新工单 {new}"]


def test_place_and_matter_rules() -> None:
    assert place_key("铁东区", "辽宁省鞍山市铁东区 胜利街道，园林小区3栋") == "胜利街道园林小区3栋"
    assert place_key(None, "ＡＢ小区 3-501") == "ab小区3501"
    assert same_place("铁东区", "胜利街道园林小区3栋", None, "铁东区胜利街道园林小区3栋")
    assert same_place(None, "铁东区胜利街道园林小区3栋", "铁东区", "胜利街道园林小区3栋")
    assert not same_place("铁东区", "胜利街道园林小区3栋", "铁西区", "胜利街道园林小区3栋")
    assert not same_place("铁东区", "园林小区3栋501", "铁东区", "园林小区3栋2单元501")
    assert not same_place("铁东区", "", "铁东区", "")  # no address: no place to share
    codes = matter_codes(tree(), STREET_LIGHT)
    assert {STREET_LIGHT, LIGHT_FLICKERS} <= codes and ESTATE_LIGHT not in codes and PHONE_CARD not in codes
    assert matter_codes(None, STREET_LIGHT) == {STREET_LIGHT}
    assert matter_codes(tree(), "no-such-leaf") == {"no-such-leaf"}
    assert matter_codes(tree(), "") == frozenset()
