"""store.taxonomy_choices on SQLite and PostgreSQL: the choice log and the two search priors read from it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from store.db import Store
from store.models import TaxonomyChoice
from store.taxonomy_choices import (
    MAX_QUERY_CHARS,
    leaf_popularity,
    learning_pairs,
    recent_choices,
    record_choice,
)
from store.tickets import Actor, create_ticket, draft_from
from store.users import add_user

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def user(store: Store, name: str) -> int:
    with store.session() as s:
        return add_user(s, name, "operator", "correct horse battery staple", T0).id


def ticket(store: Store, at: dt.datetime, leaf_code: str | None, description: str = "家里暖气不热") -> None:
    draft = draft_from({"nature": "投诉", "description": description, "leaf_code": leaf_code})
    with store.session() as s:
        create_ticket(s, draft, Actor("alice", "operator", None), at)


def test_record_keeps_the_query_head_and_skips_an_empty_query(store: Store) -> None:
    alice = user(store, "alice")
    with store.session() as s:
        assert record_choice(s, at=T0, user_id=alice, query="暖" * 300, leaf_code="101001", rank=2)
        assert not record_choice(s, at=T0, user_id=alice, query="", leaf_code="101002")
    with store.read() as s:
        [row] = s.scalars(select(TaxonomyChoice)).all()
    assert (row.query, row.leaf_code, row.rank, row.user_id) == ("暖" * MAX_QUERY_CHARS, "101001", 2, alice)


def test_recent_choices_are_the_users_own_newest_first_within_the_window(store: Store) -> None:
    alice, bob = user(store, "alice"), user(store, "bob")
    with store.session() as s:
        for days_ago, who, code in [(40, alice, "old"), (3, alice, "a3"), (1, alice, "a1"), (2, bob, "b2")]:
            record_choice(s, at=T0 - days_ago * DAY, user_id=who, query="q", leaf_code=code)
        record_choice(s, at=T0 - DAY, user_id=alice, query="q", leaf_code="a1-later-row")  # same moment
    with store.read() as s:
        assert recent_choices(s, alice, T0 - 30 * DAY) == ["a1-later-row", "a1", "a3"]
        assert recent_choices(s, alice, T0 - 60 * DAY) == ["a1-later-row", "a1", "a3", "old"]
        assert recent_choices(s, alice, T0 - 30 * DAY, limit=2) == ["a1-later-row", "a1"]
        assert recent_choices(s, bob, T0 - 30 * DAY) == ["b2"]


def test_leaf_popularity_counts_the_tickets_of_the_window(store: Store) -> None:
    for days_ago, code in [(1, "101001"), (2, "101001"), (5, "102001"), (40, "102001"), (1, None)]:
        ticket(store, T0 - days_ago * DAY, code)
    with store.read() as s:
        assert leaf_popularity(s, T0 - 30 * DAY) == {"101001": 2, "102001": 1}
        assert leaf_popularity(s, T0 - 60 * DAY) == {"101001": 2, "102001": 2}
        assert leaf_popularity(s, T0) == {}


def test_learning_pairs_are_descriptions_then_queries(store: Store) -> None:
    alice = user(store, "alice")
    ticket(store, T0, "101001", "暖气片冰凉")
    ticket(store, T0, None, "没有分类的工单")  # no leaf: nothing to learn from
    with store.session() as s:
        record_choice(s, at=T0, user_id=alice, query="nqbr", leaf_code="101001")
    with store.read() as s:
        assert learning_pairs(s) == [("暖气片冰凉", "101001"), ("nqbr", "101001")]
