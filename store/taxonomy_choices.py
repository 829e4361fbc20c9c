"""The taxonomy-choice log (``taxonomy_choices``) and the search priors read from the store.

Every ticket saved from the picker logs (what was typed, which leaf was taken, at what rank). The log
serves twice: ``hotline taxonomy learn`` mines it (with the tickets' descriptions) for keywords, and
``taxonomy.search.Searcher`` ranks with two priors read here:

- ``recent_choices``: the leaves one operator took since a moment, newest first (their user prior,
  turned into weights by ``taxonomy.search.prior_from_choices``);
- ``leaf_popularity``: how many tickets each leaf got since a moment (the popularity prior).

Each function works inside the caller's session (``with store.session() as s`` or ``store.read()``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from store.models import TaxonomyChoice, Ticket

__all__ = [
    "MAX_QUERY_CHARS",
    "MAX_RECENT_CHOICES",
    "leaf_popularity",
    "learning_pairs",
    "recent_choices",
    "record_choice",
]

MAX_QUERY_CHARS = 200  # a query longer than this is a paste, not a search; its head is enough to mine
# prior_from_choices halves a choice's weight every 20 choices: past 200 a choice weighs < 0.1 %
MAX_RECENT_CHOICES = 200


def record_choice(
    session: Session,
    *,
    at: dt.datetime,
    user_id: int | None,
    query: str,
    leaf_code: str,
    rank: int | None = None,
) -> bool:
    """Log that ``query`` led to ``leaf_code`` (shown at ``rank``, 1 = first); False when there was no query."""
    if not query:
        return False
    session.add(
        TaxonomyChoice(at=at, user_id=user_id, query=query[:MAX_QUERY_CHARS], leaf_code=leaf_code, rank=rank)
    )
    session.flush()
    return True


def recent_choices(
    session: Session, user_id: int, since: dt.datetime, *, limit: int = MAX_RECENT_CHOICES
) -> list[str]:
    """The leaf codes ``user_id`` chose at or after ``since``, newest first (at most ``limit``)."""
    stmt = (
        select(TaxonomyChoice.leaf_code)
        .where(TaxonomyChoice.user_id == user_id, TaxonomyChoice.at >= since)
        .order_by(TaxonomyChoice.at.desc(), TaxonomyChoice.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def leaf_popularity(session: Session, since: dt.datetime) -> dict[str, int]:
    """Tickets per leaf code created at or after ``since`` (leaves without a ticket are absent)."""
    # Materialised first: left to itself SQLite groups along ix_tickets_address_leaf and reads every
    # ticket ever filed (0.58 s for a year of 300,000 tickets) instead of the window through
    # ix_tickets_created_at (0.06 s). MATERIALIZED needs SQLite 3.35 / PostgreSQL 12.
    recent = (
        select(Ticket.leaf_code).where(Ticket.created_at >= since).cte("recent").prefix_with("MATERIALIZED")
    )
    stmt = (
        select(recent.c.leaf_code, func.count())
        .where(recent.c.leaf_code.is_not(None))
        .group_by(recent.c.leaf_code)
    )
    return {str(code): int(n) for code, n in session.execute(stmt)}


def learning_pairs(session: Session) -> list[tuple[str, str]]:
    """(text, leaf code) pairs for keyword mining: every ticket's description, then every logged query."""
    tickets = session.execute(
        select(Ticket.description, Ticket.leaf_code).where(
            Ticket.description.is_not(None), Ticket.leaf_code.is_not(None)
        )
    ).all()
    choices = session.execute(select(TaxonomyChoice.query, TaxonomyChoice.leaf_code)).all()
    return [(str(text), str(code)) for text, code in [*tickets, *choices]]
