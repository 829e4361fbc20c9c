"""Mainland-China working days, including the make-up working days (调休), on the Anshan wall clock.

Which days are working days:

1. a date listed in ``extra_workdays`` (local configuration) is a working day;
2. a date listed in ``extra_holidays`` is not;
3. otherwise, for the years the ``chinese_calendar`` package knows (2004-2026 in 1.11), its answer, which
   includes the State Council's holidays and make-up working days;
4. beyond them (chinese_calendar raises ``NotImplementedError``): Monday-Friday are working days.

So a year the package does not know yet can be filled in from the State Council's notice through
configuration, and the calendar never fails on any date. A year counts as *known* when the package has it
or the configuration lists at least one holiday in it; ``needs_warning(today)`` turns true a month before
the last known year ends, so supervisors are told to add the next year's schedule in time.

Counting rule of ``add_working_days(start, n)``: n working days after ``start`` is the same time of day on
the n-th following working day (Monday 10:00 + 1 = Tuesday 10:00; Friday 10:00 + 1 = Monday 10:00). A start
on a non-working day counts from the start (00:00) of the next working day, so Saturday 15:00 + 1 = Tuesday
00:00, i.e. the department gets the whole of Monday. ``add_working_days(start, 0)`` returns that effective
start. All arithmetic is on the Asia/Shanghai wall clock (no DST since 1991); results are aware datetimes
in Asia/Shanghai.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from zoneinfo import ZoneInfo

import chinese_calendar
import structlog

log = structlog.get_logger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Supervisors are warned this many days before the last known year ends (31 → from 1 December).
DEFAULT_WARN_DAYS = 31
_MAX_WORKING_DAYS = 10_000  # bounds every loop; about 40 years of working days


def _package_years() -> tuple[int, int]:
    """The first and last year chinese_calendar has data for."""
    years = sorted({d.year for d in chinese_calendar.holidays})
    return years[0], years[-1]


def to_local(moment: dt.datetime) -> dt.datetime:
    """An aware datetime on the Anshan wall clock; naive input is refused (we never guess a zone)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given to the working-day calendar; use an aware datetime")
    return moment.astimezone(SHANGHAI)


class WorkCalendar:
    """Working days: chinese_calendar + local overrides, weekends beyond the package's years."""

    def __init__(
        self,
        extra_holidays: Iterable[dt.date] = (),
        extra_workdays: Iterable[dt.date] = (),
        *,
        warn_days: int = DEFAULT_WARN_DAYS,
    ) -> None:
        self._holidays = frozenset(extra_holidays)
        self._workdays = frozenset(extra_workdays)
        both = self._holidays & self._workdays
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"dates listed both as extra holiday and as extra working day: {listed}")
        self._first_year, self._last_year = _package_years()
        self.warn_days = warn_days
        # per-instance memo: deadline computation for a million seeded tickets hits few distinct dates
        self._memo: dict[dt.date, bool] = {}
        self._fallback_logged: set[int] = set()

    # --- days -----------------------------------------------------------------------------------

    def is_workday(self, day: dt.date) -> bool:
        if isinstance(day, dt.datetime):
            day = to_local(day).date()
        known = self._memo.get(day)
        if known is not None:
            return known
        if day in self._workdays:
            result = True
        elif day in self._holidays:
            result = False
        elif self._first_year <= day.year <= self._last_year:
            result = bool(chinese_calendar.is_workday(day))
        else:
            if day.year not in self._fallback_logged:
                self._fallback_logged.add(day.year)
                log.info(
                    "workcal.fallback_weekends", year=day.year, known_until=self.known_until().isoformat()
                )
            result = day.weekday() < 5
        self._memo[day] = result
        return result

    def next_workday(self, day: dt.date) -> dt.date:
        """The first working day on or after ``day``."""
        for _ in range(_MAX_WORKING_DAYS):
            if self.is_workday(day):
                return day
            day += dt.timedelta(days=1)
        raise ValueError(f"no working day within {_MAX_WORKING_DAYS} days of {day}")  # pragma: no cover

    def add_workdays_to_date(self, day: dt.date, n: int) -> dt.date:
        """The n-th working day after ``day`` (``day`` itself need not be a working day)."""
        if n < 0:
            raise ValueError("n must be >= 0")
        if n > _MAX_WORKING_DAYS:
            raise ValueError(f"n must be <= {_MAX_WORKING_DAYS}")
        remaining = n
        while remaining:
            day += dt.timedelta(days=1)
            if self.is_workday(day):
                remaining -= 1
        return day

    # --- instants -------------------------------------------------------------------------------

    def add_working_days(self, start: dt.datetime, n: int) -> dt.datetime:
        """``start`` + n working days, keeping the time of day (see the module docstring for the rule)."""
        local = to_local(start)
        day = local.date()
        if not self.is_workday(day):
            day = self.next_workday(day)
            local = dt.datetime.combine(day, dt.time(0), SHANGHAI)
        target = self.add_workdays_to_date(day, n)
        return dt.datetime.combine(target, local.time(), SHANGHAI)

    def working_days_between(self, start: dt.date | dt.datetime, end: dt.date | dt.datetime) -> int:
        """Working days d with start < d <= end (dates on the Anshan clock); negative if end < start.

        So ``working_days_between(x, add_working_days(x, n)) == n`` for x on a working day.
        """
        a = to_local(start).date() if isinstance(start, dt.datetime) else start
        b = to_local(end).date() if isinstance(end, dt.datetime) else end
        sign = 1
        if b < a:
            a, b, sign = b, a, -1
        span = (b - a).days
        if span > _MAX_WORKING_DAYS * 2:
            raise ValueError("range too long")
        count = sum(1 for i in range(1, span + 1) if self.is_workday(a + dt.timedelta(days=i)))
        return sign * count

    @staticmethod
    def add_hours(start: dt.datetime, hours: float) -> dt.datetime:
        """Elapsed clock hours (the hotline, utilities and emergency limits run 24/7)."""
        return to_local(start) + dt.timedelta(hours=hours)

    @staticmethod
    def add_calendar_days(start: dt.datetime, days: int) -> dt.datetime:
        return to_local(start) + dt.timedelta(days=days)

    # --- how far ahead we know ------------------------------------------------------------------

    def known_until(self) -> dt.date:
        """The last day of the last year whose holidays are known (package data or configured)."""
        configured = max((d.year for d in self._holidays), default=self._last_year)
        return dt.date(max(self._last_year, configured), 12, 31)

    def needs_warning(self, today: dt.date) -> bool:
        """True from ``warn_days`` before the known years run out (1 December by default)."""
        return today > self.known_until() - dt.timedelta(days=self.warn_days)

    def warning(self, today: dt.date) -> str | None:
        """The sentence to show supervisors, or None."""
        if not self.needs_warning(today):
            return None
        nxt = self.known_until().year + 1
        return (
            f"工作日历只到 {self.known_until().isoformat()}：请在配置 [deadlines] extra_holidays / "
            f"extra_workdays 中补充 {nxt} 年的法定节假日和调休上班日，或升级 chinese-calendar"
        )
