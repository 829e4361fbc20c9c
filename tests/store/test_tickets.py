"""The ticket service on SQLite and PostgreSQL: creation, commands, events, outbox, replay."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from test_lifecycle import CAL, HOUR, T0, draw_step

from store import lifecycle as lc
from store import vocabulary as vocab
from store.callers import PhoneError, mask_phone, normalise_phone
from store.db import Store
from store.invariants import violations
from store.models import Caller, Evaluation, OutboxEntry, Ticket, TicketEvent
from store.tickets import (
    BOARDS,
    Actor,
    LifecycleError,
    TicketError,
    apply_command,
    create_ticket,
    decode_value,
    draft_from,
    edit_ticket,
    encode_value,
    find_ticket,
    link_backend_many,
    list_tickets,
    replay,
    ticket_as_dict,
    ticket_fields,
)

OPERATOR = Actor("alice", "operator", None)
SUPERVISOR = Actor("bob", "supervisor", None)
BACKEND = Actor("backend", "backend")
DRAFT = {
    "nature": "投诉",
    "description": "小区暖气不热乎",
    "district": "铁西区",
    "leaf_code": "101.01",
    "caller_name": "王先生",
    "caller_phone": "138 1234 5678",
    "address": "鞍山市铁西区某小区3栋",
}


def create(store: Store, now: dt.datetime = T0, **overrides: Any) -> Ticket:
    with store.session() as s:
        return create_ticket(s, draft_from({**DRAFT, **overrides}), OPERATOR, now)


def command(
    store: Store, number: str, name: str, actor: Actor = OPERATOR, now: dt.datetime = T0, **args: Any
) -> list[lc.FieldChange]:
    with store.session() as s:
        ticket = find_ticket(s, number)
        assert ticket is not None
        return apply_command(s, ticket, name, actor, now, deadlines=CAL, **args)


def counts(store: Store) -> tuple[int, int, int]:
    with store.read() as s:
        return (
            s.scalar(select(func.count()).select_from(Ticket)) or 0,
            s.scalar(select(func.count()).select_from(TicketEvent)) or 0,
            s.scalar(select(func.count()).select_from(OutboxEntry)) or 0,
        )


def row_of(store: Store, number: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the row's replayed fields, the same fields replayed from its events)."""
    with store.read() as s:
        ticket = find_ticket(s, number)
        assert ticket is not None
        fields = ticket_fields(ticket)
        fields.pop("id")
        return fields, replay(ticket.events)


# --- creation ------------------------------------------------------------------------------------


def test_create_writes_row_events_outbox_and_caller(store: Store) -> None:
    t = create(store)
    assert t.number == "AS20261127000001" and t.status == vocab.RECEIVED and t.version == 1
    assert t.caller_phone == "+8613812345678"
    with store.read() as s:
        events = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id).order_by(TicketEvent.seq)
        ).all()
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert {e.command for e in events} == {"create"} and {e.actor for e in events} == {"alice"}
        assert {e.field for e in events} >= {"status", "number", "nature", "description", "created_at"}
        outbox = s.scalars(select(OutboxEntry)).one()
        assert outbox.kind == "create" and outbox.idempotency_key == f"{t.client_request_id}:1"
        assert outbox.payload["ticket"]["description"] == "小区暖气不热乎" and outbox.state == "pending"
        caller = s.scalars(select(Caller)).one()
        assert caller.phone == "+8613812345678" and caller.name == "王先生" and t.caller_id == caller.id
    fields, replayed = row_of(store, t.number)
    assert replayed == fields


def test_same_phone_reuses_the_caller_and_numbers_follow(store: Store) -> None:
    a = create(store)
    b = create(store, caller_phone="+86 138-1234-5678", caller_name=None)
    assert a.caller_id == b.caller_id
    assert b.number == "AS20261127000002"
    with store.read() as s:
        assert s.scalar(select(func.count()).select_from(Caller)) == 1


def test_number_uses_the_anshan_date(store: Store) -> None:
    late_utc = dt.datetime(2026, 11, 27, 17, 30, tzinfo=dt.UTC)  # 01:30 on the 28th in Anshan
    assert create(store, now=late_utc).number == "AS20261128000001"


