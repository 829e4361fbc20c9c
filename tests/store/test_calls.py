"""Calls in the store on SQLite and PostgreSQL: the life of a call (store.calls), the ringing pop
(store.caller_history), the worklists (store.worklists), agent states (store.agents)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from store import agents, caller_history, calls, worklists
from store.db import Store
from store.kpi.report import compute_kpis
from store.models import AgentSession, AgentStateChange, Call, Caller, CallEvent
from store.tickets import Actor, apply_command, create_ticket, draft_from
from store.vocabulary import AgentState
from store.workcal import SHANGHAI

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
S = dt.timedelta(seconds=1)
MOBILE = "13812345678"
OPERATOR = Actor("alice", "operator", None)


def cid() -> str:
    return uuid.uuid4().hex


def inbound(
    store: Store,
    at: dt.datetime = T0,
    number: str = MOBILE,
    *,
    answered: float | None = 5,
    ended: float = 60,
    reason: str = "remote_bye",
) -> str:
    call_id = cid()
    with store.session() as s:
        calls.open_call(
            s, call_id=call_id, direction="in", remote_number=number, display_name="王先生", at=at
        )
        if answered is not None:
            calls.answer_call(s, call_id, at + answered * S)
        calls.end_call(s, call_id, at + ended * S, reason)
    return call_id


def ticket(store: Store, at: dt.datetime, phone: str = MOBILE, **extra: Any) -> int:
    draft = draft_from(
        {
            "nature": "投诉",
            "description": "暖气不热",
            "leaf_code": "101.01",
            "caller_name": "王先生",
            "caller_phone": phone,
            **extra,
        }
    )
    with store.session() as s:
        return create_ticket(s, draft, OPERATOR, at).id


def close(store: Store, ticket_id: int, at: dt.datetime) -> None:
    from store.models import Ticket

    with store.session() as s:
        t = s.get(Ticket, ticket_id)
        assert t is not None
        apply_command(s, t, "close_direct", OPERATOR, at, answer="已答复市民")


def test_life_of_a_call_links_the_caller_and_writes_events_once(store: Store) -> None:
    call_id = cid()
    with store.session() as s:
        for _ in range(2):  # a repeated offer (worker restart) changes nothing
            calls.open_call(
                s,
                call_id=call_id,
                direction="in",
                remote_number="138 1234 5678",
                display_name="王先生",
                at=T0,
                queue="12345",
            )
        calls.answer_call(s, call_id, T0 + 3 * S, user_id=None)
        calls.answer_call(s, call_id, T0 + 9 * S)  # the first answer wins
        for _ in range(2):
            calls.add_call_event(s, call_id, "dtmf", T0 + 4 * S, {"digit": "1"})
        calls.add_call_event(s, call_id, "dtmf", T0 + 5 * S, {"digit": "1"})
        calls.add_call_event(s, call_id, "held", T0 + 6 * S, {"by": "remote"})
        calls.end_call(s, call_id, T0 + 30 * S, "remote_bye")
        calls.end_call(s, call_id, T0 + 31 * S, "local_hangup")  # too late
        calls.set_recording(s, call_id, "/rec/" + call_id)
        calls.set_disposition(s, call_id, "咨询")
    with store.read() as s:
        call = s.get(Call, call_id)
        assert call is not None
        assert (call.answered_at, call.ended_at, call.end_reason) == (T0 + 3 * S, T0 + 30 * S, "remote_bye")
        assert (
            call.recording_path == "/rec/" + call_id and call.disposition == "咨询" and call.queue == "12345"
        )
        caller = s.get(Caller, call.caller_id)
        assert caller is not None and caller.phone == "+8613812345678" and caller.name == "王先生"
        kinds = [(e.kind, e.data) for e in calls.call_events(s, call_id)]
    assert kinds == [
        ("offered", {}),
        ("answered", {}),
        ("dtmf", {"digit": "1"}),
        ("dtmf", {"digit": "1"}),
        ("held", {"by": "remote"}),
        ("ended", {"reason": "remote_bye"}),
    ]


def test_numbers_that_are_not_phones_make_calls_without_a_caller(store: Store) -> None:
    call_id = inbound(store, number="anonymous")
    ext = inbound(store, number="1001")
    with store.read() as s:
        assert s.get(Call, call_id).caller_id is None  # type: ignore[union-attr]
        assert s.get(Call, ext).caller_id is None  # type: ignore[union-attr]
        assert s.scalar(select(func.count(Caller.id))) == 0


def test_bad_requests_raise_call_error(store: Store) -> None:
    with store.session() as s, pytest.raises(calls.CallError):
        calls.answer_call(s, "nope", T0)
    with store.session() as s, pytest.raises(calls.CallError):
        calls.open_call(
            s,
            call_id=cid(),
            direction="sideways",
            remote_number=MOBILE,  # type: ignore[arg-type]
            display_name=None,
            at=T0,
        )
    call_id = inbound(store)
    with store.session() as s, pytest.raises(calls.CallError):
        calls.end_call(s, call_id, T0, "exploded")
    with store.session() as s, pytest.raises(calls.CallError):
        calls.link_ticket(s, call_id, 999_999)


def test_calls_feed_the_call_kpis(store: Store) -> None:
    inbound(store)
    inbound(store, answered=None, ended=20, reason="cancelled")
    inbound(store, answered=None, ended=4, reason="rejected")
    with store.read() as s:
        k = compute_kpis(s).total.calls
    assert k is not None
    assert (k.offered, k.answered, k.abandoned, k.rejected) == (3, 1, 1, 1)


def test_caller_history_lists_open_tickets_first_and_recent_calls(store: Store) -> None:
    old_closed = ticket(store, T0 - dt.timedelta(days=40))
    close(store, old_closed, T0 - dt.timedelta(days=39))
    newer_closed = ticket(store, T0 - dt.timedelta(days=5))
    close(store, newer_closed, T0 - dt.timedelta(days=4))
    open_old = ticket(store, T0 - dt.timedelta(days=60))
    ticket(store, T0, phone="13900001111")  # another citizen
    recent = inbound(store, T0 - dt.timedelta(days=2))
    inbound(store, T0 - dt.timedelta(days=31))  # outside the 30 days
    ringing = cid()
    with store.session() as s:
        calls.open_call(
            s, call_id=ringing, direction="in", remote_number="+86 138-1234-5678", display_name=None, at=T0
        )
        calls.link_ticket(s, recent, newer_closed)
    with store.read() as s:
        h = caller_history.caller_history(s, "13812345678", T0 + S, exclude_call_id=ringing)
    assert h.phone == "+8613812345678" and h.masked_phone == "138****5678" and h.name == "王先生"
    assert [t.id for t in h.tickets] == [open_old, newer_closed, old_closed]
    assert [t.is_open for t in h.tickets] == [True, False, False]
    assert h.open_tickets[0].number and h.tickets[0].leaf_code == "101.01"
    assert [c.id for c in h.calls] == [recent] and h.calls[0].ticket_id == newer_closed
    assert h.repeat_caller and h.known


def test_caller_history_of_a_new_or_unparseable_number_is_empty(store: Store) -> None:
    with store.read() as s:
        new = caller_history.caller_history(s, "13700000000", T0)
        junk = caller_history.caller_history(s, "anonymous", T0)
    assert not new.known and not new.repeat_caller and new.masked_phone == "137****0000"
    assert junk.phone is None and not junk.known


def test_first_call_of_a_number_is_not_a_repeat(store: Store) -> None:
    ringing = inbound(store, T0, answered=None, ended=1)
    with store.read() as s:
        h = caller_history.caller_history(s, MOBILE, T0 + S, exclude_call_id=ringing)
    assert h.caller_id is not None and not h.repeat_caller and h.calls == ()


def test_missed_calls_group_by_number_and_leave_when_reached_or_called_back(store: Store) -> None:
    a1 = inbound(store, T0, answered=None, ended=20, reason="cancelled")
    a2 = inbound(store, T0 + dt.timedelta(minutes=5), answered=None, ended=10, reason="abandoned")
    b = inbound(
        store, T0 + dt.timedelta(minutes=1), "13900001111", answered=None, ended=9, reason="cancelled"
    )
    inbound(store, T0 + dt.timedelta(minutes=2), "13700002222", answered=None, ended=3, reason="rejected")
    c = inbound(
        store, T0 + dt.timedelta(minutes=3), "13600003333", answered=None, ended=9, reason="cancelled"
    )
    inbound(store, T0 + dt.timedelta(minutes=4), "13600003333")  # called again and got through
    inbound(store, T0 - dt.timedelta(days=2), "13500004444", answered=None, ended=9, reason="cancelled")
    with store.read() as s:
        missed = worklists.missed_calls(s, T0 - dt.timedelta(hours=1))
        with_rejected = worklists.missed_calls(s, T0 - dt.timedelta(hours=1), include_rejected=True)
    assert [(m.call_id, m.call_ids) for m in missed] == [(a2, (a2, a1)), (b, (b,))]
    assert missed[0].attempts == 2 and missed[0].masked_number == "138****5678"
    assert c not in {i for m in missed for i in m.call_ids}
    assert len(with_rejected) == 3
    back = cid()
    with store.session() as s:
        calls.open_call(
            s,
            call_id=back,
            direction="out",
            remote_number=MOBILE,
            display_name=None,
            at=T0 + dt.timedelta(minutes=30),
        )
        assert sorted(
            worklists.mark_called_back(s, a1, T0 + dt.timedelta(minutes=31), by_call_id=back)
        ) == sorted([a1, a2])
        assert worklists.mark_called_back(s, a2, T0 + dt.timedelta(minutes=31)) == []
    with store.read() as s:
        assert [m.call_id for m in worklists.missed_calls(s, T0 - dt.timedelta(hours=1))] == [b]
        assert [e.kind for e in calls.call_events(s, a1)][-1] == "called_back"


def test_an_answered_callback_removes_the_number_from_the_missed_list(store: Store) -> None:
    inbound(store, T0, answered=None, ended=20, reason="cancelled")
    back = cid()
    with store.session() as s:
        calls.open_call(
            s,
            call_id=back,
            direction="out",
            remote_number=MOBILE,
            display_name=None,
            at=T0 + dt.timedelta(minutes=10),
        )
        calls.answer_call(s, back, T0 + dt.timedelta(minutes=10, seconds=8))
    with store.read() as s:
        assert worklists.missed_calls(s, T0 - dt.timedelta(hours=1)) == []


def test_callbacks_due_lists_yesterdays_closed_tickets_with_consent(store: Store) -> None:
    day = dt.date(2026, 11, 21)
    yesterday = dt.datetime(2026, 11, 20, 23, 30, tzinfo=SHANGHAI)  # 15:30 UTC: still the 20th in Anshan
    due = ticket(store, T0 - dt.timedelta(days=3))
    close(store, due, yesterday)
    no_consent = ticket(store, T0 - dt.timedelta(days=3), callback_consent=False)
    close(store, no_consent, yesterday)
    today = ticket(store, T0 - dt.timedelta(days=3))
    close(store, today, dt.datetime(2026, 11, 21, 0, 10, tzinfo=SHANGHAI))
    earlier = ticket(store, T0 - dt.timedelta(days=5))
    close(store, earlier, T0 - dt.timedelta(days=2))
    evaluated = ticket(store, T0 - dt.timedelta(days=3))
    close(store, evaluated, yesterday - dt.timedelta(hours=1))
    from store.models import Ticket

    with store.session() as s:
        t = s.get(Ticket, evaluated)
        assert t is not None
        apply_command(s, t, "evaluate", OPERATOR, yesterday, satisfaction="满意")
    ticket(store, T0 - dt.timedelta(days=1))  # still open
    with store.read() as s:
        rows = worklists.callbacks_due(s, day)
        backlog = worklists.callbacks_due(s, day, backlog=True)
    assert [r.ticket_id for r in rows] == [due]
    assert rows[0].masked_phone == "138****5678" and rows[0].failed_attempts == 0
    assert [r.ticket_id for r in backlog] == [earlier, due]


def test_agent_sessions_and_states(store: Store) -> None:
    from store.users import add_user

    with store.session() as s:
        uid = add_user(s, "alice", "operator", "correct horse battery staple", T0).id
    with store.session() as s:
        first = agents.start_agent_session(s, uid, T0, seat="A-01")
        agents.set_agent_state(s, uid, AgentState.READY, T0 + S)
        agents.set_agent_state(s, uid, AgentState.READY, T0 + 2 * S)  # a repeat writes nothing
        agents.set_agent_state(s, uid, AgentState.PAUSED, T0 + 3 * S, reason="培训")
        with pytest.raises(calls.CallError):
            agents.set_agent_state(s, uid, AgentState.READY, T0 + 4 * S, reason="why")
        with pytest.raises(calls.CallError):
            agents.set_agent_state(s, uid, "sleeping", T0 + 4 * S)
        second = agents.start_agent_session(s, uid, T0 + 10 * S, seat="A-02")  # ends the stale one
        agents.end_agent_session(s, second.id, T0 + 20 * S)
        agents.end_agent_session(s, second.id, T0 + 21 * S)
    with store.read() as s:
        states = [
            (r.state, r.reason, r.session_id)
            for r in s.scalars(select(AgentStateChange).order_by(AgentStateChange.id))
        ]
        ended = {r.id: r.ended_at for r in s.scalars(select(AgentSession))}
        current = agents.current_agent_state(s, uid)
    assert states == [
        ("ready", None, first.id),
        ("paused", "培训", first.id),
        ("offline", None, second.id),
    ]
    assert ended == {first.id: T0 + 10 * S, second.id: T0 + 20 * S}
    assert current is not None and current.state is AgentState.OFFLINE


def test_event_rows_cascade_with_their_call(store: Store) -> None:
    call_id = inbound(store)
    with store.read() as s:
        assert s.scalar(select(func.count(CallEvent.id)).where(CallEvent.call_id == call_id)) == 3
