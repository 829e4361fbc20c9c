"""store.drafts on SQLite and PostgreSQL: the per-user ticket draft survives, is replaced, is cleared."""

from __future__ import annotations

import datetime as dt

import pytest

from store.db import Store
from store.drafts import MAX_DRAFT_CHARS, DraftError, clear_draft, is_filed, load_draft, save_draft
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
        save_draft(s, alice, form, T0, call_id="c1")
    form["description"] = "changed after saving"  # the stored copy is not the caller's dict
    with store.read() as s:
        got = load_draft(s, alice)
        assert load_draft(s, bob) is None
    assert got is not None and got.call_id == "c1" and got.updated_at == T0
    assert got.data["description"].startswith("楼上漏水😀") and len(got.data["description"]) == 10_005
    assert got.data["callback_consent"] is False and got.data["path"] == ["城市建设与管理", "供水"]

    with store.session() as s:  # a second save replaces the row (one per user)
        save_draft(s, alice, {"description": "第二版"}, T0 + dt.timedelta(seconds=1))
    with store.read() as s:
        again = load_draft(s, alice)
    assert again is not None and again.data == {"description": "第二版"} and again.call_id is None

    with store.session() as s:
        assert clear_draft(s, alice) is True
        assert clear_draft(s, alice) is False
    with store.read() as s:
        assert load_draft(s, alice) is None


def test_bad_drafts_are_refused_and_change_nothing(store: Store) -> None:
    alice = user(store)
    with store.session() as s:
        save_draft(s, alice, {"description": "原文"}, T0)
    with pytest.raises(DraftError, match="JSON-able"), store.session() as s:
        save_draft(s, alice, {"when": T0}, T0)
    with pytest.raises(DraftError, match="at most"), store.session() as s:
        save_draft(s, alice, {"description": "x" * (MAX_DRAFT_CHARS + 1)}, T0)
    with store.read() as s:
        kept = load_draft(s, alice)
    assert kept is not None and kept.data == {"description": "原文"}


def test_a_draft_of_a_form_already_filed_is_not_written(store: Store) -> None:
    alice = user(store)
    with store.session() as s:
        assert save_draft(s, alice, {"description": "原文"}, T0, unless_filed="req-1") is not None
        assert not is_filed(s, "req-1")
        create_ticket(
            s,
            draft_from({"nature": "投诉", "description": "家里暖气不热"}),
            Actor("alice", "operator", alice),
            T0,
            client_request_id="req-1",
        )
        clear_draft(s, alice)
    with store.session() as s:
        assert is_filed(s, "req-1")
        assert save_draft(s, alice, {"description": "迟到的草稿"}, T0, unless_filed="req-1") is None
        assert save_draft(s, alice, {"description": "另一张"}, T0, unless_filed="req-2") is not None
    with store.read() as s:
        kept = load_draft(s, alice)
    assert kept is not None and kept.data == {"description": "另一张"}
