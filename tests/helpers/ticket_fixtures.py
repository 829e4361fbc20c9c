"""Shared pieces of the ticket form tests: one taxonomy and search index per test process (building
them costs about a second), a desk for a fresh operator on a real store, and a filled-in form."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from console.services.intake import FormData
from console.services.ticket_service import TicketService
from store.db import Store
from store.tickets import Actor
from store.users import add_user
from taxonomy.model import Taxonomy, load_taxonomy
from taxonomy.search import Searcher

T0 = dt.datetime(2026, 11, 20, 1, 0, tzinfo=dt.UTC)
PHONE = "13812345678"
HEATING = "101001"  # 暖气不热: 热力, 24 hours, needs an address
HEATING_START = "101048"  # 供暖开始时间咨询: a consultation with a standard answer
LIFT_TRAPPED = "106001"  # 电梯困人: critical, hand-off 119


@lru_cache(maxsize=1)
def taxonomy() -> Taxonomy:
    return load_taxonomy()


@lru_cache(maxsize=1)
def searcher() -> Searcher:
    return Searcher(taxonomy())


class Clock:
    """A settable clock (the desk's ``clock``)."""

    def __init__(self, now: dt.datetime = T0) -> None:
        self.now = now

    def __call__(self) -> dt.datetime:
        return self.now


def operator(store: Store, name: str = "alice") -> Actor:
    with store.session() as s:
        user = add_user(s, name, "operator", "correct horse battery staple", T0)
        return Actor(user.username, "operator", user.id)


def make_desk(
    store: Store, actor: Actor, clock: Clock | None = None, window_hours: int = 72
) -> TicketService:
    return TicketService(
        store,
        actor,
        taxonomy=taxonomy(),
        searcher=searcher(),
        duplicate_window_hours=window_hours,
        clock=clock or Clock(),
    )


def heating_form(**changes: object) -> FormData:
    base = FormData(
        nature="投诉",
        leaf_code=HEATING,
        leaf_path=("城市建设与管理", "供热", "暖气不热"),
        query="nqbr",
        district="铁东区",
        street="胜利街道",
        address="胜利街道园林小区3栋2单元501",
        when="昨晚起",
        description="家里暖气不热，室温只有十五度",
        caller_name="王先生",
        caller_phone=PHONE,
    )
    return FormData(**{**base.to_json(), "leaf_path": base.leaf_path, **changes})  # type: ignore[arg-type]