def test_create_is_idempotent_on_client_request_id(store: Store) -> None:
    draft = draft_from(DRAFT)
    with store.session() as s:
        first = create_ticket(s, draft, OPERATOR, T0, client_request_id="seat1-0001")
    with store.session() as s:
        again = create_ticket(s, draft, OPERATOR, T0 + HOUR, client_request_id="seat1-0001")
        assert again.id == first.id and again.number == first.number
    assert counts(store)[0] == 1 and counts(store)[2] == 1


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"nature": "闲聊"}, "nature must be one of"),
        ({"description": "   "}, "description"),
        ({"description": "长" * 4001}, "description"),
        ({"urgency": "很急"}, "urgency must be one of"),
        ({"board": "不存在"}, "board must be one of"),
        ({"caller_phone": "12"}, "not a valid phone number"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_drafts_are_refused_in_one_line(change: dict[str, Any], match: str) -> None:
    with pytest.raises(TicketError, match=match) as info:
        draft_from({**DRAFT, **change})
    assert "\n" not in str(info.value)


def test_a_trainer_cannot_create(store: Store) -> None:
    with pytest.raises(LifecycleError, match="role trainer may not create"), store.session() as s:
        create_ticket(s, draft_from(DRAFT), Actor("t", "trainer"), T0)
    assert counts(store) == (0, 0, 0)


def test_tickets_from_the_backend_are_not_echoed_back(store: Store) -> None:
    with store.session() as s:
        t = create_ticket(s, draft_from({**DRAFT, "channel": "wechat"}), BACKEND, T0, backend_id="SR-77")
        assert t.backend_id == "SR-77" and t.created_by == "backend"
        with pytest.raises(TicketError, match="use create_ticket"):
            apply_command(s, t, "create", OPERATOR, T0)
    assert counts(store)[2] == 0


def test_boards_are_the_eleven_of_the_design() -> None:
    assert len(BOARDS) == 11 and "两代表一委员意见建议" in BOARDS


# --- link_backend_many (the sync worker's batch) ------------------------------------------------


def event_rows(store: Store, number: str) -> list[tuple[Any, ...]]:
    """A ticket's events after its creation (twins differ in number), without their row ids."""
    with store.read() as s:
        ticket = find_ticket(s, number)
        assert ticket is not None
        return [
            (e.seq, e.at, e.actor, e.actor_role, e.command, e.field, e.old, e.new, e.reason)
            for e in ticket.events
            if e.command != "create"
        ]


def version_of(store: Store, number: str) -> tuple[int, dt.datetime]:
    with store.read() as s:
        ticket = find_ticket(s, number)
        assert ticket is not None
        return ticket.version, ticket.updated_at


def test_link_backend_many_writes_what_apply_command_writes(store: Store) -> None:
    # twins: each history once through apply_command, once through link_backend_many
    twins = [(create(store), create(store)) for _ in range(3)]
    for a, b in twins[1:]:  # the others have moved on (more events, another status)
        for t in (a, b):
            command(store, t.number, "dispatch", SUPERVISOR, T0 + HOUR, department="市供暖公司")
    for t in twins[2]:  # already linked to another id: relinked, old value in the event
        command(store, t.number, "link_backend", BACKEND, T0 + HOUR, backend_id="SR-OLD")
    same = create(store)
    command(store, same.number, "link_backend", BACKEND, T0 + HOUR, backend_id="SR-SAME")
    now = T0 + 2 * HOUR
    for i, (a, _) in enumerate(twins):
        command(store, a.number, "link_backend", BACKEND, now, backend_id=f"SR-{i}")
    before_same = event_rows(store, same.number), version_of(store, same.number)
    outbox_before = counts(store)[2]
    with store.session() as s:
        loaded = find_ticket(s, twins[0][1].number)
        assert loaded is not None
        created_events = len(loaded.events)  # a collection loaded before the link
        links = {b.id: f"SR-{i}" for i, (_, b) in enumerate(twins)} | {same.id: "SR-SAME", 10**9: "SR-GONE"}
        assert link_backend_many(s, links, BACKEND, now) == 3
        assert loaded.backend_id == "SR-0" and len(loaded.events) == created_events + 1
    for a, b in twins:
        assert event_rows(store, b.number) == event_rows(store, a.number)
        assert version_of(store, b.number) == version_of(store, a.number)
        fields, replayed = row_of(store, b.number)
        assert replayed == fields and fields["backend_id"] is not None
    assert (event_rows(store, same.number), version_of(store, same.number)) == before_same  # nothing to do
    assert counts(store)[2] == outbox_before  # bookkeeping of the sync: never echoed to the backend
    with store.session() as s:
        assert link_backend_many(s, {}, BACKEND, now) == 0


def test_link_backend_many_waits_for_a_command_holding_the_ticket(store: Store) -> None:
    import threading

    t, other = create(store), create(store)
    done = threading.Event()
    linked: list[int] = []

    def link() -> None:
        with store.session() as s:
            linked.append(link_backend_many(s, {t.id: "SR-1", other.id: "SR-2"}, BACKEND, T0 + HOUR))
        done.set()

    with store.session() as s:  # holds the ticket (FOR UPDATE / SQLite's write lock) until commit
        ticket = find_ticket(s, t.number)
        assert ticket is not None
        apply_command(s, ticket, "dispatch", SUPERVISOR, T0 + HOUR, deadlines=CAL, department="市供暖公司")
        thread = threading.Thread(target=link)
        thread.start()
        assert not done.wait(0.5)  # waits for the lock, rather than reading the seq before the commit
    thread.join(30)
    assert linked == [2]
    for number in (t.number, other.number):
        fields, replayed = row_of(store, number)
        assert replayed == fields
    with store.read() as s:
        ticket = find_ticket(s, t.number)
        assert ticket is not None and ticket.version == 3 and ticket.backend_id == "SR-1"
        assert ticket.status == vocab.DISPATCHED
        assert [e.command for e in ticket.events][-1] == "link_backend"
        assert [e.seq for e in ticket.events] == list(range(1, len(ticket.events) + 1))


def test_link_backend_many_refuses_a_bad_id_and_writes_nothing(store: Store) -> None:
    good, bad = create(store), create(store)
    before = counts(store), row_of(store, good.number), row_of(store, bad.number)
    with pytest.raises(LifecycleError, match="backend_id must be a non-empty text"), store.session() as s:
        link_backend_many(s, {good.id: "SR-1", bad.id: "  "}, BACKEND, T0 + HOUR)
    with pytest.raises(LifecycleError, match="may not link_backend"), store.session() as s:
        link_backend_many(s, {good.id: "SR-1"}, OPERATOR, T0 + HOUR)
    assert (counts(store), row_of(store, good.number), row_of(store, bad.number)) == before


# --- commands -------------------------------------------------------------------------------------


def test_full_life_writes_events_versions_and_outbox(store: Store) -> None:
    t = create(store)
    command(store, t.number, "dispatch", department="市供暖公司", co_departments=["铁西区政府"])
    command(store, t.number, "accept", BACKEND, T0 + HOUR)
    command(store, t.number, "start", BACKEND, T0 + 2 * HOUR)
    command(store, t.number, "reply", BACKEND, T0 + 20 * HOUR, answer="已调整供暖阀门")
    command(store, t.number, "close", OPERATOR, T0 + 21 * HOUR)
    command(
        store,
        t.number,
        "evaluate",
        OPERATOR,
        T0 + 40 * HOUR,
        satisfaction="不满意",
        reason="还是不热",
        department_at_fault=True,
    )
    with store.read() as s:
        ticket = find_ticket(s, t.number)
        assert ticket is not None
        assert ticket.status == vocab.IN_PROGRESS and ticket.rehandle_count == 1 and ticket.version == 7
        assert ticket.deadline == T0 + 40 * HOUR + dt.timedelta(days=5)
        seqs = [e.seq for e in ticket.events]
        assert seqs == sorted(seqs) == list(range(1, len(seqs) + 1))
        evaluation = s.scalars(select(Evaluation)).one()
        assert (
            evaluation.result == "不满意"
            and evaluation.department_at_fault
            and evaluation.comment == "还是不热"
        )
        keys = s.scalars(select(OutboxEntry.idempotency_key).order_by(OutboxEntry.id)).all()
        # accept/start/reply came from the backend: no echo back to it
        assert keys == [f"{t.client_request_id}:{v}" for v in (1, 2, 6, 7)]
        update = s.scalars(select(OutboxEntry).where(OutboxEntry.kind == "update")).first()
        assert update is not None and update.payload["command"] == "dispatch"
        assert update.payload["changes"]["department"] == "市供暖公司"
        reasons = {e.reason for e in ticket.events if e.command == "evaluate"}
        assert reasons == {"还是不热"}
    fields, replayed = row_of(store, t.number)
    assert replayed == fields and violations(fields) == []


def test_refused_command_changes_nothing(store: Store) -> None:
    t = create(store)
    before = counts(store), row_of(store, t.number)[0]
    with pytest.raises(LifecycleError, match="return from 已受理"):
        command(store, t.number, "return", BACKEND, reason="x")
    with pytest.raises(LifecycleError, match="missing department"):
        command(store, t.number, "dispatch")
    with pytest.raises(LifecycleError, match="role trainer may not"):
        command(store, t.number, "dispatch", Actor("t", "trainer"), department="x")
    assert (counts(store), row_of(store, t.number)[0]) == before


def test_merge_by_parent_number(store: Store) -> None:
    parent = create(store)
    child = create(store)
    command(store, child.number, "merge", parent_number=parent.number, reason="重复诉求")
    with store.read() as s:
        got = find_ticket(s, child.number)
        assert got is not None and got.status == vocab.MERGED and got.parent_id == parent.id
    other = create(store)
    with pytest.raises(LifecycleError, match="itself merged"):
        command(store, other.number, "merge", parent_number=child.number)
    with pytest.raises(LifecycleError, match="does not exist"):
        command(store, other.number, "merge", parent_number="AS20990101000001")
    with pytest.raises(LifecycleError, match="does not exist"):
        command(store, other.number, "merge", parent_id=999_999)


def test_edit_validates_and_relinks_the_caller(store: Store) -> None:
    t = create(store)
    with store.session() as s:
        ticket = find_ticket(s, t.number)
        assert ticket is not None
        changes = edit_ticket(
            s, ticket, OPERATOR, T0, caller_phone="13900001111", description="暖气片冰凉", reason="来电人更正"
        )
        assert {c.field for c in changes} == {"caller_phone", "caller_id", "description"}
        assert edit_ticket(s, ticket, OPERATOR, T0, description="暖气片冰凉") == []  # nothing new
        with pytest.raises(TicketError, match="urgency must be one of"):
            edit_ticket(s, ticket, OPERATOR, T0, urgency="慢")
        with pytest.raises(TicketError, match="cannot edit"):
            edit_ticket(s, ticket, OPERATOR, T0, status="已办结")
    with store.read() as s:
        ticket = find_ticket(s, t.number)
        assert ticket is not None and ticket.caller_phone == "+8613900001111" and ticket.version == 2
        assert s.scalar(select(func.count()).select_from(Caller)) == 2
    command(store, t.number, "dispatch", department="市供暖公司")
    with pytest.raises(LifecycleError, match="cannot be edited in this state"), store.session() as s:
        ticket = find_ticket(s, t.number)
        assert ticket is not None
        edit_ticket(s, ticket, OPERATOR, T0, description="改")


def test_list_find_and_json(store: Store) -> None:
    numbers = [create(store, now=T0 + i * HOUR).number for i in range(3)]
    command(store, numbers[0], "dispatch", department="市供暖公司")
    with store.read() as s:
        assert [t.number for t in list_tickets(s)] == numbers[::-1]
        assert [t.number for t in list_tickets(s, status=vocab.DISPATCHED)] == [numbers[0]]
        assert len(list_tickets(s, limit=2)) == 2
        with pytest.raises(TicketError, match="unknown status"):
            list_tickets(s, status="open")
        assert find_ticket(s, "AS19990101000001") is None
        ticket = find_ticket(s, numbers[0])
        assert ticket is not None
        data = ticket_as_dict(ticket, with_events=True)
    text = json.dumps(data, ensure_ascii=False)
    assert "13812345678" not in text and "138****5678" in text
    for key in (
        "number",
        "status",
        "nature",
        "board",
        "leaf_code",
        "district",
        "urgency",
        "created_at",
        "deadline",
        "department",
        "events",
    ):
        assert key in data
    assert data["status"] == vocab.DISPATCHED and data["created_at"].startswith("2026-11-27T01:00:00")
    assert data["events"][-1]["command"] == "dispatch"


def test_value_encoding_is_stable() -> None:
    when = dt.datetime(2026, 11, 28, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    assert encode_value(when) == '"2026-11-28T01:30:00.000000+00:00"'
    assert decode_value("deadline", encode_value(when)) == when
    assert encode_value(["b", "a"]) == '["b","a"]' and encode_value("铁东区") == '"铁东区"'
    assert encode_value(None) is None and decode_value("answer", None) is None


def test_replay_detects_a_forged_history(store: Store) -> None:
    t = create(store)
    with store.session() as s:
        event = s.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == t.id, TicketEvent.field == "nature")
        ).one()
        forged = TicketEvent(
            ticket_id=t.id,
            seq=99,
            at=T0,
            actor="x",
            actor_role="operator",
            command="edit",
            field="nature",
            old='"咨询"',
            new='"表扬"',
        )
        with pytest.raises(ValueError, match="differs from the replayed"):
            replay([event, forged])


