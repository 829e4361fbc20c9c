"""The working-day calendar against the State Council's 2025 and 2026 holiday notices, and beyond."""

from __future__ import annotations

import datetime as dt

import pytest

from store.workcal import SHANGHAI, WorkCalendar

D = dt.date

# 国务院办公厅关于2025年部分节假日安排的通知: holidays (incl. the weekends inside them) and make-up days.
HOLIDAYS_2025 = {
    "元旦": [D(2025, 1, 1)],
    "春节": [D(2025, 1, 28) + dt.timedelta(days=i) for i in range(8)],  # 1/28-2/4
    "清明": [D(2025, 4, 4), D(2025, 4, 5), D(2025, 4, 6)],
    "劳动节": [D(2025, 5, i) for i in range(1, 6)],
    "端午": [D(2025, 5, 31), D(2025, 6, 1), D(2025, 6, 2)],
    "国庆中秋": [D(2025, 10, i) for i in range(1, 9)],
}
MAKEUP_2025 = [D(2025, 1, 26), D(2025, 2, 8), D(2025, 4, 27), D(2025, 9, 28), D(2025, 10, 11)]

# 国务院办公厅关于2026年部分节假日安排的通知.
HOLIDAYS_2026 = {
    "元旦": [D(2026, 1, 1), D(2026, 1, 2), D(2026, 1, 3)],
    "春节": [D(2026, 2, 15) + dt.timedelta(days=i) for i in range(9)],  # 2/15-2/23
    "清明": [D(2026, 4, 4), D(2026, 4, 5), D(2026, 4, 6)],
    "劳动节": [D(2026, 5, i) for i in range(1, 6)],
    "端午": [D(2026, 6, 19), D(2026, 6, 20), D(2026, 6, 21)],
    "中秋": [D(2026, 9, 25), D(2026, 9, 26), D(2026, 9, 27)],
    "国庆": [D(2026, 10, i) for i in range(1, 8)],
}
MAKEUP_2026 = [D(2026, 1, 4), D(2026, 2, 14), D(2026, 2, 28), D(2026, 5, 9), D(2026, 9, 20), D(2026, 10, 10)]


def _at(y: int, m: int, d: int, h: int = 10, mi: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, h, mi, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("holidays", "makeup", "year"), [(HOLIDAYS_2025, MAKEUP_2025, 2025), (HOLIDAYS_2026, MAKEUP_2026, 2026)]
)
def test_official_schedule(holidays: dict[str, list[dt.date]], makeup: list[dt.date], year: int) -> None:
    cal = WorkCalendar()
    off = {d for days in holidays.values() for d in days}
    for name, days in holidays.items():
        for d in days:
            assert not cal.is_workday(d), f"{name} {d}"
    for d in makeup:
        assert d.weekday() >= 5 and cal.is_workday(d), f"make-up day {d}"
    # every other day of the year: Monday-Friday work, weekends rest
    day = D(year, 1, 1)
    while day.year == year:
        if day not in off and day not in makeup:
            assert cal.is_workday(day) == (day.weekday() < 5), day
        day += dt.timedelta(days=1)


def test_add_working_days_over_spring_festival_and_makeup_days() -> None:
    cal = WorkCalendar()
    # Friday 2025-01-24 10:00 + 1 → Sunday 1/26 is a make-up working day
    assert cal.add_working_days(_at(2025, 1, 24), 1) == _at(2025, 1, 26)
    # Monday 1/27 + 1 → 1/28-2/4 is the holiday → Wednesday 2/5
    assert cal.add_working_days(_at(2025, 1, 27), 1) == _at(2025, 2, 5)
    # 2/7 (Fri) + 1 → Saturday 2/8 is a make-up day
    assert cal.add_working_days(_at(2025, 2, 7), 1) == _at(2025, 2, 8)
    # 2026: 2/13 (Fri) + 1 → Saturday 2/14 make-up; + 2 → 2/24 (after the 9-day holiday)
    assert cal.add_working_days(_at(2026, 2, 13, 16, 30), 1) == _at(2026, 2, 14, 16, 30)
    assert cal.add_working_days(_at(2026, 2, 13, 16, 30), 2) == _at(2026, 2, 24, 16, 30)
    # 2026 National Day: 9/30 + 1 → 10/8 (Thu), + 3 → 10/10 (Saturday make-up day)
    assert cal.add_working_days(_at(2026, 9, 30), 1) == _at(2026, 10, 8)
    assert cal.add_working_days(_at(2026, 9, 30), 3) == _at(2026, 10, 10)


