"""Human-readable ticket numbers: prefix + YYYYMMDD (Anshan date) + a 6-digit per-day sequence.

``AS20261128000123`` is the 123rd ticket of 28 Nov 2026 (Asia/Shanghai). The per-day counter is
one ``ticket_counters`` row bumped with ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING`` inside the
caller's transaction: concurrent creators (threads, processes, seats sharing one PostgreSQL
database) queue on that row's lock, and a rolled-back ticket rolls its number back too, so the
numbers of a day are unique and gap-free.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from store.models import TicketCounter

ANSHAN = ZoneInfo("Asia/Shanghai")
DEFAULT_PREFIX = "AS"
SEQUENCE_DIGITS = 6
_PREFIX_RE = re.compile(r"[A-Z][A-Z0-9]{0,5}")


class NumberingError(ValueError):
    """A bad prefix or a naive time."""


def local_day(now: dt.datetime) -> str:
    """YYYYMMDD of ``now`` on the Anshan wall clock."""
    if now.tzinfo is None:
        raise NumberingError("ticket numbering needs a timezone-aware time")
    return now.astimezone(ANSHAN).strftime("%Y%m%d")


def check_prefix(prefix: str) -> str:
    if not _PREFIX_RE.fullmatch(prefix):
        raise NumberingError(
            f"ticket number prefix {prefix!r} must be 1-6 capital letters/digits, starting with a letter"
        )
    return prefix


def format_number(prefix: str, day: str, seq: int) -> str:
    return f"{prefix}{day}{seq:0{SEQUENCE_DIGITS}d}"


def _bump(session: Session, key: str, count: int) -> int:
    """Add ``count`` to the counter ``key`` (created at 0) and return its new value."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    last = TicketCounter.__table__.c.last
    stmt = (
        insert(TicketCounter)
        .values(day=key, last=count)
        .on_conflict_do_update(index_elements=["day"], set_={"last": last + count})
        .returning(last)
    )
    return int(session.execute(stmt).scalar_one())


def allocate_number(session: Session, now: dt.datetime, prefix: str = DEFAULT_PREFIX) -> str:
    """The next number of ``now``'s Anshan day, allocated in ``session``'s transaction."""
    day = local_day(now)
    return format_number(prefix, day, _bump(session, check_prefix(prefix) + day, 1))


def reserve_numbers(session: Session, day: dt.date, count: int, prefix: str = DEFAULT_PREFIX) -> range:
    """Reserve ``count`` consecutive sequence numbers of ``day`` at once (bulk imports, the seed).

    Returns the range of sequence values; format each with ``format_number(prefix, YYYYMMDD, seq)``.
    """
    if count <= 0:
        raise NumberingError("count must be positive")
    last = _bump(session, check_prefix(prefix) + day.strftime("%Y%m%d"), count)
    return range(last - count + 1, last + 1)
