"""Every KPI against a small hand-computed fixture, on SQLite and PostgreSQL, from roll-ups and tables.

The fixture (Anshan times; period [2026-11-01, 2026-11-08); "now" = 2026-11-05 12:00):

  T1 群众诉求/rl/铁东区  11-02 09:00 直接办结 09:10, 满意
  T2 群众诉求/rl/铁东区  11-02 10:00 派 10:30, 签收 11:00 (0.5 h), 答复 11-03 09:00, 办结 10:00,
                         deadline 11-03 10:30 (both on time), 基本满意
  T3 群众诉求/swjt/铁西区 11-02 11:00 派 11:10, 签收 11-03 12:00 (24 h 50 min), deadline 11-03 11:10,
                         答复 15:00 and 办结 16:00 (both late), 不满意, returned once, re-handled once
  T4 企业服务/swjt/铁西区 11-03 08:00 派 08:30, not signed for, deadline 11-03 12:00 → overdue
  T5 企业服务/gdgs/立山区 11-03 09:00 派 09:05, 签收 11:05 (2 h), 办理中, deadline 11-10 → not overdue
  T6 群众诉求/rl/铁东区  11-03 10:00 已并单 → left out of every case KPI
  T8 群众诉求/-/铁东区   11-07 23:30 已受理
  outside: T7 10-31 23:00, T9 11-08 00:30 (local day boundaries)

Expected: received 6, merged 1, dispatched 4 (T2-T5), closed 3 (T1-T3)
  办结率 3/6, 直接办结 1/6, 按时办结率 1/2 (T2 of T2,T3), 按时反馈率 1/2, 及时签收率 (24 h) 2/3
  (T2, T5 of T2, T3, T5), (1 h) 1/3, 回访满意率 2/3, 回退率 1/4, 重办率 1/3, overdue open 1/2 (T4 of T4, T5)

Calls (inbound unless noted): C1 answered after 10 s, talk 120 s; C2 after exactly 15 s, talk 300 s;
C3 after 40 s, talk 60 s; C4 abandoned after 30 s; C5 rejected as ghost; C6 outbound (ignored);
C7 answered after 5 s, still talking; C8 10-31 23:59 (outside).
Expected: offered 6, 接通率 4/6, service level (15 s) 3/6, (10 s) 2/6, abandon rate 1/6, AHT 160 s.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Column, delete, select
from sqlalchemy.sql.visitors import iterate

import store
from store.db import Store, open_store
from store.kpi.measures import call_measures, ticket_measures
from store.kpi.report import KpiReport, compute_kpis, rollups_match_tables
from store.kpi.rollups import kpi_dirty_days, kpi_ticket_daily, rebuild_rollups, refresh_rollups
from store.models import Call, Ticket
from store.workcal import SHANGHAI

FROM, TO = dt.date(2026, 11, 1), dt.date(2026, 11, 8)
NOW = dt.datetime(2026, 11, 5, 12, 0, tzinfo=SHANGHAI)


def at(m: int, d: int, h: int, mi: int = 0, s: int = 0) -> dt.datetime:
    return dt.datetime(2026, m, d, h, mi, s, tzinfo=SHANGHAI)


def _ticket(
    n: int, status: str, board: str, dept: str | None, district: str, created: dt.datetime, **kw: Any
) -> Ticket:
    return Ticket(
        number=f"AS{n:04d}",
        client_request_id=f"crid-{n}",
        status=status,
        board=board,
        department=dept,
        district=district,
        leaf_code=f"10100{n}",
        created_at=created,
        updated_at=created,
        nature="投诉",
        **kw,
    )


def tickets() -> list[Ticket]:
    return [
        _ticket(
            1,
            "已回访",
            "群众诉求",
            "rl",
            "铁东区",
            at(11, 2, 9),
            closed_at=at(11, 2, 9, 10),
            satisfaction="满意",
        ),
        _ticket(
            2,
            "已回访",
            "群众诉求",
            "rl",
            "铁东区",
            at(11, 2, 10),
            dispatched_at=at(11, 2, 10, 30),
            accepted_at=at(11, 2, 11),
            replied_at=at(11, 3, 9),
            closed_at=at(11, 3, 10),
            deadline=at(11, 3, 10, 30),
            satisfaction="基本满意",
        ),
        _ticket(
            3,
            "已回访",
            "群众诉求",
            "swjt",
            "铁西区",
            at(11, 2, 11),
            dispatched_at=at(11, 2, 11, 10),
            accepted_at=at(11, 3, 12),
            replied_at=at(11, 3, 15),
            closed_at=at(11, 3, 16),
            deadline=at(11, 3, 11, 10),
            satisfaction="不满意",
            return_count=1,
            rehandle_count=1,
        ),
        _ticket(
            4,
            "已派单",
            "企业服务",
            "swjt",
            "铁西区",
            at(11, 3, 8),
            dispatched_at=at(11, 3, 8, 30),
            deadline=at(11, 3, 12),
        ),
        _ticket(
            5,
            "办理中",
            "企业服务",
            "gdgs",
            "立山区",
            at(11, 3, 9),
            dispatched_at=at(11, 3, 9, 5),
            accepted_at=at(11, 3, 11, 5),
            deadline=at(11, 10, 9, 5),
        ),
        _ticket(6, "已并单", "群众诉求", "rl", "铁东区", at(11, 3, 10)),
        _ticket(7, "已受理", "群众诉求", "rl", "铁东区", at(10, 31, 23)),
        _ticket(8, "已受理", "群众诉求", None, "铁东区", at(11, 7, 23, 30)),
        _ticket(9, "已受理", "群众诉求", "rl", "铁东区", at(11, 8, 0, 30)),
    ]


def _call(
    cid: str,
    offered: dt.datetime,
    answer_after: int | None,
    end_after: int | None,
    reason: str | None = None,
    direction: str = "in",
) -> Call:
    return Call(
        id=cid,
        direction=direction,
        remote_number="13812345678",
        offered_at=offered,
        answered_at=None if answer_after is None else offered + dt.timedelta(seconds=answer_after),
        ended_at=None if end_after is None else offered + dt.timedelta(seconds=end_after),
        end_reason=reason,
    )


def calls() -> list[Call]:
    return [
        _call("c1", at(11, 2, 9), 10, 130, "remote_bye"),
        _call("c2", at(11, 2, 10), 15, 315, "local_hangup"),
        _call("c3", at(11, 2, 11), 40, 100, "remote_bye"),
        _call("c4", at(11, 3, 8), None, 30, "abandoned"),
        _call("c5", at(11, 3, 9), None, 2, "rejected"),
        _call("c6", at(11, 3, 10), 3, 60, "remote_bye", direction="out"),
        _call("c7", at(11, 3, 11), 5, None),
        _call("c8", at(10, 31, 23, 59), 5, 50, "remote_bye"),
    ]


@pytest.fixture
def filled(store: Store) -> Store:
    with store.session() as s:  # ORM writes: the triggers mark their days dirty
        s.add_all(tickets())
        s.add_all(calls())
    return store


def r(report_part: Any, name: str) -> tuple[int, int]:
    ratio = getattr(report_part, name)
    return ratio.numerator, ratio.denominator


def check_totals(rep: KpiReport, accept_1h: bool = False) -> None:
    c = rep.total.cases
    assert (c.received, c.merged, c.dispatched, c.closed, c.evaluated) == (6, 1, 4, 3, 3)
    assert r(c, "completion_rate") == (3, 6)
    assert r(c, "direct_close_share") == (1, 6)
    assert r(c, "on_time_close_rate") == (1, 2)
    assert r(c, "on_time_reply_rate") == (1, 2)
    assert r(c, "timely_accept_rate") == ((1, 3) if accept_1h else (2, 3))
    assert r(c, "satisfaction_rate") == (2, 3)
    assert r(c, "return_rate") == (1, 4)
    assert r(c, "rehandle_rate") == (1, 3)
    assert r(c, "overdue_open") == (1, 2)


def check_calls(rep: KpiReport, sl: tuple[int, int] = (3, 6)) -> None:
    k = rep.total.calls
    assert k is not None
    assert (k.offered, k.answered, k.abandoned, k.rejected, k.talk_calls) == (6, 4, 1, 1, 3)
    assert r(k, "answer_rate") == (4, 6)
    assert r(k, "service_level") == sl
    assert r(k, "abandon_rate") == (1, 6)
    assert k.aht_seconds == pytest.approx(160.0)


@pytest.mark.parametrize("source", ["auto", "tables"])
def test_totals(filled: Store, source: str) -> None:
    with filled.read() as s:
        rep = compute_kpis(s, FROM, TO, None, now=NOW, source=source)  # type: ignore[arg-type]
        assert rep.source == ("rollup" if source == "auto" else "tables")
        check_totals(rep)
        check_calls(rep)
        check_totals(compute_kpis(s, FROM, TO, None, now=NOW, accept_within_hours=1, source=source), True)  # type: ignore[arg-type]
        check_calls(
            compute_kpis(s, FROM, TO, None, now=NOW, service_level_seconds=10, source=source),  # type: ignore[arg-type]
            sl=(2, 6),
        )


def test_thresholds_outside_the_buckets_and_datetime_bounds_use_the_tables(filled: Store) -> None:
    with filled.read() as s:
        rep = compute_kpis(s, FROM, TO, None, now=NOW, accept_within_hours=25)
        assert rep.source == "tables" and r(rep.total.cases, "timely_accept_rate") == (3, 3)
        start = dt.datetime.combine(FROM, dt.time(0), SHANGHAI).astimezone(dt.UTC)
        end = dt.datetime.combine(TO, dt.time(0), SHANGHAI)
        rep = compute_kpis(s, start, end, None, now=NOW)
        assert rep.source == "tables"
        check_totals(rep)
        check_calls(rep)


@pytest.mark.parametrize("source", ["auto", "tables"])
def test_by_board(filled: Store, source: str) -> None:
    with filled.read() as s:
        rep = compute_kpis(s, FROM, TO, "board", now=NOW, source=source)  # type: ignore[arg-type]
    groups = {g.key: g for g in rep.groups}
    assert set(groups) == {"群众诉求", "企业服务"}
    a, b = groups["群众诉求"].cases, groups["企业服务"].cases
    assert (a.received, a.merged, a.dispatched, a.closed) == (4, 1, 2, 3)
    assert r(a, "on_time_close_rate") == (1, 2) and r(a, "satisfaction_rate") == (2, 3)
    assert r(a, "overdue_open") == (0, 0) and r(a, "timely_accept_rate") == (1, 2)
    assert (b.received, b.dispatched, b.closed) == (2, 2, 0)
    assert r(b, "overdue_open") == (1, 2) and r(b, "timely_accept_rate") == (1, 1)
    assert groups["群众诉求"].calls is None
    check_totals(rep)


@pytest.mark.parametrize("source", ["auto", "tables"])
def test_by_department_district_day_leaf(filled: Store, source: str) -> None:
    with filled.read() as s:
        dept = {
            g.key: g.cases for g in compute_kpis(s, FROM, TO, "department", now=NOW, source=source).groups
        }  # type: ignore[arg-type]
        dist = {g.key: g.cases for g in compute_kpis(s, FROM, TO, "district", now=NOW, source=source).groups}  # type: ignore[arg-type]
        day_rep = compute_kpis(s, FROM, TO, "day", now=NOW, source=source)  # type: ignore[arg-type]
        leaf = {g.key: g.cases for g in compute_kpis(s, FROM, TO, "leaf", now=NOW, source=source).groups}  # type: ignore[arg-type]
    assert {k: v.received for k, v in dept.items()} == {"rl": 2, "swjt": 2, "gdgs": 1, "": 1}
    assert r(dept["swjt"], "overdue_open") == (1, 1) and r(dept["swjt"], "return_rate") == (1, 2)
    assert {k: v.received for k, v in dist.items()} == {"铁东区": 3, "铁西区": 2, "立山区": 1}
    days = {g.key: g for g in day_rep.groups}
    assert {k: g.cases.received for k, g in days.items()} == {
        "2026-11-02": 3,
        "2026-11-03": 2,
        "2026-11-07": 1,
    }
    c2 = days["2026-11-02"].calls
    assert c2 is not None and (c2.offered, c2.answered) == (3, 3) and c2.aht_seconds == pytest.approx(160.0)
    c3 = days["2026-11-03"].calls
    assert c3 is not None and (c3.offered, c3.answered, c3.abandoned) == (3, 1, 1)
    check_totals(day_rep)
    check_calls(day_rep)
    assert leaf["101003"].closed == 1 and leaf["101006"].merged == 1 and len(leaf) == 7


def test_rollups_follow_orm_changes_and_rebuild_agrees(filled: Store) -> None:
    with filled.session() as s:
        t4 = s.scalars(select(Ticket).where(Ticket.number == "AS0004")).one()
        t4.accepted_at, t4.status, t4.department = at(11, 3, 9), "已签收", "rl"  # moves between departments
        t5 = s.scalars(select(Ticket).where(Ticket.number == "AS0005")).one()
        t5.replied_at, t5.closed_at, t5.status, t5.satisfaction = (
            at(11, 4, 9),
            at(11, 4, 10),
            "已办结",
            "满意",
        )
        s.delete(s.scalars(select(Ticket).where(Ticket.number == "AS0008")).one())
        c7 = s.get(Call, "c7")
        assert c7 is not None
        c7.ended_at = c7.offered_at + dt.timedelta(seconds=65)
    with filled.read() as s:
        rep = compute_kpis(s, FROM, TO, None, now=NOW)
        assert rep.source == "rollup"
        c = rep.total.cases
        assert (c.received, c.closed, c.evaluated) == (5, 4, 4)
        assert r(c, "on_time_close_rate") == (2, 3) and r(c, "timely_accept_rate") == (3, 4)
        assert r(c, "overdue_open") == (1, 1)  # T4 signed for, still held and late; T5 closed
        assert rep.total.calls is not None and rep.total.calls.aht_seconds == pytest.approx(135.0)
        dept = {g.key: g.cases.received for g in compute_kpis(s, FROM, TO, "department", now=NOW).groups}
        assert dept == {"rl": 3, "swjt": 1, "gdgs": 1}
        assert rollups_match_tables(s)
        before = s.execute(select(kpi_ticket_daily).order_by(*kpi_ticket_daily.primary_key.columns)).all()
    with filled.engine.begin() as conn:
        rebuild_rollups(conn)
    with filled.read() as s:
        after = s.execute(select(kpi_ticket_daily).order_by(*kpi_ticket_daily.primary_key.columns)).all()
    nonzero = lambda rows: [row for row in rows if any(row[3:])]  # noqa: E731 - deltas may leave zero rows
    assert nonzero(before) == nonzero(after)


def _core_ticket(number: str, created: dt.datetime, **kw: Any) -> dict[str, Any]:
    return dict(
        number=number,
        client_request_id=f"core-{number}",
        status="已受理",
        created_at=created,
        updated_at=created,
        urgency="一般",
        channel="phone",
        callback_consent=True,
        co_departments=[],
        extension_days=0,
        urge_count=0,
        supervised=False,
        return_count=0,
        rehandle_count=0,
        version=1,
        district="铁东区",
        board="群众诉求",
        **kw,
    )


def _report_matches_tables(store: Store, by: str | None = None) -> KpiReport:
    with store.read() as s:
        fast = compute_kpis(s, FROM, TO, by, now=NOW)
        slow = compute_kpis(s, FROM, TO, by, now=NOW, source="tables")
        assert fast.source == "rollup"
        assert fast.as_json()["groups"] == slow.as_json()["groups"] and fast.total == slow.total
        assert rollups_match_tables(s)
    return fast


def test_core_writes_are_counted(filled: Store) -> None:
    t = Ticket.__table__
    with filled.engine.begin() as conn:  # Core: no ORM involved; the triggers mark the day
        conn.execute(t.insert().values(**_core_ticket("AS9999", at(11, 4, 9))))
    assert _report_matches_tables(filled).total.cases.received == 7
    with filled.engine.begin() as conn:  # moves the ticket to another day and closes it
        conn.execute(
            t.update()
            .where(t.c.number == "AS9999")
            .values(created_at=at(11, 6, 9), closed_at=at(11, 6, 10), status="已办结")
        )
    rep = _report_matches_tables(filled, "day")
    assert {g.key: g.cases.closed for g in rep.groups}["2026-11-06"] == 1
    with filled.engine.begin() as conn:
        conn.execute(t.delete().where(t.c.number.in_(["AS9999", "AS0001"])))
        conn.execute(Call.__table__.delete().where(Call.__table__.c.id == "c1"))
    rep = _report_matches_tables(filled)
    assert rep.total.cases.received == 5 and rep.total.calls is not None and rep.total.calls.offered == 5


def test_unwatched_columns_mark_nothing(filled: Store) -> None:
    with filled.engine.begin() as conn:
        rebuild_rollups(conn)
        conn.execute(Ticket.__table__.update().values(urge_count=Ticket.__table__.c.urge_count + 1))
        assert conn.execute(select(kpi_dirty_days)).all() == []
        conn.execute(
            Ticket.__table__.update().where(Ticket.__table__.c.number == "AS0004").values(status="已签收")
        )
        assert conn.execute(select(kpi_dirty_days.c.kind, kpi_dirty_days.c.day)).all() == [
            ("ticket", "2026-11-03")
        ]


def test_the_triggers_watch_every_column_the_measures_read() -> None:
    path = Path(store.__file__).parent / "migrations" / "versions" / "0003_kpi_dirty_days.py"
    spec = importlib.util.spec_from_file_location("migration_0003", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    watched = {table: set(cols) for table, _kind, _day, cols in migration.WATCHED}

    def read(measures: dict[str, Any]) -> set[str]:
        return {e.name for m in measures.values() for e in iterate(m) if isinstance(e, Column)}

    assert (
        read(ticket_measures()) | {"created_at", "board", "department", "district", "leaf_code"}
        <= watched["tickets"]
    )
    assert read(call_measures()) <= watched["calls"]


def test_days_around_midnight_in_anshan(store: Store) -> None:
    t = Ticket.__table__
    with store.engine.begin() as conn:
        conn.execute(delete(kpi_dirty_days))
        conn.execute(
            t.insert(),
            [
                _core_ticket("AS0001", at(11, 3, 23, 59)),
                _core_ticket("AS0002", at(11, 4, 0, 1)),
                _core_ticket("AS0003", at(11, 4, 23, 59, 59)),
            ],
        )
        days = conn.execute(select(kpi_dirty_days.c.day).order_by(kpi_dirty_days.c.day)).scalars().all()
    assert days == ["2026-11-03", "2026-11-04"]  # 15:59 and 16:01 UTC on the 3rd, 15:59 on the 4th
    rep = _report_matches_tables(store, "day")
    assert {g.key: g.cases.received for g in rep.groups} == {"2026-11-03": 1, "2026-11-04": 2}
    with store.engine.begin() as conn:  # one minute later: 00:00 on the 4th, so the 4th
        conn.execute(t.update().where(t.c.number == "AS0001").values(created_at=at(11, 4, 0, 0)))
    rep = _report_matches_tables(store, "day")
    assert {g.key: g.cases.received for g in rep.groups} == {"2026-11-04": 3}
    with store.read() as s:
        assert compute_kpis(s, dt.date(2026, 11, 4), dt.date(2026, 11, 5), now=NOW).total.cases.received == 3


_SERVICE_WITHOUT_KPI = """
import datetime as dt, sys
from store.db import open_store
from store.tickets import Actor, TicketDraft, apply_command, create_ticket
from store.workcal import SHANGHAI
store = open_store(sys.argv[1])
t0 = dt.datetime(2026, 11, 3, 9, tzinfo=SHANGHAI)
op = Actor("op1", "operator")
with store.session() as s:
    t = create_ticket(s, TicketDraft(nature="咨询", description="问政策", caller_phone="13912345678"), op, t0)
    apply_command(s, t, "close_direct", op, t0 + dt.timedelta(minutes=3), answer="已解答")