def test_phone_helpers() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+8613812345678") == "138****5678"
    assert mask_phone(None) is None and mask_phone("110") == "110"  # a service number is nobody's
    assert normalise_phone("0412-5551234") == "+864125551234"
    with pytest.raises(PhoneError):
        normalise_phone("")


# Seats chasing (催办) the same ticket at once: each command must see the previous one's row.
URGER = r"""
import datetime as dt, sys, time
from pathlib import Path
from store.db import open_store
from store.tickets import Actor, apply_command, find_ticket
url, number, count, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
store = open_store(url, migrate=False)
give_up = time.monotonic() + 30
while not go.exists() and time.monotonic() < give_up:
    time.sleep(0.01)
for _ in range(count):
    with store.session() as s:
        apply_command(s, find_ticket(s, number), "urge", Actor("seat", "operator"), dt.datetime.now(dt.UTC))
store.close()
"""


def test_concurrent_commands_on_one_ticket_serialise(store: Store, store_url: str, tmp_path: Path) -> None:
    t = create(store, now=dt.datetime.now(dt.UTC))
    command(store, t.number, "dispatch", department="市供暖公司", now=dt.datetime.now(dt.UTC))
    go, seats, per_seat = tmp_path / "go", 3, 8
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", URGER, store_url, t.number, str(per_seat), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(seats)
    ]
    try:
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(timeout=10)
    for p, (_, err) in zip(procs, outputs, strict=True):
        assert p.returncode == 0, err
    with store.read() as s:
        ticket = find_ticket(s, t.number)
        assert ticket is not None and ticket.urge_count == seats * per_seat
        assert ticket.version == 2 + seats * per_seat
        assert [e.seq for e in ticket.events] == list(range(1, len(ticket.events) + 1))
    fields, replayed = row_of(store, t.number)
    assert replayed == fields


# --- random histories through the service ------------------------------------------------------


@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_random_histories_stay_valid_and_replay_exactly(store: Store, data: st.DataObject) -> None:
    parent = create(store)
    t = create(store)
    now = T0
    for _ in range(data.draw(st.integers(0, 25), label="length")):
        name, role, hours, args = draw_step(data, {**row_of(store, t.number)[0], "id": t.id})
        now += dt.timedelta(hours=hours)
        if name == "merge":
            args = {k: v for k, v in args.items() if k not in ("parent_id", "parent_status")}
            args["parent_number"] = parent.number
        before = counts(store), row_of(store, t.number)[0]
        try:
            command(store, t.number, name, Actor(f"{role}-1", role), now, **args)
        except LifecycleError:
            assert (counts(store), row_of(store, t.number)[0]) == before
        fields, replayed = row_of(store, t.number)
        assert violations(fields) == []
        assert replayed == fields
