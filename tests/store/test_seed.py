"""The history generator: consistent with the lifecycle, varied, reproducible, safe to follow."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import pytest
from sqlalchemy import func, select

from store.db import Store, open_store
from store.invariants import violations
from store.kpi.report import compute_kpis, rollups_match_tables
from store.kpi.rollups import kpi_dirty_days
from store.models import Call, Caller, Evaluation, Ticket, TicketCounter, TicketEvent
from store.seed import seed
from store.seed_data import PLACEHOLDER_LEAVES, SeedLeaf, leaves_from_taxonomy
from store.seed_history import Encoder
from store.tickets import Actor, TicketDraft, create_ticket, encode_value, replay, ticket_fields
from store.workcal import SHANGHAI

UNTIL = dt.datetime(2026, 11, 20, 4, 0, tzinfo=dt.UTC)


@pytest.fixture
def seeded(store: Store) -> Store:
    seed(store, tickets=1200, days=40, seed=7, until=UNTIL, batch_size=500)
    return store


def test_every_ticket_replays_and_is_valid(seeded: Store) -> None:
    with seeded.read() as s:
        tickets = s.scalars(select(Ticket)).all()
        events = defaultdict(list)
        for ev in s.scalars(select(TicketEvent)):
            events[ev.ticket_id].append(ev)
        assert len(tickets) == 1200
        for t in tickets:
            row = ticket_fields(t)
            assert violations(row) == [], (t.number, violations(row))
            rebuilt = replay(events[t.id])
            for name, value in rebuilt.items():
                assert value == row[name], (t.number, name)
            assert t.version == len({e.command + e.at.isoformat() for e in events[t.id]})
            assert t.created_at <= t.updated_at <= UNTIL


def test_history_is_varied_like_a_real_centre(seeded: Store) -> None:
    with seeded.read() as s:

        def count(*cond: object) -> int:
            return s.scalar(select(func.count()).select_from(Ticket).where(*cond)) or 0

        assert count(Ticket.dispatched_at.is_(None), Ticket.closed_at.is_not(None)) > 100  # 直接办结
        assert count(Ticket.return_count > 0) > 10  # 退单 → 改派
        assert count(Ticket.rehandle_count > 0) > 2  # 重办
        assert count(Ticket.extension == "approved") > 3 and count(Ticket.extension == "refused") > 0
        assert count(Ticket.supervised.is_(True)) > 5 and count(Ticket.urge_count > 0) > 20
        assert count(Ticket.satisfaction == "不满意") > 2
        assert count(Ticket.closed_at > Ticket.deadline) > 20  # late
        assert count(Ticket.status == "已并单") > 3 and count(Ticket.status == "已归档") > 100
        assert count(Ticket.status.in_(("已派单", "已签收", "办理中"))) > 5  # still open at the end
        assert len(set(s.scalars(select(Ticket.district)))) == 10
        assert len(set(s.scalars(select(Ticket.leaf_code)))) > 30
        assert len(set(s.scalars(select(Ticket.board)))) >= 5
        repeat = s.execute(select(Ticket.caller_id).group_by(Ticket.caller_id).having(func.count() > 3)).all()
        assert len(repeat) > 5  # frequent callers
        hours = [t.astimezone(SHANGHAI).hour for t in s.scalars(select(Ticket.created_at))]
        assert sum(1 for h in hours if 9 <= h < 12) > 3 * sum(1 for h in hours if 2 <= h < 5)  # day/night
        evaluations = s.scalar(select(func.count()).select_from(Evaluation)) or 0
        assert evaluations >= count(Ticket.satisfaction.is_not(None)) > 300  # re-handled: evaluated twice
        n_in = s.scalar(select(func.count()).select_from(Call).where(Call.direction == "in")) or 0
        assert n_in > 1000  # phone tickets (90 %) plus abandoned and ghost calls
        assert (
            s.scalar(select(func.count()).select_from(Call).where(Call.end_reason == "abandoned")) or 0
        ) > 20
        assert (s.scalar(select(func.count()).select_from(Call).where(Call.direction == "out")) or 0) > 300
        assert s.scalar(select(func.count()).select_from(Caller)) == len(
            set(s.scalars(select(Ticket.caller_id)))
        )


def test_kpis_from_rollups_match_the_tables(seeded: Store) -> None:
    with seeded.read() as s:
        # the seed's own rows marked their days dirty; its closing rebuild leaves nothing to refresh
        assert s.execute(select(func.count()).select_from(kpi_dirty_days)).scalar_one() == 0
        assert rollups_match_tables(s)
        rep = compute_kpis(s, None, None, None, now=UNTIL)
    assert rep.source == "rollup"
    c = rep.total.cases
    assert 0.85 < (c.satisfaction_rate.value or 0) <= 1 and 0.6 < (c.on_time_close_rate.value or 0) < 1
    assert rep.total.calls is not None and 0.8 < (rep.total.calls.answer_rate.value or 0) < 1


def test_the_service_continues_after_seeded_numbers_and_ids(seeded: Store) -> None:
    day = dt.datetime(2026, 11, 19, 10, 0, tzinfo=SHANGHAI)
    with seeded.read() as s:
        seeded_numbers = set(s.scalars(select(Ticket.number)))
        counter = s.get(TicketCounter, "AS20261119")
        assert counter is not None and counter.last == sum(
            1 for n in seeded_numbers if n.startswith("AS20261119")
        )
    with seeded.session() as s:
        t = create_ticket(
            s,
            TicketDraft(nature="投诉", description="新工单", caller_phone="13912345678"),
            Actor("op1", "operator"),
            day,
        )
        number = t.number
    assert number not in seeded_numbers and number.startswith("AS20261119")
    report = seed(seeded, tickets=50, days=3, seed=7, until=UNTIL)  # a second run on the same store
    assert report.tickets == 50
    with seeded.read() as s:
        assert s.scalar(select(func.count(func.distinct(Ticket.number)))) == 1251
        assert rollups_match_tables(s)


def test_reproducible_with_the_same_seed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    def digest(name: str) -> list[tuple[object, ...]]:
        st = open_store(f"sqlite:///{tmp_path / name}")
        try:
            seed(st, tickets=200, days=10, seed=3, until=UNTIL)
            with st.read() as s:
                return [
                    tuple(r)
                    for r in s.execute(
                        select(
                            Ticket.number, Ticket.status, Ticket.leaf_code, Ticket.created_at, Ticket.deadline
                        ).order_by(Ticket.id)
                    )
                ]
        finally:
            st.close()

    assert digest("a.sqlite3") == digest("b.sqlite3")


def test_leaves_are_a_parameter(sqlite_store: Store) -> None:
    leaves = [SeedLeaf("999001", "测试叶子", "测试部门", natures=("投诉",))]
    seed(sqlite_store, tickets=30, days=5, seed=1, until=UNTIL, leaves=leaves)
    with sqlite_store.read() as s:
        assert set(s.scalars(select(Ticket.leaf_code))) == {"999001"}
    assert len(PLACEHOLDER_LEAVES) >= 30


def test_the_real_taxonomy_can_be_the_leaf_source(sqlite_store: Store) -> None:
    from taxonomy.model import load_departments, load_taxonomy

    names = {d.id: d.name for d in load_departments().values()}
    leaves = leaves_from_taxonomy(load_taxonomy().leaves(), names)
    assert len(leaves) > 1000 and all(leaf.department for leaf in leaves)
    seed(sqlite_store, tickets=300, days=10, seed=2, until=UNTIL, leaves=leaves)
    with sqlite_store.read() as s:
        codes = set(s.scalars(select(Ticket.leaf_code)))
        depts = set(s.scalars(select(Ticket.department)))
    assert codes <= {leaf.code for leaf in leaves} and len(codes) > 100
    assert "鞍山市热力有限公司" in depts or len(depts) > 10


def test_fast_encoder_writes_what_the_service_writes() -> None:
    enc = Encoder()
    for value in (
        dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC),
        dt.datetime(2026, 1, 2, 11, tzinfo=SHANGHAI),
        "铁东区",
        'say "hi"',
        "a\\b",
        "tab\there",
        "行1\n行2",
        "\u2028",
        0,
        3,
        True,
        False,
        [],
        ["rl", "swjt"],
        None,
    ):
        assert enc(value) == encode_value(value), value
        assert enc(value) == encode_value(value), value  # cached


def test_every_seeded_answered_call_says_how_it_was_wrapped_up(seeded: Store) -> None:
    with seeded.read() as s:
        rows = s.execute(select(Call.answered_at, Call.ticket_id, Call.disposition)).all()
    answered = [(ticket, disposition) for at, ticket, disposition in rows if at is not None]
    assert answered and all(d == ("已建工单" if t is not None else "咨询已答复") for t, d in answered)
    assert all(d is None for at, _, d in rows if at is None)  # no wrap-up without an answer