store.close()
assert "store.kpi" not in sys.modules, "the point of this test: a writer that never imports store.kpi"
"""


def test_a_writer_that_never_imports_store_kpi(filled: Store) -> None:
    with filled.read() as s:
        assert compute_kpis(s, FROM, TO, now=NOW).total.cases.received == 6  # refreshed, clean
    url = filled.engine.url.render_as_string(hide_password=False)
    subprocess.run([sys.executable, "-c", _SERVICE_WITHOUT_KPI, url], check=True, timeout=120)
    rep = _report_matches_tables(filled)
    assert (rep.total.cases.received, rep.total.cases.closed) == (7, 4)


@pytest.mark.postgres
def test_concurrent_refreshers_and_writers_on_postgresql(pg_url: str) -> None:
    store_ = open_store(pg_url)
    try:
        t = Ticket.__table__
        with store_.engine.begin() as conn:
            conn.execute(
                t.insert(),
                [
                    _core_ticket(f"AS{i:04d}", at(10, 1, 9) + dt.timedelta(days=i % 30, hours=i % 7))
                    for i in range(300)
                ],
            )
        start = threading.Barrier(3, timeout=30)
        errors: list[BaseException] = []

        def refresher() -> None:
            try:
                start.wait()
                for _ in range(5):
                    with store_.engine.begin() as conn:
                        refresh_rollups(conn)
            except BaseException as exc:
                errors.append(exc)

        def writer() -> None:
            try:
                start.wait()
                for i in range(0, 300, 10):
                    with store_.engine.begin() as conn:
                        conn.execute(
                            t.update()
                            .where(t.c.number == f"AS{i:04d}")
                            .values(
                                status="已办结", closed_at=at(10, 1, 9) + dt.timedelta(days=i % 30, hours=8)
                            )
                        )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=f) for f in (refresher, refresher, writer)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(timeout=60)
        assert not any(th.is_alive() for th in threads) and errors == []
        with store_.read() as s:
            rep = compute_kpis(s, dt.date(2026, 10, 1), dt.date(2026, 11, 1), now=NOW)
            assert rep.source == "rollup" and (rep.total.cases.received, rep.total.cases.closed) == (300, 30)
            assert rollups_match_tables(s)
        with store_.engine.begin() as conn:  # without the report's refresh: the refreshers left no day stale
            refresh_rollups(conn)
            stale = compute_kpis(conn, by="day", now=NOW).as_json()["groups"]
            assert stale == compute_kpis(conn, by="day", now=NOW, source="tables").as_json()["groups"]
    finally:
        store_.close()


def test_unknown_grouping_and_naive_bounds_are_refused(filled: Store) -> None:
    with filled.read() as s:
        with pytest.raises(ValueError, match="unknown grouping"):
            compute_kpis(s, FROM, TO, "street")
        with pytest.raises(ValueError, match="naive"):
            compute_kpis(s, dt.datetime(2026, 11, 1), None, None)


def test_as_json_is_complete(filled: Store) -> None:
    with filled.read() as s:
        out = compute_kpis(s, FROM, TO, "district", now=NOW).as_json()
    assert out["by"] == "district" and out["source"] == "rollup"
    assert out["total"]["cases"]["completion_rate"] == {"value": 0.5, "numerator": 3, "denominator": 6}
    assert out["total"]["calls"] is None
    assert {g["key"] for g in out["groups"]} == {"铁东区", "铁西区", "立山区"}


def test_the_ticket_service_keeps_the_rollups_exact(store: Store) -> None:
    from store.deadlines import DeadlineCalculator
    from store.tickets import Actor, TicketDraft, apply_command, create_ticket

    calc, op, dept = DeadlineCalculator(), Actor("op1", "operator"), Actor("backend", "backend")
    t0 = at(11, 2, 9)
    with store.session() as s:
        a = create_ticket(
            s,
            TicketDraft(
                nature="投诉",
                description="暖气不热",
                board="群众诉求",
                district="铁东区",
                leaf_code="101001",
                caller_phone="13812345678",
            ),
            op,
            t0,
        )
        b = create_ticket(
            s, TicketDraft(nature="咨询", description="问政策", caller_phone="13912345678"), op, t0
        )
        apply_command(s, b, "close_direct", op, t0 + dt.timedelta(minutes=3), answer="已解答")
        apply_command(s, a, "dispatch", op, t0 + dt.timedelta(minutes=5), deadlines=calc, department="rl")
    with store.session() as s:
        a = s.scalars(select(Ticket).where(Ticket.department == "rl")).one()
        apply_command(s, a, "accept", dept, t0 + dt.timedelta(hours=1))
        apply_command(s, a, "reply", dept, t0 + dt.timedelta(hours=5), answer="已修复")
        apply_command(s, a, "close", op, t0 + dt.timedelta(hours=6))
        apply_command(
            s,
            a,
            "evaluate",
            op,
            t0 + dt.timedelta(days=1),
            satisfaction="不满意",
            reason="仍不热",
            department_at_fault=True,
            deadlines=calc,
        )
    with store.read() as s:
        assert rollups_match_tables(s)
        rep = compute_kpis(s, FROM, TO, "department", now=NOW)
    assert rep.source == "rollup"
    c = rep.total.cases
    assert (c.received, c.dispatched, c.closed) == (2, 1, 1)  # the re-handled one is open again
    assert r(c, "direct_close_share") == (1, 2) and r(c, "satisfaction_rate") == (0, 1)
    assert {g.key for g in rep.groups} == {"rl", ""}


def test_autogenerate_agrees_on_the_dirty_days_table(store: Store) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from store.models import Base

    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    assert [d for d in diffs if "kpi_" in repr(d)] == []
