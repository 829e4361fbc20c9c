"""TicketDesk on a real store (SQLite and PostgreSQL): the 五要素 gate, saving (派单 / 直接办结 / 并单),
follow-up calls, duplicates, drafts; and the pure intake helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from sqlalchemy import func, select
from ticket_fixtures import (
    HEATING,
    HEATING_START,
    LIFT_TRAPPED,
    PHONE,
    T0,
    Clock,
    heating_form,
    make_desk,
    operator,
)

from console.services.intake import FormData, check_form, clean_text
from console.services.ticket_desk import CallContext, GateRefused
from store import calls
from store.db import Store
from store.models import Draft, Ticket
from store.tickets import find_ticket, ticket_as_dict

# --- pure helpers --------------------------------------------------------------------------------


def test_clean_text_drops_control_characters_and_keeps_emoji() -> None:
    raw = "楼上\x00漏水\x1b[31m😀\u202e反向\r\n第二行\t完"
    assert clean_text(raw, multiline=True) == "楼上漏水[31m😀反向\n第二行 完"
    assert clean_text(raw) == "楼上漏水[31m😀反向 第二行 完"
    assert clean_text("👨‍👩‍👧 family") == "👨‍👩‍👧 family"  # the joiners stay


def test_form_round_trips_through_json_and_tolerates_junk() -> None:
    form = heating_form(callback_consent=False)
    assert FormData.from_json(form.to_json()) == form
    odd = FormData.from_json(
        {"nature": 3, "callback_consent": "yes", "leaf_path": [1], "unknown": "x", "description": "留下"}
    )
    assert (
        odd.nature == ""
        and odd.callback_consent is True
        and odd.leaf_path == ()
        and odd.description == "留下"
    )
    assert FormData(caller_phone=PHONE).is_blank() and not FormData(description="x").is_blank()


def test_the_gate_names_what_is_missing_per_mode() -> None:
    empty = FormData()
    assert check_form(empty, "dispatch", leaf_known=False).missing == (
        "who",
        "when",
        "where",
        "what",
        "demand",
    )
    assert check_form(empty, "direct_close", leaf_known=False).missing == ("what", "demand")
    full = heating_form()
    assert check_form(full, "dispatch", leaf_known=True).ok
    # a consultation needs no place unless the leaf asks for an address
    consult = replace(full, nature="咨询", district="", address="")
    assert check_form(consult, "dispatch", leaf_known=True).ok
    assert check_form(consult, "dispatch", leaf_known=True, leaf_required=("地址",)).missing == ("where",)
    assert check_form(replace(full, description="冷"), "dispatch", leaf_known=True).missing == ("demand",)
    bad = check_form(replace(full, description="长" * 5000, caller_phone="12"), "dispatch", leaf_known=True)
    assert [(p.key, p.field) for p in bad.problems] == [
        ("too_long", "description"),
        ("bad_phone", "caller_phone"),
    ]
    assert bad.problems[0].values["n"] > 5000
    no_answer = check_form(full, "direct_close", leaf_known=True)
    assert [p.key for p in no_answer.problems] == ["no_answer"]


# --- on the store --------------------------------------------------------------------------------


def open_call(store: Store, number: str = PHONE) -> CallContext:
    call_id = f"call-{number}-{store.dialect}"
    with store.session() as s:
        calls.open_call(s, call_id=call_id, direction="in", remote_number=number, display_name=None, at=T0)
    return CallContext(call_id, number)


def test_save_dispatches_links_the_call_and_clears_the_draft(store: Store) -> None:
    actor = operator(store)
    desk = make_desk(store, actor)
    call = open_call(store)
    form = heating_form(description="家里暖气不热😀\x07")
    assert desk.save_draft(form, call)
    result = desk.save(form, call)
    assert result.status == "已派单" and result.number.startswith("AS")
    again = desk.save(form, call)  # a retry (e.g. after a timeout) finds the same ticket
    assert again.ticket_id == result.ticket_id and again.number == result.number
    with store.read() as s:
        ticket = find_ticket(s, result.number)
        assert ticket is not None
        data = ticket_as_dict(ticket, with_events=True, reveal_phone=True)
        assert s.scalar(select(func.count()).select_from(Ticket)) == 1
        assert s.scalar(select(func.count()).select_from(Draft)) == 0
        linked = calls.get_call(s, call.call_id)
        assert linked is not None and linked.ticket_id == result.ticket_id
    facts = desk.leaf(HEATING)
    assert facts is not None and data["department"] == facts.department == "鞍山市热力有限公司"
    assert (
        data["deadline"] is not None
        and data["leaf_code"] == HEATING
        and data["caller_phone"] == "+8613812345678"
    )
    assert data["description"] == "家里暖气不热😀\n【发生时间】昨晚起"  # the bell character is gone
    assert {e["command"] for e in data["events"]} == {"create", "dispatch"}
    assert all(e["actor"] == "alice" for e in data["events"])
    assert desk.load_draft() is None


def test_gate_refusal_writes_nothing(store: Store) -> None:
    desk = make_desk(store, operator(store))
    with pytest.raises(GateRefused) as refused:
        desk.save(heating_form(when="", address=""))
    assert refused.value.result.missing == ("when", "where")
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Ticket)) == 0


def test_direct_close_from_the_standard_answer(store: Store) -> None:
    desk = make_desk(store, operator(store))
    facts = desk.leaf(HEATING_START)
    assert facts is not None and facts.answer and "11月1日" in facts.answer
    form = FormData(
        nature="咨询",
        leaf_code=HEATING_START,
        description="问今年什么时候开始供暖",
        answer=facts.answer,
        caller_phone=PHONE,
    )
    result = desk.save(form, None, mode="direct_close")
    assert result.status == "已办结"
    with store.read() as s:
        ticket = find_ticket(s, result.number)
        assert ticket is not None and ticket.answer == facts.answer and ticket.dispatched_at is None


def test_duplicates_merge_and_follow_up(store: Store) -> None:
    clock = Clock()
    desk = make_desk(store, operator(store), clock, window_hours=72)
    first = desk.save(heating_form())
    clock.now = T0 + dt.timedelta(hours=5)
    same_caller = heating_form(leaf_code=LIFT_TRAPPED, address="别处")
    same_place = heating_form(caller_phone="13900001111", caller_name="李女士")
    other = heating_form(caller_phone="13900001111", address="别处")
    [dup] = desk.find_duplicates(same_caller)
    assert (dup.number, dup.same_caller, dup.same_place) == (first.number, True, False)
    [dup] = desk.find_duplicates(same_place)
    assert (dup.same_caller, dup.same_place) == (False, True)
    assert desk.find_duplicates(other) == []
    clock.now = T0 + dt.timedelta(hours=73)
    assert desk.find_duplicates(same_place) == []  # outside the window
    clock.now = T0 + dt.timedelta(hours=6)

    merged = desk.save(same_place, None, mode="merge", merge_into=first.number)
    assert merged.status == "已并单" and merged.merged_into == first.number
    with store.read() as s:
        child = find_ticket(s, merged.number)
        parent = find_ticket(s, first.number)
        assert child is not None and parent is not None and child.parent_id == parent.id

    call = open_call(store, "13700002222")
    follow = desk.follow_up(first.number, call)
    assert follow.follow_up and follow.number == first.number
    with store.read() as s:
        row = calls.get_call(s, call.call_id)
        assert row is not None and row.ticket_id == first.ticket_id
        assert [e.kind for e in calls.call_events(s, call.call_id)][-1] == "follow_up"
        assert s.scalar(select(func.count()).select_from(Ticket)) == 2  # the follow-up made no ticket


def test_draft_survives_a_new_desk(store: Store) -> None:
    actor = operator(store)
    form = heating_form(description="长" * 10_000)
    assert make_desk(store, actor).save_draft(form, CallContext("c-1", PHONE))
    loaded = make_desk(store, actor).load_draft()
    assert loaded is not None and loaded[0] == form and loaded[1] == "c-1"


def test_leaf_facts_flag_emergencies(store: Store) -> None:
    desk = make_desk(store, operator(store))
    lift = desk.leaf(LIFT_TRAPPED)
    heat = desk.leaf(HEATING)
    assert lift is not None and lift.critical and lift.urgency == "特急" and lift.handoff == "119"
    assert heat is not None and not heat.critical and heat.time_limit == "24小时" and heat.department
    assert desk.leaf("101") is None and desk.leaf("nope") is None
    assert "铁东区" in desk.district_names()
    assert desk.match_address("铁东区胜利街道园林小区")[0].district == "铁东区"
    assert repr(CallContext("c", PHONE)).count("****") == 1


def test_a_draft_write_after_the_save_does_not_bring_the_form_back(store: Store) -> None:
    desk = make_desk(store, operator(store))
    form = heating_form()
    desk.save(form)
    assert desk.save_draft(form) is False  # e.g. a draft timer that fired while the save committed
    assert desk.load_draft() is None