def test_start_on_a_non_working_day_counts_from_next_working_day_start() -> None:
    cal = WorkCalendar()
    # Saturday 2026-11-28 15:00 + 1 → count from Monday 00:00 → Tuesday 00:00 (all of Monday)
    assert cal.add_working_days(_at(2026, 11, 28, 15), 1) == _at(2026, 12, 1, 0)
    assert cal.add_working_days(_at(2026, 11, 28, 15), 0) == _at(2026, 11, 30, 0)
    # during the 2025 Spring Festival: 1/30 + 5 → starts 2/5 00:00; 2/5 2/6 2/7 2/8 (make-up) 2/10 → 2/11
    assert cal.add_working_days(_at(2025, 1, 30, 9), 5) == _at(2025, 2, 11, 0)


def test_inputs_in_utc_are_read_on_the_anshan_clock() -> None:
    cal = WorkCalendar()
    # 2026-01-30 (Fri) 20:00 UTC = Saturday 04:00 in Anshan → non-working day → Monday 00:00 + 1 → Tue
    start = dt.datetime(2026, 1, 30, 20, 0, tzinfo=dt.UTC)
    got = cal.add_working_days(start, 1)
    assert got == _at(2026, 2, 3, 0) and got.utcoffset() == dt.timedelta(hours=8)
    with pytest.raises(ValueError, match="naive"):
        cal.add_working_days(dt.datetime(2026, 1, 1), 1)


def test_working_days_between_inverts_add() -> None:
    cal = WorkCalendar()
    start = _at(2025, 9, 26)
    for n in range(0, 30):
        assert cal.working_days_between(start, cal.add_working_days(start, n)) == n
    assert cal.working_days_between(D(2025, 10, 9), D(2025, 9, 26)) == -4  # 9/28 9/29 9/30 10/9
    assert cal.working_days_between(D(2025, 10, 1), D(2025, 10, 8)) == 0


def test_add_hours_is_clock_time() -> None:
    cal = WorkCalendar()
    assert cal.add_hours(_at(2026, 10, 1, 23), 2) == _at(2026, 10, 2, 1)


def test_local_overrides_apply_inside_known_years() -> None:
    cal = WorkCalendar(extra_holidays=[D(2026, 12, 1)], extra_workdays=[D(2026, 12, 5)])
    assert not cal.is_workday(D(2026, 12, 1)) and cal.is_workday(D(2026, 12, 5))
    with pytest.raises(ValueError, match="both"):
        WorkCalendar(extra_holidays=[D(2026, 12, 1)], extra_workdays=[D(2026, 12, 1)])


def test_beyond_the_package_falls_back_to_weekends_plus_config() -> None:
    cal = WorkCalendar()
    assert cal.known_until() == D(2026, 12, 31)
    assert cal.is_workday(D(2027, 1, 1))  # a Friday: unknown holiday, weekday rule
    assert not cal.is_workday(D(2027, 1, 2))
    assert cal.is_workday(D(2099, 6, 1)) and cal.is_workday(D(1990, 1, 1))  # never fails
    assert cal.add_working_days(_at(2026, 12, 31), 1) == _at(2027, 1, 1)
    configured = WorkCalendar(extra_holidays=[D(2027, 1, 1)], extra_workdays=[D(2027, 2, 6)])
    assert configured.add_working_days(_at(2026, 12, 31), 1) == _at(2027, 1, 4)
    assert configured.is_workday(D(2027, 2, 6))  # a Saturday made a working day
    assert configured.known_until() == D(2027, 12, 31)


def test_supervisors_are_warned_from_first_december() -> None:
    cal = WorkCalendar()
    assert not cal.needs_warning(D(2026, 11, 30)) and cal.warning(D(2026, 11, 30)) is None
    assert cal.needs_warning(D(2026, 12, 1))
    assert cal.needs_warning(D(2027, 3, 1))
    msg = cal.warning(D(2026, 12, 1))
    assert msg is not None and "2027" in msg
    assert not WorkCalendar(extra_holidays=[D(2027, 1, 1)]).needs_warning(D(2026, 12, 1))
