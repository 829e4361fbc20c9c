"""回访 results and 漏接回拨 tries (store.evaluations) on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from sqlalchemy import func, select

from store import calls, evaluations, worklists
from store.db import Store
from store.deadlines import DeadlineCalculator
from store.lifecycle import LifecycleError
from store.models import Call, CallEvent, Evaluation, Ticket
from store.tickets import Actor, apply_command, create_ticket, draft_from
from store.workcal import SHANGHAI

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
CLOSED_AT = dt.datetime(2026, 11, 26, 16, 0, tzinfo=SHANGHAI)
VISIT = dt.datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)
OPERATOR = Actor("alice", "operator", None)
DEPT = Actor("区住建局", "department")
MOBILE = "13812345678"


def closed_ticket(store: Store, *, dispatched: bool = True) -> int:
    draft = draft_from(
        {
            "nature": "投诉",
            "description": "暖气不热",
            "leaf_code": "101.01",
            "caller_name": "王先生",
            "caller_phone": MOBILE,
        }
    )
    with store.session() as s:
        t = create_ticket(s, draft, OPERATOR, T0)
        if dispatched:
            apply_command(s, t, "dispatch", OPERATOR, T0, department="区住建局")
            apply_command(s, t, "accept", DEPT, T0 + dt.timedelta(hours=1))
            apply_command(s, t, "reply", DEPT, T0 + dt.timedelta(days=2), answer="已修复")
            apply_command(s, t, "close", OPERATOR, CLOSED_AT)
        else:
            apply_command(s, t, "close_direct", OPERATOR, CLOSED_AT, answer="政策已解答")
        return t.id


def evaluate(store: Store, ticket_id: int, result: str, **kw: object) -> evaluations.EvaluationRecord:
    with store.session() as s:
        t = s.get(Ticket, ticket_id)
        assert t is not None
        return evaluations.record_evaluation(s, t, result, OPERATOR, VISIT, **kw)  # type: ignore[arg-type]


def test_satisfied_ends_the_ticket_evaluated_and_audited(store: Store) -> None:
    tid = closed_ticket(store)
    rec = evaluate(store, tid, "满意")
    assert (rec.result, rec.status, rec.rehandled) == ("满意", "已回访", False)
    with store.read() as s:
        t = s.get(Ticket, tid)
        assert t is not None and (t.status, t.satisfaction) == ("已回访", "满意")
        rows = evaluations.evaluations_of(s, tid)
        assert [(r.id, r.result, r.department_at_fault) for r in rows] == [(rec.evaluation_id, "满意", False)]
        assert {(e.command, e.field) for e in t.events if e.command == "evaluate"} == {
            ("evaluate", "status"),
            ("evaluate", "satisfaction"),
        }


def test_unsatisfied_with_the_department_at_fault_goes_to_rehandle(store: Store) -> None:
    tid = closed_ticket(store)
    rec = evaluate(
        store, tid, "不满意", reason="暖气仍然不热", department_at_fault=True, deadlines=DeadlineCalculator()
    )
    assert (rec.status, rec.rehandled, rec.department) == ("办理中", True, "区住建局")
    with store.read() as s:
        t = s.get(Ticket, tid)
        assert t is not None
        assert (t.status, t.rehandle_count, t.closed_at, t.satisfaction) == ("办理中", 1, None, "不满意")
        assert t.deadline is not None and t.deadline > VISIT  # the clock restarted at the 回访
        ev = [e for e in t.events if e.command == "evaluate"]
        assert {e.field for e in ev} >= {"status", "rehandle_count", "closed_at"}
        assert {e.reason for e in ev} == {"暖气仍然不热"} and {e.actor for e in ev} == {"alice"}
        (row,) = evaluations.evaluations_of(s, tid)
        assert (row.result, row.department_at_fault, row.comment) == ("不满意", True, "暖气仍然不热")


def test_unsatisfied_not_the_departments_fault_is_evaluated(store: Store) -> None:
    tid = closed_ticket(store)
    rec = evaluate(store, tid, "不满意", reason="对政策不满", department_at_fault=False)
    assert (rec.status, rec.rehandled) == ("已回访", False)


@pytest.mark.parametrize("kw", [{}, {"reason": "不好"}, {"department_at_fault": True}])
def test_unsatisfied_without_reason_or_fault_is_refused_and_changes_nothing(store: Store, kw: dict) -> None:
    tid = closed_ticket(store)
    with pytest.raises(LifecycleError):
        evaluate(store, tid, "不满意", **kw)
    with store.read() as s:
        t = s.get(Ticket, tid)
        assert t is not None and t.status == "已办结"
        assert evaluations.evaluations_of(s, tid) == []


def test_bad_results_are_refused(store: Store) -> None:
    tid = closed_ticket(store)
    with pytest.raises(evaluations.EvaluationError, match="result must be one of"):
        evaluate(store, tid, "还行")
    with pytest.raises(evaluations.EvaluationError, match="only applies"):
        evaluate(store, tid, "满意", department_at_fault=True)
    with pytest.raises(evaluations.EvaluationError, match="at most"):
        evaluate(store, tid, "满意", reason="长" * 501)
    direct = closed_ticket(store, dispatched=False)
    with pytest.raises(LifecycleError, match="no department"):
        evaluate(store, direct, "不满意", reason="不好", department_at_fault=True)
    with store.session() as s:
        t = s.get(Ticket, tid)
        assert t is not None
        with pytest.raises(LifecycleError):  # trainers change nothing
            evaluations.record_evaluation(s, t, "满意", Actor("tina", "trainer"), VISIT)
        with pytest.raises(evaluations.EvaluationError, match="may not"):
            evaluations.record_evaluation(s, t, "未接通", Actor("tina", "trainer"), VISIT)


def test_not_reached_keeps_the_ticket_due_and_counts_a_failed_attempt(store: Store) -> None:
    tid = closed_ticket(store)
    out = uuid.uuid4().hex
    rec = evaluate(store, tid, "未接通", call_id=out, dialed_number=MOBILE)
    assert (rec.status, rec.call_id) == ("已办结", out)
    with store.read() as s:
        due = worklists.callbacks_due(s, VISIT.date())
        assert [(d.ticket_id, d.failed_attempts) for d in due] == [(tid, 1)]
        call = s.get(Call, out)  # recorded so the evaluation's call id points somewhere
        assert call is not None and call.direction == "out"
    evaluate(store, tid, "基本满意", call_id=out)  # the same call, later reached: no duplicate call row
    with store.read() as s:
        assert worklists.callbacks_due(s, VISIT.date()) == []
        assert [r.result for r in evaluations.evaluations_of(s, tid)] == ["未接通", "基本满意"]
        assert s.scalar(select(func.count(Call.id))) == 1
    with pytest.raises(evaluations.EvaluationError, match="no 回访 is due"):
        evaluate(store, tid, "未接通")


def missed(store: Store, at: dt.datetime, number: str = MOBILE) -> str:
    call_id = uuid.uuid4().hex
    with store.session() as s:
        calls.open_call(s, call_id=call_id, direction="in", remote_number=number, display_name=None, at=at)
        calls.end_call(s, call_id, at + dt.timedelta(seconds=20), "cancelled")
    return call_id


def callback(store: Store, call_id: str, outcome: str, minutes: int) -> evaluations.CallbackRecord:
    with store.session() as s:
        return evaluations.record_callback(
            s,
            call_id,
            outcome,
            T0 + dt.timedelta(minutes=minutes),
            by_call_id=uuid.uuid4().hex,
            dialed_number=MOBILE,
        )


def test_callback_no_answer_stays_until_the_third_try(store: Store) -> None:
    first, latest = missed(store, T0), missed(store, T0 + dt.timedelta(minutes=1))
    since = T0 - dt.timedelta(hours=1)
    for n in (1, 2):
        rec = callback(store, latest, "no_answer", 10 * n)
        assert (rec.tries, rec.closed, rec.marked) == (n, False, ())
        with store.read() as s:
            assert [m.call_id for m in worklists.missed_calls(s, since)] == [latest]
            assert evaluations.callback_tries(s, [latest, first]) == {latest: n}
    rec = callback(store, latest, "no_answer", 30)
    assert rec.closed and sorted(rec.marked) == sorted([first, latest])
    with store.read() as s:
        assert worklists.missed_calls(s, since) == []
        kinds = [e.kind for e in calls.call_events(s, latest)]
        assert kinds.count("callback") == 3 and kinds[-1] == "called_back"


@pytest.mark.parametrize("outcome", ["reached", "wrong_number"])
def test_callback_reached_or_wrong_number_leaves_the_list(store: Store, outcome: str) -> None:
    call_id = missed(store, T0)
    other = missed(store, T0, "13900001111")
    rec = callback(store, call_id, outcome, 5)
    assert rec.closed and rec.marked == (call_id,)
    with store.read() as s:
        assert [m.call_id for m in worklists.missed_calls(s, T0 - dt.timedelta(hours=1))] == [other]
        ev = s.scalars(
            select(CallEvent).where(CallEvent.call_id == call_id, CallEvent.kind == "callback")
        ).one()
        assert ev.data["outcome"] == outcome and ev.data["tries"] == 1
        assert s.get(Call, ev.data["by_call_id"]) is not None


def test_callback_errors_change_nothing(store: Store) -> None:
    call_id = missed(store, T0)
    with pytest.raises(evaluations.EvaluationError, match="outcome must be"):
        callback(store, call_id, "maybe", 1)
    with pytest.raises(evaluations.EvaluationError, match="no call"):
        callback(store, "nope", "reached", 1)
    answered = uuid.uuid4().hex
    with store.session() as s:
        calls.open_call(s, call_id=answered, direction="in", remote_number=MOBILE, display_name=None, at=T0)
        calls.answer_call(s, answered, T0 + dt.timedelta(seconds=3))
    with pytest.raises(evaluations.EvaluationError, match="not a missed"):
        callback(store, answered, "reached", 1)
    with store.read() as s:
        assert s.scalar(select(func.count(Evaluation.id))) == 0
        assert evaluations.callback_tries(s, [call_id]) == {}
