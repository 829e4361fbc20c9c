"""store.drafts on SQLite and PostgreSQL: a draft per form survives, is replaced, is cleared, and is
found by its call only (never another call's)."""

from __future__ import annotations

import datetime as dt

import pytest

from store import calls
from store.db import Store
from store.drafts import (
    MAX_DRAFT_CHARS,
    DraftError,
    clear_draft,
    draft_of_call,
    is_filed,
    list_drafts,
    load_draft,
    save_draft,
)
from store.tickets import Actor, create_ticket, draft_from
from store.users import add_user

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.UTC)


def user(store: Store, name: str = "alice") -> int:
    with store.session() as s:
        return add_user(s, name, "operator", "correct horse battery staple", T0).id


def test_save_load_replace_clear(store: Store) -> None:
    alice, bob = user(store), user(store, "bob")
    form = {
        "description": "楼上漏水😀" + "x" * 10_000,
        "callback_consent": False,
        "leaf_code": None,
        "path": ["城市建设与管理", "供水"],
    }
    with store.session() as s:
        save_draft(s, alice, "f1", form, T0, call_id="c1")
    form["description"] = "changed after saving"  # the stored copy is not the caller's dict
    with store.read() as s:
        got = load_draft(s, alice, "f1")
        assert load_draft(s, bob, "f1") is None
        assert draft_of_call(s, alice, "c2") is None and draft_of_call(s, bob, "c1") is None
        assert draft_of_call(s, alice, "c1") == got
    assert got is not None and got.call_id == "c1" and got.updated_at == T0 and got.form_id == "f1"
    assert got.data["description"].startswith("楼上漏水😀") and len(got.data["description"]) == 10_005
    assert got.data["callback_consent"] is False and got.data["path"] == ["城市建设与管理", "供水"]

    with store.session() as s:  # a second save of the same form replaces its row; another form has its own
        save_draft(s, alice, "f1", {"description": "第二版"}, T0 + dt.timedelta(seconds=1), call_id="c1")
        save_draft(s, alice, "f2", {"description": "无来电"}, T0 + dt.timedelta(seconds=2))
        save_draft(
            s, alice, "f3", {"description": "同一来电的第二张"}, T0 + dt.timedelta(seconds=3), call_id="c1"
        )
    with store.read() as s:
        again = load_draft(s, alice, "f1")
        newest = draft_of_call(s, alice, "c1")
        assert [d.form_id for d in list_drafts(s, alice)] == ["f3", "f2", "f1"]
    assert again is not None and again.data == {"description": "第二版"} and again.call_id == "c1"
    assert newest is not None and newest.form_id == "f3"

    with store.session() as s:
        assert clear_draft(s, alice, "f1") is True
        assert clear_draft(s, alice, "f1") is False
    with store.read() as s:
        assert load_draft(s, alice, "f1") is None
        assert load_draft(s, alice, "f2") is not None  # only f1's draft went


def test_listed_drafts_name_their_calls_number_and_time(store: Store) -> None:
    alice = user(store)
    with store.session() as s:
        calls.open_call(
            s, call_id="c9", direction="in", remote_number="18830573909", display_name=None, at=T0
        )
        save_draft(s, alice, "f9", {"description": "燃气泄漏"}, T0 + dt.timedelta(minutes=1), call_id="c9")
        save_draft(s, alice, "f8", {"description": "未落库的来电"}, T0, call_id="not-yet-logged")
    with store.read() as s:
        listed = list_drafts(s, alice)
    assert [(d.call_id, d.caller) for d in listed] == [("c9", "18830573909"), ("not-yet-logged", None)]
    assert listed[0].call_at is not None and listed[0].call_at.replace(tzinfo=dt.UTC) == T0


def test_bad_drafts_are_refused_and_change_nothing(store: Store) -> None:
    alice = user(store)
    with store.session() as s:
        save_draft(s, alice, "f1", {"description": "原文"}, T0)
    with pytest.raises(DraftError, match="JSON-able"), store.session() as s:
        save_draft(s, alice, "f1", {"when": T0}, T0)
    with pytest.raises(DraftError, match="at most"), store.session() as s:
        save_draft(s, alice, "f1", {"description": "x" * (MAX_DRAFT_CHARS + 1)}, T0)
    with store.read() as s:
        kept = load_draft(s, alice, "f1")
    assert kept is not None and kept.data == {"description": "原文"}


def test_a_draft_of_a_form_already_filed_is_not_written(store: Store) -> None:
    alice = user(store)
    with store.session() as s:
        assert save_draft(s, alice, "req-1", {"description": "原文"}, T0) is not None
        assert not is_filed(s, "req-1")
        create_ticket(
            s,
            draft_from({"nature": "投诉", "description": "家里暖气不热"}),
            Actor("alice", "operator", alice),
            T0,
            client_request_id="req-1",
        )
        clear_draft(s, alice, "req-1")
    with store.session() as s:
        assert is_filed(s, "req-1")
        assert save_draft(s, alice, "req-1", {"description": "迟到的草稿"}, T0) is None
        assert save_draft(s, alice, "req-2", {"description": "另一张"}, T0) is not None
    with store.read() as s:
        assert load_draft(s, alice, "req-1") is None
        kept = load_draft(s, alice, "req-2")
    assert kept is not None and kept.data == {"description": "另一张"}


def test_migration_0006_keys_drafts_by_form_and_keeps_their_calls_both_ways(store: Store) -> None:
    from alembic import command
    from sqlalchemy import text

    from store.db import alembic_config, current_revision, head_revision

    alice, bob = user(store), user(store, "bob")
    cfg = alembic_config(store.engine)
    command.downgrade(cfg, "0005")  # one draft per user, as the console kept them before
    with store.engine.begin() as conn:
        for uid, call_id in ((alice, "c1"), (bob, None)):
            conn.execute(
                text("INSERT INTO drafts (user_id, call_id, data, updated_at) VALUES (:u, :c, :d, :at)"),
                {"u": uid, "c": call_id, "d": '{"description": "漏水"}', "at": T0},
            )
    command.upgrade(cfg, "head")
    assert current_revision(store.engine) == head_revision()
    with store.session() as s:
        old = draft_of_call(s, alice, "c1")
        assert old is not None and old.form_id.startswith("legacy-") and old.data == {"description": "漏水"}
        assert [d.call_id for d in list_drafts(s, bob)] == [None]
        save_draft(s, alice, "f2", {"description": "第二通"}, T0 + dt.timedelta(seconds=5), call_id="c2")
    command.downgrade(cfg, "0005")  # back to one per user: the newest is kept
    with store.engine.connect() as conn:
        kept = conn.execute(text("SELECT user_id, call_id FROM drafts ORDER BY user_id")).all()
    assert [tuple(r) for r in kept] == [(alice, "c2"), (bob, None)]
    command.upgrade(cfg, "head")
