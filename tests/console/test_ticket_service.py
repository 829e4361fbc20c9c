"""TicketService on a real store (SQLite and PostgreSQL): the 五要素 gate, saving (派单 / 直接办结 / 并单),
follow-up calls, duplicates, drafts, the [taxonomy] settings of the search; and the pure intake helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from helpers.desk_harness import FIXED, add_operator, desk_of, make_config, make_rig, wait_until
from helpers.ticket_fixtures import (
    HEATING,
    HEATING_START,
    LIFT_TRAPPED,
    PHONE,
    T0,
    Clock,
    heating_form,
    make_desk,
    operator,
    searcher,
    taxonomy,
)
from helpers.ticket_host import FormHost
from sqlalchemy import func, select

from console.config import TaxonomyConfig
from console.services.intake import FormData, check_form, clean_text
from console.services.ticket_service import CallContext, GateRefused, TicketService
from store import calls, taxonomy_choices
from store.db import Store, open_store
from store.models import Draft, Ticket
from store.tickets import Actor, create_ticket, draft_from, find_ticket, ticket_as_dict

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
    assert desk.draft_of_call(call) is None and desk.unsaved_drafts() == []


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


def test_draft_survives_a_new_desk_and_stays_with_its_call(store: Store) -> None:
    actor = operator(store)
    form = heating_form(description="长" * 10_000)
    first = CallContext("c-1", PHONE)
    assert make_desk(store, actor).save_draft(form, first)
    again = make_desk(store, actor)
    assert again.draft_of_call(first) == form
    assert again.draft_of_call(CallContext("c-2", "13100000011")) is None  # never another call's
    [listed] = again.unsaved_drafts()
    assert listed.form == form and listed.call is not None and listed.call.call_id == "c-1"
    assert listed.call.caller == form.caller_phone  # no call row yet: the number typed in the form
    other = make_desk(store, operator(store, "bob"))
    assert other.unsaved_drafts() == []  # one operator's drafts are not another's


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
    assert desk.unsaved_drafts() == []


# --- the [taxonomy] settings: each one changes what the search returns -----------------------------

QUERY = "暖气"
BURST = "101024"  # 暖气爆管: 7th for 暖气 without priors
CLOGGED = "101014"  # 暖气管道堵塞: 8th


def service(store: Store, actor: Actor, **settings: Any) -> TicketService:
    return TicketService(
        store,
        actor,
        settings=TaxonomyConfig(**settings),
        taxonomy=taxonomy(),
        searcher=searcher(),
        clock=Clock(),
    )


def ranked(tickets: TicketService) -> list[str]:
    assert tickets.load_priors()
    return [r.code for r in tickets.search(QUERY)]


def chose(store: Store, actor: Actor, code: str, days_ago: int, times: int = 1) -> None:
    with store.session() as s:
        for _ in range(times):
            taxonomy_choices.record_choice(
                s, at=T0 - dt.timedelta(days=days_ago), user_id=actor.user_id, query=QUERY, leaf_code=code
            )


def filed(store: Store, code: str, days_ago: int, times: int, now: dt.datetime = T0) -> None:
    draft = draft_from({"nature": "投诉", "description": "暖气的问题", "leaf_code": code})
    with store.session() as s:
        for _ in range(times):
            create_ticket(s, draft, Actor("bob", "operator", None), now - dt.timedelta(days=days_ago))


def test_result_limit_is_how_many_results_the_search_gives(sqlite_store: Store) -> None:
    alice = operator(sqlite_store)
    assert len(service(sqlite_store, alice, result_limit=3).search(QUERY)) == 3
    assert len(service(sqlite_store, alice, result_limit=12).search(QUERY)) == 12
    assert len(service(sqlite_store, alice, result_limit=12).search(QUERY, 2)) == 2
    # nothing in the store: the defaults rank exactly as the bare search does
    assert ranked(service(sqlite_store, alice)) == [r.code for r in searcher().search(QUERY, 9)]


def test_recent_boost_lifts_the_operators_own_recent_choices(sqlite_store: Store) -> None:
    alice, bob = operator(sqlite_store), operator(sqlite_store, "bob")
    chose(sqlite_store, alice, BURST, days_ago=1, times=3)
    baseline = ranked(service(sqlite_store, alice, recent_boost=0))
    assert baseline.index(BURST) == 6
    assert ranked(service(sqlite_store, alice, recent_boost=2))[0] == BURST
    assert ranked(service(sqlite_store, bob, recent_boost=2)) == baseline  # alice's choices, not bob's


def test_recent_window_days_leaves_older_choices_and_tickets_out(sqlite_store: Store) -> None:
    alice = operator(sqlite_store)
    chose(sqlite_store, alice, BURST, days_ago=40, times=3)
    filed(sqlite_store, CLOGGED, days_ago=40, times=3)
    short = ranked(service(sqlite_store, alice, recent_boost=2, popularity_boost=0, recent_window_days=30))
    assert short.index(BURST) == 6
    assert (
        ranked(service(sqlite_store, alice, recent_boost=2, popularity_boost=0, recent_window_days=60))[0]
        == BURST
    )
    assert short.index(CLOGGED) == 7
    assert (
        ranked(service(sqlite_store, alice, recent_boost=0, popularity_boost=2, recent_window_days=60))[0]
        == CLOGGED
    )


def test_popularity_boost_lifts_the_leaves_of_recent_tickets(sqlite_store: Store) -> None:
    alice = operator(sqlite_store)
    filed(sqlite_store, CLOGGED, days_ago=2, times=5)
    filed(sqlite_store, BURST, days_ago=2, times=1)
    off = ranked(service(sqlite_store, alice, popularity_boost=0))
    assert off.index(CLOGGED) == 7
    on = ranked(service(sqlite_store, alice, popularity_boost=2))
    assert on[0] == CLOGGED and on.index(BURST) < off.index(BURST)  # one ticket lifts less than five


def test_a_saved_ticket_counts_in_the_next_search_at_once(sqlite_store: Store) -> None:
    tickets = service(sqlite_store, operator(sqlite_store), recent_boost=2)
    assert ranked(tickets).index(BURST) == 6
    form = heating_form(
        leaf_code=BURST, leaf_path=("城市建设与管理", "供热", "暖气爆管"), query=QUERY, leaf_rank=7
    )
    tickets.save(form)
    assert tickets.search(QUERY)[0].code == BURST  # no reload: the save fed the prior


def test_unreadable_priors_leave_the_search_as_it_was(tmp_path: Path) -> None:
    path = tmp_path / "gone.sqlite3"
    store = open_store(f"sqlite:///{path}")
    try:
        tickets = service(store, operator(store))
        store.engine.dispose()
        path.unlink()  # the next read opens an empty file: no tables
        assert tickets.load_priors() is False
        assert [r.code for r in tickets.search(QUERY)] == [r.code for r in searcher().search(QUERY, 9)]
    finally:
        store.close()


async def test_the_picker_asks_for_and_shows_result_limit_results(sqlite_store: Store) -> None:
    app = FormHost(service(sqlite_store, operator(sqlite_store), result_limit=4))
    async with app.run_test(size=(120, 60)) as pilot:
        app.form.focus_search()
        await pilot.press(*QUERY)
        await pilot.pause()
        results = app.form.picker.results_view
        assert len(results.results) == 4 and results.size.height == 4


async def test_the_console_searches_with_its_taxonomy_section(sqlite_store: Store) -> None:
    """Through the composition root: the [taxonomy] section reaches the seat's service, and the desk
    loads the priors from the store once the operator is logged in."""
    add_operator(sqlite_store)
    filed(sqlite_store, CLOGGED, days_ago=2, times=5, now=FIXED)  # the rig's clock
    config = make_config().model_copy(
        update={"taxonomy": TaxonomyConfig(result_limit=4, popularity_boost=2, recent_window_days=7)}
    )
    rig = make_rig(sqlite_store, [], config=config, auto_login="wang", form=True)
    async with rig.app.run_test(size=(160, 60)) as pilot:
        await wait_until(pilot, lambda: desk_of(rig).seat.tickets is not None)
        tickets = desk_of(rig).seat.tickets
        await wait_until(pilot, lambda: tickets.priors_loaded)
        await pilot.press("ctrl+n")
        await wait_until(pilot, lambda: desk_of(rig).form is not None)
        desk_of(rig).form.focus_search()
        await pilot.press(*QUERY)
        await wait_until(pilot, lambda: bool(desk_of(rig).form.picker.results_view.results))
        shown = desk_of(rig).form.picker.results_view.results
        assert len(shown) == 4 and shown[0].code == CLOGGED
